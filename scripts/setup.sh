#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root), configures and builds. Idempotent: a second run
# installs nothing and rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config
  libsimgrid-dev libtorch-dev libboost-graph-dev libfmt-dev libcli11-dev libgtest-dev libyaml-cpp-dev
  libsentencepiece-dev zlib1g-dev nlohmann-json3-dev
  # network.model: ns-3 sets ns-3's TCP attributes itself (sim/platform/ns3_settings.cpp).
  libns3-dev
  # The built-in debian-mix corpus: fortunes, FOLDOC, GCIDE and the Jargon File.
  fortunes dict-foldoc dict-gcide dict-jargon
  # Without it Debian's libtorch runs on the reference BLAS, 10-20x slower. Not the libopenblas0
  # meta package: it pulls the pthread flavour, which oversubscribes the cores.
  libopenblas0-openmp
  # `dipaco-sim report` draws its plots with gnuplot (svg and pngcairo terminals).
  gnuplot-nox
  # The report's browser test loads index.html in headless Chromium (skipped without it).
  chromium
  # The benchmark's Python peer (scripts/peer_train_step.py, run by scripts/bench.py and the test
  # bench.Smoke): PyTorch 1.13.1 on the same ATen and BLAS as libtorch-dev. Run it with /usr/bin/python3.
  python3-torch
  # The Slurm test (tests/e2e/slurm_e2e_test.cpp) runs a one-node cluster: scripts/slurm_local.sh.
  munge slurmctld slurmd slurm-client
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"

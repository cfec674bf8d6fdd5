#!/usr/bin/env bash
# A one-node Slurm on this machine, for testing `sweep --executor slurm` under a real scheduler
# (issue 21): munged, slurmctld and slurmd, each with its state, sockets, logs and pid files in DIR,
# so nothing under /etc or /run is touched and a second copy can run beside the first.
#
#   scripts/slurm_local.sh start DIR [PORT]   # prints SLURM_CONF=DIR/slurm.conf; exit 3 if it cannot start
#   scripts/slurm_local.sh stop DIR           # stops the daemons it started, by their pids
#
# Needs root and Debian's munge, slurmctld, slurmd and slurm-client (scripts/setup.sh installs them).
# ProctrackType=linuxproc and TaskPlugin=none because a container has no cgroup hierarchy Slurm
# may use; SelectType=cons_tres with CR_CPU so that array tasks share the node one CPU set each.
set -euo pipefail
cmd=${1:?usage: slurm_local.sh start|stop DIR [PORT]}
dir=${2:?usage: slurm_local.sh start|stop DIR [PORT]}

stop() {
  for d in slurmd slurmctld munged; do
    [ -f "$dir/$d.pid" ] || continue
    pid=$(cat "$dir/$d.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/$d.pid"
  done
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "slurm_local.sh: unknown command $cmd (choose start or stop)" >&2; exit 2; }

for b in munged mungekey slurmctld slurmd sbatch sinfo; do
  command -v "$b" >/dev/null || { echo "slurm_local.sh: $b not found (apt-get install munge slurmctld slurmd slurm-client)" >&2; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "slurm_local.sh: needs root (slurmd runs jobs as their user)" >&2; exit 3; }

# A port pair of its own unless given: two checkouts tested at once must not meet.
port=${3:-$((20000 + $$ % 20000))}
mkdir -p "$dir/state" "$dir/spool"
chmod 700 "$dir"
dir=$(cd "$dir" && pwd)
trap 'stop; echo "slurm_local.sh: could not start; logs in $dir" >&2; exit 3' ERR

[ -f "$dir/munge.key" ] || mungekey --create --keyfile="$dir/munge.key"
# -f: munged otherwise refuses a socket directory it does not own the way /run/munge is owned.
munged -f --socket="$dir/munge.socket" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$dir/munged.seed"

host=$(hostname -s)
cat >"$dir/slurm.conf" <<EOF
ClusterName=dipaco-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
# Ready once the node is idle.
for _ in $(seq 100); do
  [ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && { echo "SLURM_CONF=$SLURM_CONF"; exit 0; }
  sleep 0.2
done
false

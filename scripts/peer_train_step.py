#!/usr/bin/python3
"""The Python peer of the engine's training step: the path model of engine/train/model.cpp and the inner
AdamW of engine/train/trainer.cpp, written as a PyTorch user would (nn.Module, torch.optim.AdamW with its
defaults, clip_grad_norm_). Debian's python3-torch 1.13.1: the same ATen, oneDNN and BLAS as
libtorch-dev. scripts/bench.py runs it side by side with `dipaco-bench serve`.

  peer_train_step.py check DIR [--precision P]
                                    replay `dipaco-bench dump --dir DIR`: same initial parameters,
                                    same batches; print both losses per step; exit 1 if the first
                                    step's losses differ by more than --tolerance (default: 1e-4 in
                                    fp32, 2e-2 in bf16)
  peer_train_step.py serve --threads N --model JSON --opt JSON --init DIR [--precision P]
                                    start from the dump's parameters (the engine's),
                                    read "steps K" lines, train K more steps, answer
                                    {"steps": K, "seconds": s, "loss": mean} (as dipaco-bench serve)

--precision fp32 (the default) or bf16: mixed precision as a PyTorch user writes it, the forward pass
and the loss under torch.autocast("cpu", dtype=torch.bfloat16), backward and AdamW outside it on fp32
parameters, as the engine's `precision: bf16`. Both commands report the OpenBLAS kernel this process
computes with ("blas_kernel", openblas_get_corename), so that bench.py can check it is the engine's.
"""
import argparse
import contextlib
import ctypes
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# First-step loss tolerances of `check`. fp32: the engine and this peer run the same ATen kernels in
# the same order, so they agree to rounding (measured: 0 to 1e-6). bf16: both round matmul inputs and
# outputs to bf16 (8 significant bits: up to 2^-9 = 0.2 % per value), but not at the same places (the
# engine folds the causal mask and the scale into one baddbmm and fuses the tied unembedding with the
# loss; this peer scales, masks and calls F.cross_entropy as a user would), and oneDNN's bf16 kernels
# accumulate in a CPU-dependent order (AVX512_BF16 or AMX tiles). Measured here: 1e-6 on the tiny model.
# The bound is 2e-2 absolute on a loss of about ln(vocab) = 8.3, i.e. 0.25 %, the order of bf16's own
# relative rounding (2^-9 = 0.2 %): what the logits all rounding the other way could at worst do to
# the loss on another CPU, and still well under what a wrong computation moves it by. (The model
# itself is checked at fp32's 1e-4; this checks that the bf16 path computes the same function.)
TOLERANCE = {"fp32": 1e-4, "bf16": 2e-2}


def openblas_kernel():
    """The OpenBLAS kernel this process computes with (openblas_get_corename), or None when the BLAS
    is not OpenBLAS. torch has loaded libblas.so.3 (Debian's OpenBLAS wrapper) and libopenblas.so.0
    already; dlopen returns those same copies, whose kernel OpenBLAS chose when it loaded."""
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            corename = ctypes.CDLL(name).openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        return corename().decode()
    return None


def mixed_precision(precision):
    """The forward pass's context: autocast to bf16 on the CPU, or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class Block(nn.Module):
    """Pre-LN block: x + attn(ln(x)), then h + mlp(ln(h)); causal attention as model.cpp does it."""

    def __init__(self, d_model, heads):
        super().__init__()
        self.heads = heads
        # Same registration order as BlockImpl: named_parameters() then matches param_layout().
        self.ln_attn = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.attn_out = nn.Linear(d_model, d_model)
        self.ln_mlp = nn.LayerNorm(d_model)
        self.mlp_in = nn.Linear(d_model, 4 * d_model)
        self.mlp_out = nn.Linear(4 * d_model, d_model)

    def forward(self, x, causal_mask):
        B, T, C = x.shape
        hd = C // self.heads
        qkv = self.qkv(self.ln_attn(x)).view(B, T, 3, self.heads, hd).permute(2, 0, 3, 1, 4)  # (3, B, H, T, hd)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))  # (B, H, T, T)
        att = att.masked_fill(causal_mask, float("-inf")).softmax(-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(B, T, C)
        h = x + self.attn_out(y)
        return h + self.mlp_out(F.gelu(self.mlp_in(self.ln_mlp(h))))


class Gpt(nn.Module):
    """Token and learned position embeddings, blocks, final LayerNorm, unembedding tied to tok_emb."""

    def __init__(self, vocab, d_model, heads, blocks, seq_len):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, d_model)
        self.pos_emb = nn.Embedding(seq_len, d_model)
        self.blocks = nn.ModuleList([Block(d_model, heads) for _ in range(blocks)])
        self.ln_final = nn.LayerNorm(d_model)

    def forward(self, tokens):
        T = tokens.shape[1]
        x = self.tok_emb(tokens) + self.pos_emb(torch.arange(T))
        causal_mask = torch.ones(T, T, dtype=torch.bool).triu(1)  # true above the diagonal
        for block in self.blocks:
            x = block(x, causal_mask)
        return torch.matmul(self.ln_final(x), self.tok_emb.weight.t())


def lr_at(opt, step):
    """engine/train/lr_schedule.cpp: linear warm-up, then cosine to min_lr_ratio * lr over total_steps."""
    if opt["warmup_steps"] > 0 and step < opt["warmup_steps"]:
        return opt["lr"] * (step + 1) / opt["warmup_steps"]
    span = max(opt["total_steps"] - opt["warmup_steps"], 1)
    progress = min(max((step - opt["warmup_steps"]) / span, 0.0), 1.0)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return opt["lr"] * (opt["min_lr_ratio"] + (1.0 - opt["min_lr_ratio"]) * cosine)


class Trainer:
    def __init__(self, model_cfg, opt, precision="fp32"):
        m = model_cfg
        self.cfg, self.opt, self.precision = m, opt, precision
        self.model = Gpt(m["vocab"], m["d_model"], m["heads"], m["blocks"], m["seq_len"])
        params = list(self.model.parameters())
        # Decoupled weight decay on matrices and embeddings only, as decay_mask() in trainer.cpp.
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": opt["weight_decay"]},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        self.adamw = torch.optim.AdamW(groups, lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]), eps=opt["eps"])
        self.step_index = 0

    def load_flat(self, flat, layout):
        """Copies the engine's flat parameter vector in, checking names and sizes against its layout."""
        named = list(self.model.named_parameters())
        if [n for n, _ in named] != [e["name"] for e in layout]:
            raise SystemExit("peer: parameter names differ from the engine's layout:\n  %s\n  %s"
                             % ([n for n, _ in named], [e["name"] for e in layout]))
        with torch.no_grad():
            for (name, p), e in zip(named, layout):
                if p.numel() != e["numel"]:
                    raise SystemExit("peer: %s has %d values, the engine's %d" % (name, p.numel(), e["numel"]))
                p.copy_(flat[e["offset"]:e["offset"] + e["numel"]].view_as(p))

    def step(self, batch):
        """One inner step on a (B, T+1) int64 batch; returns the loss."""
        T = self.cfg["seq_len"]
        inputs, targets = batch[:, :T], batch[:, 1:T + 1]
        # Under bf16, the forward pass and the loss only, as PyTorch's AMP recipe says (autocast runs
        # cross_entropy in fp32 on the bf16 logits); backward follows the casts back to fp32.
        with mixed_precision(self.precision):
            logits = self.model(inputs)
            loss = F.cross_entropy(logits.reshape(-1, self.cfg["vocab"]), targets.reshape(-1))
        self.adamw.zero_grad(set_to_none=True)
        loss.backward()
        if self.opt["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.opt["grad_clip"])
        lr = lr_at(self.opt, self.step_index)
        for g in self.adamw.param_groups:
            g["lr"] = lr
        self.adamw.step()
        self.step_index += 1
        return loss.item()


def load_dump(trainer, directory):
    """The engine's initial parameters from `dipaco-bench dump --dir DIRECTORY`; returns its meta.json."""
    meta = json.load(open(os.path.join(directory, "meta.json")))
    flat = torch.from_file(os.path.join(directory, "params.f32"), size=meta["params"], dtype=torch.float32)
    trainer.load_flat(flat, meta["layout"])
    return meta


def check(args):
    meta = json.load(open(os.path.join(args.dir, "meta.json")))
    dumped = meta.get("precision", "fp32")
    precision = args.precision or dumped
    if precision != dumped:
        raise SystemExit("peer: %s holds the engine's %s losses, not %s" % (args.dir, dumped, precision))
    tolerance = TOLERANCE[precision] if args.tolerance is None else args.tolerance
    torch.set_num_threads(meta["threads"])
    trainer = Trainer(meta["model"], meta["opt"], precision)
    load_dump(trainer, args.dir)
    B, W = meta["opt"]["batch_size"], meta["model"]["seq_len"] + 1
    batches = torch.from_file(os.path.join(args.dir, "batches.i64"), size=meta["steps"] * B * W, dtype=torch.int64)
    batches = batches.view(meta["steps"], B, W)
    rows = []
    for i in range(meta["steps"]):
        loss = trainer.step(batches[i])
        rows.append({"step": i, "cpp": meta["losses"][i], "python": loss, "diff": abs(loss - meta["losses"][i])})
    ok = rows[0]["diff"] <= tolerance
    print(json.dumps({"steps": rows, "first_step_diff": rows[0]["diff"], "max_diff": max(r["diff"] for r in rows),
                      "tolerance": tolerance, "precision": precision, "blas_kernel": openblas_kernel(), "agree": ok}))
    return 0 if ok else 1


def serve(args):
    torch.set_num_threads(args.threads)
    cfg, opt = json.loads(args.model), json.loads(args.opt)
    torch.manual_seed(args.seed)
    trainer = Trainer(cfg, opt, args.precision)
    # The engine's initialisation (GPT-2 style, std 0.02), not PyTorch's defaults: nn.Embedding's N(0, 1)
    # makes the tied logits so peaked that their gradient is mostly denormal floats, and GEMMs on
    # denormals run 100x slower (3.4 s instead of 38 ms for one 4096x4096x128 product here).
    meta = load_dump(trainer, args.init)
    if meta["model"] != cfg:
        raise SystemExit("peer: --init %s holds a different model: %s" % (args.init, meta["model"]))
    gen = torch.Generator().manual_seed(args.seed)
    # Uniformly random tokens, as dipaco-bench's: the step's cost does not depend on them.
    data = torch.randint(cfg["vocab"], (256, cfg["seq_len"] + 1), generator=gen)
    print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "precision": args.precision,
                      "blas_kernel": openblas_kernel(), "params": sum(p.numel() for p in trainer.model.parameters())}),
          flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        k = int(words[1])
        rows = [torch.randint(256, (opt["batch_size"],), generator=gen) for _ in range(k)]
        t0 = time.perf_counter()
        total = 0.0
        for r in rows:
            total += trainer.step(data[r])
        seconds = time.perf_counter() - t0
        print(json.dumps({"steps": k, "seconds": seconds, "loss": total / k}), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check")
    c.add_argument("dir")
    c.add_argument("--precision", choices=sorted(TOLERANCE), help="the dump's (meta.json) when not given")
    c.add_argument("--tolerance", type=float, help="on the first step's loss; by default %s" % TOLERANCE)
    s = sub.add_parser("serve")
    s.add_argument("--threads", type=int, required=True)
    s.add_argument("--model", required=True, help="JSON: vocab, d_model, heads, blocks, seq_len")
    s.add_argument("--opt", required=True, help="JSON: the engine's InnerOptConfig (dipaco-bench serve prints it)")
    s.add_argument("--init", required=True, help="a `dipaco-bench dump` folder: start from the engine's initial parameters")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--precision", choices=sorted(TOLERANCE), default="fp32", help="fp32, or bf16 under torch.autocast")
    args = ap.parse_args()
    return check(args) if args.command == "check" else serve(args)


if __name__ == "__main__":
    sys.exit(main())

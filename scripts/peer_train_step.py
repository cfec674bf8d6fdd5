#!/usr/bin/python3
"""The Python peer of the engine's training step: the path model of engine/model.cpp and the inner
AdamW of engine/trainer.cpp, written as a PyTorch user would (nn.Module, torch.optim.AdamW with its
defaults, clip_grad_norm_). Debian's python3-torch 1.13.1: the same ATen, oneDNN and BLAS as
libtorch-dev. scripts/bench.py runs it side by side with `dipaco-bench serve`.

  peer_train_step.py check DIR      replay `dipaco-bench dump --dir DIR`: same initial parameters,
                                    same batches; print both losses per step; exit 1 if the first
                                    step's losses differ by more than --tolerance
  peer_train_step.py serve --threads N --model JSON --opt JSON --init DIR
                                    start from the dump's parameters (the engine's),
                                    read "steps K" lines, train K more steps, answer
                                    {"steps": K, "seconds": s, "loss": mean} (as dipaco-bench serve)
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


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
    """engine/lr_schedule.cpp: linear warm-up, then cosine to min_lr_ratio * lr over total_steps."""
    if opt["warmup_steps"] > 0 and step < opt["warmup_steps"]:
        return opt["lr"] * (step + 1) / opt["warmup_steps"]
    span = max(opt["total_steps"] - opt["warmup_steps"], 1)
    progress = min(max((step - opt["warmup_steps"]) / span, 0.0), 1.0)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return opt["lr"] * (opt["min_lr_ratio"] + (1.0 - opt["min_lr_ratio"]) * cosine)


class Trainer:
    def __init__(self, model_cfg, opt):
        m = model_cfg
        self.cfg, self.opt = m, opt
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
    torch.set_num_threads(meta["threads"])
    trainer = Trainer(meta["model"], meta["opt"])
    load_dump(trainer, args.dir)
    B, W = meta["opt"]["batch_size"], meta["model"]["seq_len"] + 1
    batches = torch.from_file(os.path.join(args.dir, "batches.i64"), size=meta["steps"] * B * W, dtype=torch.int64)
    batches = batches.view(meta["steps"], B, W)
    rows = []
    for i in range(meta["steps"]):
        loss = trainer.step(batches[i])
        rows.append({"step": i, "cpp": meta["losses"][i], "python": loss, "diff": abs(loss - meta["losses"][i])})
    ok = rows[0]["diff"] <= args.tolerance
    print(json.dumps({"steps": rows, "first_step_diff": rows[0]["diff"], "max_diff": max(r["diff"] for r in rows),
                      "tolerance": args.tolerance, "agree": ok}))
    return 0 if ok else 1


def serve(args):
    torch.set_num_threads(args.threads)
    cfg, opt = json.loads(args.model), json.loads(args.opt)
    torch.manual_seed(args.seed)
    trainer = Trainer(cfg, opt)
    # The engine's initialisation (GPT-2 style, std 0.02), not PyTorch's defaults: nn.Embedding's N(0, 1)
    # makes the tied logits so peaked that their gradient is mostly denormal floats, and GEMMs on
    # denormals run 100x slower (3.4 s instead of 38 ms for one 4096x4096x128 product here).
    meta = load_dump(trainer, args.init)
    if meta["model"] != cfg:
        raise SystemExit("peer: --init %s holds a different model: %s" % (args.init, meta["model"]))
    gen = torch.Generator().manual_seed(args.seed)
    # Uniformly random tokens, as dipaco-bench's: the step's cost does not depend on them.
    data = torch.randint(cfg["vocab"], (256, cfg["seq_len"] + 1), generator=gen)
    print(json.dumps({"ready": True, "threads": torch.get_num_threads(),
                      "params": sum(p.numel() for p in trainer.model.parameters())}), flush=True)
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
    c.add_argument("--tolerance", type=float, default=1e-4)
    s = sub.add_parser("serve")
    s.add_argument("--threads", type=int, required=True)
    s.add_argument("--model", required=True, help="JSON: vocab, d_model, heads, blocks, seq_len")
    s.add_argument("--opt", required=True, help="JSON: the engine's InnerOptConfig (dipaco-bench serve prints it)")
    s.add_argument("--init", required=True, help="a `dipaco-bench dump` folder: start from the engine's initial parameters")
    s.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    return check(args) if args.command == "check" else serve(args)


if __name__ == "__main__":
    sys.exit(main())

"""CPU check: the 1M-parameter llama (llama-2K-1M) trains for a few hundred steps on the embedded sample.

Trains on the leaner pre-training genres' validation split, evaluates on their test split, and writes
bench/results/train_1m_cpu.{png,md}: training and validation loss against steps, wall time, tokens/s.

    python bench/train_1m_cpu.py [--steps 300] [--block-size 128] [--micro-batch 16] [--threads 1]
"""
from __future__ import annotations

import os
import time

import torch

from _cpu_train import parser, prepare, save_figure
from tinyhelen.core import atomic_write
from tinyhelen.train import TrainConfig, train


def main():
    a = parser(__doc__, steps=300).parse_args()
    tmp = prepare(a)
    cfg = TrainConfig(model="llama-2K-1M", tokenizer=str(tmp / "tok"), max_steps=a.steps, block_size=a.block_size,
                      micro_batch=a.micro_batch, lr=a.lr, warmup_steps=20, eval_every=25, eval_batches=20,
                      log_every=10, save_every=-1, device="cpu", out_dir=str(tmp / "ck"))
    t0 = time.time()
    res = train(cfg)
    wall = time.time() - t0
    hist = res["history"]
    tr = [(r["step"], r["train/loss"]) for r in hist if "train/loss" in r]
    va = [(r["step"], r["val/loss"]) for r in hist if "val/loss" in r]
    tps = sum(r["tokens_per_s"] for r in hist if "tokens_per_s" in r) / len(tr)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(*zip(*tr), label="train (mean of 10 steps)")
    ax.plot(*zip(*va), "o-", label="validation (test split)")
    ax.set(xlabel="step", ylabel="loss (nats/token)",
           title=f"llama-2K-1M on the embedded leaner sample, CPU: {wall:.0f} s")
    ax.grid(alpha=0.3); ax.legend()
    out = save_figure(fig, a.out, "train_1m_cpu.png")
    load = os.getloadavg()[0]
    md = [f"# llama-2K-1M on CPU ({torch.get_num_threads()} torch threads, load average {load:.1f})", "",
          f"`python bench/train_1m_cpu.py --steps {a.steps} --block-size {a.block_size} --micro-batch {a.micro_batch} "
          f"--lr {a.lr}{f' --threads {a.threads}' if a.threads else ''}`", "",
          f"- {a.steps} steps × {a.micro_batch} × {a.block_size} tokens in **{wall:.0f} s** wall "
          f"(incl. data, evaluation), {tps:,.0f} tokens/s while training",
          f"- train loss {tr[0][1]:.2f} (steps 1–10) → {tr[-1][1]:.2f}; validation loss {va[0][1]:.2f} (step {va[0][0]})"
          f" → {va[-1][1]:.2f} (step {va[-1][0]}); uniform guess = ln 2000 = 7.60", "",
          "![loss](train_1m_cpu.png)"]
    with atomic_write(out / "train_1m_cpu.md") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()

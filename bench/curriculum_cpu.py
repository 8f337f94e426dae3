"""CPU demo of the curriculum: llama-2K-1M on the embedded sample under several data orders.

Each order trains the same model from the same seed for --steps steps and evaluates every
--eval-every steps; the figure shows validation loss and the data fraction against steps.
This is a mechanics check on ~0.4M tokens, not a reproduction of the paper's result (which needs the
100M-token corpus and 2,500 steps of 512 x 1024 tokens).

    python bench/curriculum_cpu.py [--orders full-random,iter-sentlen,iter-selfloss] [--steps 200]
Writes bench/results/curriculum_cpu.{png,md}.
"""
from __future__ import annotations

import os
import time

from _cpu_train import parser, prepare, save_figure
from tinyhelen.core import atomic_write
from tinyhelen.curriculum import data_fraction_curve
from tinyhelen.train import TrainConfig, train


def main():
    p = parser(__doc__, steps=200)
    p.add_argument("--orders", default="full-random,iter-sentlen,iter-selfloss")
    p.add_argument("--eval-every", type=int, default=10)
    a = p.parse_args()
    tmp = prepare(a)
    results = {}
    for order in a.orders.split(","):
        cfg = TrainConfig(model="llama-2K-1M", tokenizer=str(tmp / "tok"), data_order=order, max_steps=a.steps,
                          block_size=a.block_size, micro_batch=a.micro_batch, lr=a.lr, warmup_steps=20,
                          eval_every=a.eval_every, eval_batches=20, log_every=10, save_every=-1, progress=False,
                          out_dir=str(tmp / order))
        t0 = time.time()
        res = train(cfg)
        results[order] = (res["history"], time.time() - t0)
        print(order, f"{results[order][1]:.0f} s", f"final val loss {res['val/loss']:.3f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    lines = [f"# Curriculum mechanics on CPU (llama-2K-1M, embedded sample, load average {os.getloadavg()[0]:.1f})", "",
             f"`python bench/curriculum_cpu.py --orders {a.orders} --steps {a.steps} --eval-every {a.eval_every}`", "",
             "| data order | final val loss | best val loss | data fraction at end | steps at 100% data | wall |",
             "|---|---|---|---|---|---|"]
    for order, (hist, wall) in results.items():
        val = [(r["step"], r["val/loss"]) for r in hist if "val/loss" in r]
        ax1.plot(*zip(*val), label=order)
        curve = data_fraction_curve(hist) or [(0, 1.0), (val[-1][0], 1.0)]  # full-*: all data from the start
        ax2.step(*zip(*curve), where="post", label=order)
        full = next((s for s, f in curve if f >= 1.0), None)
        lines.append(f"| {order} | {val[-1][1]:.3f} | {min(v for _, v in val):.3f} | {curve[-1][1]:.0%} "
                     f"| {full if full is not None else '—'} | {wall:.0f} s |")
    ax1.set(xlabel="step", ylabel="validation loss"); ax2.set(xlabel="step", ylabel="fraction of documents in use")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3); ax.legend()
    out = save_figure(fig, a.out, "curriculum_cpu.png", dpi=110)
    lines += ["", "Paper settings: start 5%, step 5%, patience 1, threshold 0 (the defaults here).",
              "", "![curriculum](curriculum_cpu.png)"]
    with atomic_write(out / "curriculum_cpu.md") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

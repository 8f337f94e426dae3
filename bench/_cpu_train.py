"""What the CPU training benchmarks share: their common flags, a tokenizer trained on the sample, figure output."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from tinyhelen.core import repo_root, write_figure
from tinyhelen.data import load_corpus
from tinyhelen.tokenizers import train_tokenizer


def parser(doc: str, steps: int) -> argparse.ArgumentParser:
    "An argument parser with the flags every CPU training benchmark takes."
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--block-size", type=int, default=128)
    p.add_argument("--micro-batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--out", default=str(repo_root() / "bench" / "results"))
    return p


def prepare(a: argparse.Namespace) -> Path:
    "Apply --threads; return a scratch folder holding a 2K tokenizer (`tok/`) trained on the embedded sample."
    if a.threads:
        torch.set_num_threads(a.threads)
    tmp = Path(tempfile.mkdtemp())
    train_tokenizer(load_corpus(), "gpt", out=tmp / "tok")
    return tmp


def save_figure(fig, out: str, name: str, dpi: int = 120) -> Path:
    "Write `fig` as <out>/<name> (atomically) and return the folder."
    fig.tight_layout()
    return write_figure(fig, Path(out) / name, dpi=dpi).parent

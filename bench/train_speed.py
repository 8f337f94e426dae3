"""Training throughput and MFU: tinyhelen.train vs Hugging Face `Trainer`, same model, same data, one run.

For each model, both loops train the same randomly initialised model on the same packed blocks of
the embedded sample for --steps optimizer steps; the first --warmup steps (allocator, torch.compile)
are not timed. tokens/s counts input tokens; MFU = tokens/s x FLOPs/token (6N + 12*L*H*Q*T, see
tinyhelen.models.flops_per_token) / the GPU's dense bf16 peak, looked up by device name (none on CPU).

Our loop: bf16 autocast + torch.compile + fused AdamW on GPU. Trainer: bf16=True, fused AdamW, SDPA,
everything else at its defaults (no torch.compile). On CPU both run fp32, eager.

    python bench/train_speed.py                      # GPU: T=1024, 60 steps; CPU: T=128, 8 steps
    python bench/train_speed.py --models llama-2K-10M --steps 20 --micro-batch 8
Writes bench/results/train_speed_<device>.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import tempfile
import time
from pathlib import Path

import datasets
import torch
import transformers as tf

from tinyhelen.core import atomic_write, repo_root
from tinyhelen.data import load_corpus
from tinyhelen.models import MODELS, build_model, count_params, flops_per_token, mfu, model_config
from tinyhelen.tokenizers import train_tokenizer
from tinyhelen.train import TrainConfig, train
from tinyhelen.train_data import tokenize_docs

GPU_MICRO = {"llama-2K-10M": 64, "tinycodelm-150M": 16}


def ours(name, tok_dir, data, a, micro):
    cfg = TrainConfig(model=name, tokenizer=str(tok_dir), vocab_size=MODELS[name].vocab_size, block_size=a.block_size,
                      micro_batch=micro, max_steps=a.steps, warmup_steps=a.warmup, lr=1e-4, log_every=1,
                      eval_every=0, eval_batches=1, save_every=-1, progress=False, out_dir=str(tok_dir.parent / "ck"))
    rows = [r for r in train(cfg, data, data)["history"] if "tokens_per_s" in r and r["step"] > a.warmup]
    per_step = micro * a.block_size
    return len(rows) * per_step / sum(per_step / r["tokens_per_s"] for r in rows)  # total tokens / total time


class StepClock(tf.TrainerCallback):
    "Wall time at the end of each optimizer step (after the GPU finishes it)."
    def __init__(self):
        self.times = {}

    def on_step_end(self, args, state, control, **kw):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.times[state.global_step] = time.perf_counter()


def hf_trainer(name, tok, data, a, micro, out, compile: bool = False):
    cuda = torch.cuda.is_available()
    blocks = tokenize_docs(data, tok).pack(a.block_size)
    ds = datasets.Dataset.from_dict({"input_ids": blocks.tolist(), "labels": blocks.tolist()})
    model = build_model(model_config(name), seed=65)
    args = tf.TrainingArguments(output_dir=str(out), per_device_train_batch_size=micro, max_steps=a.steps,
                                learning_rate=1e-4, warmup_steps=a.warmup, lr_scheduler_type="linear", weight_decay=0.0,
                                bf16=cuda, optim="adamw_torch_fused" if cuda else "adamw_torch", use_cpu=not cuda,
                                logging_steps=a.steps, save_strategy="no", eval_strategy="no", report_to="none",
                                disable_tqdm=True, dataloader_drop_last=True, seed=65, torch_compile=compile)
    clock = StepClock()
    tf.Trainer(model=model, args=args, train_dataset=ds, data_collator=tf.default_data_collator,
               callbacks=[clock]).train()
    return (a.steps - a.warmup) * micro * a.block_size / (clock.times[a.steps] - clock.times[a.warmup])


def main():
    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="llama-2K-10M,tinycodelm-150M")
    p.add_argument("--steps", type=int, default=60 if cuda else 8)
    p.add_argument("--warmup", type=int, default=15 if cuda else 3)
    p.add_argument("--block-size", type=int, default=1024 if cuda else 128)
    p.add_argument("--micro-batch", type=int, default=0, help="0: per-model default (GPU) or 4 (CPU)")
    p.add_argument("--out", default=str(repo_root() / "bench" / "results"))
    a = p.parse_args()
    device = torch.cuda.get_device_name() if cuda else f"CPU ({platform.processor() or platform.machine()}, " \
                                                         f"{torch.get_num_threads()} threads)"
    tmp = Path(tempfile.mkdtemp())
    data = load_corpus()  # leaner pre-training genres of the data root (the embedded sample by default)
    tok = train_tokenizer(data, "gpt", out=tmp / "tok")
    rows = []
    for name in a.models.split(","):
        micro = a.micro_batch or (GPU_MICRO.get(name, 16) if cuda else 4)
        ours_tps = ours(name, tmp / "tok", data, a, micro)
        hf_tps = hf_trainer(name, tok, data, a, micro, tmp / "hf")
        m = build_model(name)
        row = {"model": name, "params": count_params(m, non_embedding=False), "block_size": a.block_size,
               "micro_batch": micro, "steps": a.steps, "timed_steps": a.steps - a.warmup,
               "flops_per_token": flops_per_token(m, a.block_size),
               "ours_tokens_per_s": ours_tps, "trainer_tokens_per_s": hf_tps, "speedup": ours_tps / hf_tps,
               "ours_mfu": mfu(ours_tps, m, a.block_size, device), "trainer_mfu": mfu(hf_tps, m, a.block_size, device)}
        rows.append(row)
        print(json.dumps(row))
    slug = re.sub(r"[^a-z0-9]+", "-", (torch.cuda.get_device_name() if cuda else "cpu").lower()).strip("-")
    pct = lambda v: "n/a (no GPU peak)" if v is None else f"{100 * v:.1f}%"
    lines = [f"# Training throughput: tinyhelen.train vs HF Trainer ({device})", "",
             f"`python bench/train_speed.py {' '.join(f'--{k.replace(chr(95), chr(45))} {v}' for k, v in vars(a).items() if k != 'out')}`"
             f" · torch {torch.__version__} · transformers {tf.__version__} · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             "| model | params | T | micro-batch | timed steps | ours tok/s | Trainer tok/s | ratio | ours MFU | Trainer MFU |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['params'] / 1e6:.1f}M | {r['block_size']} | {r['micro_batch']} | {r['timed_steps']} "
                     f"| {r['ours_tokens_per_s']:,.0f} | {r['trainer_tokens_per_s']:,.0f} | {r['speedup']:.2f}× "
                     f"| {pct(r['ours_mfu'])} | {pct(r['trainer_mfu'])} |")
    out = Path(a.out)
    with atomic_write(out / f"train_speed_{slug}.md") as f:
        f.write("\n".join(lines) + "\n")
    with atomic_write(out / f"train_speed_{slug}.json") as f:
        json.dump({"device": device, "args": vars(a), "rows": rows}, f, indent=2)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

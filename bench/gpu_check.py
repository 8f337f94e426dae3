"""GPU readiness in one command (≤10 minutes on one H100/H200): throughput, a short experiment 03, a short 08.

Three parts, each timed and recorded even when another fails:

1. **speed** — our training loop vs Hugging Face `Trainer` on the same TinyCodeLM-150M shape, same packed
   blocks of the embedded sample, in the same process (bf16; torch.compile for both: our loop compiles
   on GPU by default, the Trainer gets `torch_compile=True`). tokens/s and MFU (6N + attention FLOPs per
   token over the device's dense bf16 peak, `tinyhelen.models.mfu`). The loops are bench/train_speed.py's.
2. **pretrain** — experiment 03 in miniature through the library: llama-2K-10M on the leaner and the
   original corpus (one 2K tokenizer trained on the leaner text, as 03 does), 2 seeds, 200 steps of
   64 × 1024 tokens; final validation loss per run and the leaner−original gap per seed.
3. **code** — experiment 08 through papermill (the notebook itself): code pre-training, then LintSeq /
   plain / RandSeq fine-tuning from that checkpoint and pass@k on a few HumanEval and MBPP problems.

    python bench/gpu_check.py                 # on the GPU machine; writes bench/GPU_RESULTS.md
    python bench/gpu_check.py --cpu-smoke     # tiny sizes on CPU (seconds to a minute): checks the script itself
    make gpu-check                            # the first line

The results page gets the date, the git commit, the device, torch/transformers versions and each part's
numbers (or its error). --cpu-smoke writes bench/results/gpu_check_cpu_smoke.md instead, marked as not GPU figures.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is a folder of scripts, not a package
import train_speed  # noqa: E402

from tinyhelen.core import atomic_write, repo_root  # noqa: E402


@dataclass
class Sizes:
    "Everything that differs between the GPU check and its CPU smoke version."
    speed_model: str = "tinycodelm-150M"
    speed_steps: int = 30
    speed_warmup: int = 10
    speed_block: int = 1024
    speed_micro: int = 16
    pre_model: str = "llama-2K-10M"
    pre_steps: int = 200
    pre_block: int = 1024
    pre_micro: int = 64
    pre_seeds: tuple = (1, 2)
    genres: str = ""              # pre-training genres of the sample (empty: the paper's five)
    code_params: dict = None


# sized for ≤10 minutes on one H100 in all (most of it torch.compile and papermill start-up, not steps)
GPU = Sizes(code_params=dict(model="tinycodelm-150M", limit=200, pretrain_steps=100, max_steps=60, block_size=512,
                             micro_batch=16, lr=3e-4, warmup_steps=10, eval_every=30, problems=5, n_samples=4,
                             max_new_tokens=128, ks="1,4", workers=8, tasks=8))
CPU_SMOKE = Sizes(speed_model="tinycodelm-smoke", speed_steps=4, speed_warmup=2, speed_block=32, speed_micro=2,
                  pre_model="llama-smoke", pre_steps=3, pre_block=32, pre_micro=2, genres="wiki",
                  code_params=dict(model="tinycodelm-smoke", limit=8, n=1, pretrain_steps=2, max_steps=2, block_size=256,
                                   micro_batch=2, warmup_steps=1, eval_every=2, eval_batches=1, problems=1, n_samples=1,
                                   max_new_tokens=8, ks="1", workers=1, tasks=1, conditions="lintseq,plain,randseq",
                                   benchmarks="humaneval", device="cpu"))


def part_speed(s: Sizes, tmp: Path) -> dict:
    "Our loop vs HF Trainer, same model and data, compiled and bf16 on GPU."
    from tinyhelen.data import load_corpus
    from tinyhelen.models import build_model, count_params, mfu
    from tinyhelen.tokenizers import train_tokenizer
    data = load_corpus(genres=s.genres.split(",") if s.genres else None)
    tok = train_tokenizer(data, "gpt", out=tmp / "tok")
    a = argparse.Namespace(steps=s.speed_steps, warmup=s.speed_warmup, block_size=s.speed_block)
    cuda = torch.cuda.is_available()
    ours = train_speed.ours(s.speed_model, tmp / "tok", data, a, s.speed_micro)
    theirs = train_speed.hf_trainer(s.speed_model, tok, data, a, s.speed_micro, tmp / "hf", compile=cuda)
    m, device = build_model(s.speed_model), _device()
    return {"model": s.speed_model, "params_M": round(count_params(m, non_embedding=False) / 1e6, 1),
            "block_size": s.speed_block, "micro_batch": s.speed_micro, "timed_steps": s.speed_steps - s.speed_warmup,
            "compile": cuda, "bf16": cuda, "ours_tokens_per_s": round(ours), "trainer_tokens_per_s": round(theirs),
            "ratio": round(ours / theirs, 3), "ours_mfu": mfu(ours, m, s.speed_block, device),
            "trainer_mfu": mfu(theirs, m, s.speed_block, device)}


def part_pretrain(s: Sizes, tmp: Path) -> dict:
    "Experiment 03 in miniature: leaner vs original, same tokenizer and steps, 2 seeds."
    from tinyhelen.data import load_corpus
    from tinyhelen.tokenizers import train_tokenizer
    from tinyhelen.train import TrainConfig, train
    train_tokenizer(load_corpus("leaner", s.genres.split(",") if s.genres else None), "gpt", out=tmp / "tok03")
    runs = []
    for seed in s.pre_seeds:
        for version in ("leaner", "ori"):
            cfg = TrainConfig(experiment="gpu_check_03", model=s.pre_model, tokenizer=str(tmp / "tok03"), version=version, genres=s.genres,
                              block_size=s.pre_block, micro_batch=s.pre_micro, max_steps=s.pre_steps, lr=5e-3,
                              warmup_steps=min(20, s.pre_steps), eval_every=0, eval_batches=4, log_every=max(1, s.pre_steps // 10),
                              save_every=-1, seed=seed, progress=False, out_dir=str(tmp / f"03-{version}-{seed}"))
            t0 = time.perf_counter()
            r = train(cfg)
            runs.append({"version": version, "seed": seed, "val_loss": round(r["val/loss"], 4),
                         "tokens_per_s": round(r["tokens_per_s"]), "seconds": round(time.perf_counter() - t0, 1)})
    gaps = {f"seed {sd}": round(next(r["val_loss"] for r in runs if r["seed"] == sd and r["version"] == "leaner")
                                - next(r["val_loss"] for r in runs if r["seed"] == sd and r["version"] == "ori"), 4)
            for sd in s.pre_seeds}
    return {"model": s.pre_model, "steps": s.pre_steps, "block_size": s.pre_block, "micro_batch": s.pre_micro,
            "runs": runs, "leaner_minus_ori_val_loss": gaps}


def part_code(s: Sizes, tmp: Path) -> dict:
    "Experiment 08 as papermill runs it, with the sizes' parameters."
    nb = repo_root(Path(__file__).parent) / "nbs" / "experiments" / "08_code_sft.ipynb"
    out = tmp / "08"
    import yaml  # -y keeps each parameter's type ("1" stays a string, as ks must be)
    cmd = [sys.executable, "-m", "papermill", str(nb), str(tmp / "08.ipynb"), "-k", "python3", "--log-level", "ERROR",
           "--cwd", str(nb.parent), "-y", yaml.safe_dump({**s.code_params, "out_dir": str(out)})]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"papermill 08 failed: {r.stderr[-1500:]}")
    rows = json.loads((out / "results.json").read_text())
    keep = ("condition", "benchmark", "val_loss", "runs_without_error", *[k for k in rows[0] if k.startswith("pass@")])
    return {"params": s.code_params, "rows": [{k: r[k] for k in keep if k in r} for r in rows],
            "outputs": sorted(json.loads((out / "outputs.json").read_text()))}


PARTS = {"speed": part_speed, "pretrain": part_pretrain, "code": part_code}


def _device() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _commit() -> str:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent)
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=Path(__file__).parent).stdout
    return (r.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty.strip() else "")


def report(results: dict, smoke: bool, argv: list[str]) -> str:
    "The results page: when, where, what ran, each part's numbers or error."
    import transformers
    pct = lambda v: "n/a (no GPU peak)" if v is None else f"{100 * v:.1f}%"
    lines = ["# GPU check results", ""]
    if smoke:
        lines += ["**CPU smoke run: these are not GPU figures.** Tiny models and a handful of steps, to check the script;",
                  "the numbers say nothing about GPU speed or the papers.", ""]
    lines += [f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", f"- commit: {_commit()}",
              f"- device: {_device()}", f"- torch {torch.__version__}, transformers {transformers.__version__}, "
              f"Python {platform.python_version()}", f"- command: `python bench/gpu_check.py {' '.join(argv)}`".replace("  ", " "), ""]
    for name, r in results.items():
        lines += [f"## {name} ({r['seconds']:.0f} s)", ""]
        if "error" in r:
            lines += ["FAILED:", "", "```", r["error"].strip()[-2000:], "```", ""]
            continue
        v = r["value"]
        if name == "speed":
            lines += [f"{v['model']} ({v['params_M']}M parameters), T={v['block_size']}, micro-batch {v['micro_batch']}, "
                      f"{v['timed_steps']} timed steps, bf16={v['bf16']}, compile={v['compile']}:", "",
                      "| loop | tokens/s | MFU |", "|---|---|---|",
                      f"| tinyhelen.train | {v['ours_tokens_per_s']:,} | {pct(v['ours_mfu'])} |",
                      f"| HF Trainer | {v['trainer_tokens_per_s']:,} | {pct(v['trainer_mfu'])} |", "",
                      f"ratio (ours / Trainer): {v['ratio']:.2f}×", ""]
        elif name == "pretrain":
            lines += [f"{v['model']}, {v['steps']} steps of {v['micro_batch']}×{v['block_size']} tokens, embedded sample "
                      "(train on its validation split, validate on test):", "",
                      "| version | seed | val loss | tokens/s | seconds |", "|---|---|---|---|---|"]
            lines += [f"| {x['version']} | {x['seed']} | {x['val_loss']:.4f} | {x['tokens_per_s']:,} | {x['seconds']} |" for x in v["runs"]]
            lines += ["", f"leaner − original val loss: {v['leaner_minus_ori_val_loss']} (losses on different "
                      "texts: a check that both train, not the paper's comparison)", ""]
        else:
            ks = [k for k in v["rows"][0] if k.startswith("pass@")] if v["rows"] else []
            lines += [f"papermill 08_code_sft with {json.dumps(v['params'])}; outputs.json: {', '.join(v['outputs'])}", "",
                      "| condition | benchmark | SFT val loss | runs without error | " + " | ".join(ks) + " |",
                      "|---|---|---|---|" + "---|" * len(ks)]
            lines += [f"| {x['condition']} | {x['benchmark']} | {x['val_loss']:.3f} | {x['runs_without_error']:.2f} | "
                      + " | ".join(f"{x[k]:.3f}" for k in ks) + " |" for x in v["rows"]]
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cpu-smoke", action="store_true", help="tiny sizes on CPU, to check the script (not GPU figures)")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {', '.join(PARTS)}")
    p.add_argument("--out", default=None, help="results page (default: bench/GPU_RESULTS.md; --cpu-smoke: "
                                                "bench/results/gpu_check_cpu_smoke.md)")
    a = p.parse_args(argv)
    if not a.cpu_smoke and not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU here; use --cpu-smoke to check the script on CPU", file=sys.stderr)
        return 2
    sizes = CPU_SMOKE if a.cpu_smoke else GPU
    out = Path(a.out or repo_root(Path(__file__).parent) / ("bench/results/gpu_check_cpu_smoke.md" if a.cpu_smoke else "bench/GPU_RESULTS.md"))
    results, tmp = {}, Path(tempfile.mkdtemp(prefix="gpu_check_"))
    for name in a.parts.split(","):
        t0 = time.perf_counter()
        try:
            results[name] = {"value": PARTS[name](sizes, tmp)}
        except Exception:  # one failing part must not hide the others' numbers
            results[name] = {"error": traceback.format_exc()}
        results[name]["seconds"] = time.perf_counter() - t0
        print(json.dumps({name: results[name]}, default=str)[:2000], flush=True)
    text = report(results, a.cpu_smoke, argv)
    with atomic_write(out) as f:
        f.write(text + "\n")
    with atomic_write(out.with_suffix(".json")) as f:
        json.dump({"smoke": a.cpu_smoke, "device": _device(), "results": results}, f, indent=1, default=str)
    print(text)
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

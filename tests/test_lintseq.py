"""LintSeq properties on every program of the embedded corpus, HumanEval and MBPP (fast mode),
and on a sample in pylint mode; RandSeq and the resolver on the same programs."""
import random

import pytest

from tinyhelen.linters import FastLinter, PylintLinter
from tinyhelen.lintseq import DiffError, ProgramRejected, check_sequence, lintseq, randseq, resolve
from tinyhelen.lintseq_corpus import code_source
from tinyhelen.code_data import load_mbpp
from tinyhelen.lintseq import reindent

FAST = FastLinter()


def _programs(name):
    if name == "mbpp-all":
        return list(zip(map(str, load_mbpp("all")["task_id"]), (reindent(c) for c in load_mbpp("all")["code"])))
    ds = code_source(name)
    return list(zip(ds["id"], ds["program"]))


@pytest.mark.parametrize("source", ["stdlib", "humaneval", "mbpp-all"])
def test_round_trip_fast(source):
    progs = _programs(source)
    done = rejected = 0
    for pid, prog in progs:
        try:
            res = lintseq(prog, n=5, seed=1, check_clean=True)
        except ProgramRejected as e:
            assert e.reason in ("lint-errors", "unparsable"), (pid, e)
            rejected += 1
            continue
        assert len(res.sequences) == 5
        for seq in res.sequences:
            check_sequence(prog, seq, FAST)  # insertions only, every state lint-clean, rebuilds the program
        done += 1
    assert done >= 0.98 * len(progs), (done, rejected, len(progs))


def test_same_seed_same_sequences():
    progs = [p for _, p in _programs("stdlib")[:40]]
    a = [lintseq(p, n=5, seed=7).sequences for p in progs]
    b = [lintseq(p, n=5, seed=7).sequences for p in reversed(progs)][::-1]
    assert a == b, "order of processing does not matter"
    c = [lintseq(p, n=5, seed=8).sequences for p in progs]
    assert sum(x != y for x, y in zip(a, c)) > len(progs) // 2


def test_pylint_mode_states_are_pylint_clean():
    pyl = PylintLinter()
    progs = random.Random(0).sample(_programs("stdlib"), 6) + random.Random(0).sample(_programs("mbpp-train"), 4)
    for pid, prog in progs:
        res = lintseq(prog, n=2, seed=1, linter=pyl, check_clean=True)
        for seq in res.sequences:
            check_sequence(prog, seq, pyl)


def test_randseq_round_trip_and_breaks_states():
    progs = _programs("humaneval")
    broken = total = 0
    for pid, prog in progs:
        res = randseq(prog, n=5, seed=1)
        for seq in res.sequences:
            assert resolve(seq) == res.program
            state = ""
            for d in seq:
                state = resolve([d], state)
                total += 1
                broken += bool(FAST.check(state))
    assert broken / total > 0.3, "without a linter many intermediate states do not even parse"
    assert randseq(progs[0][1], n=5, seed=1).sequences == randseq(progs[0][1], n=5, seed=1).sequences


def test_resolver_rejects_corrupted_sequences():
    prog = _programs("stdlib")[3][1]
    seq = lintseq(prog, n=1, seed=1).sequences[0]
    assert resolve(seq) == reindent(prog)
    rng = random.Random(0)
    for trial in range(30):
        s = list(seq)
        j = rng.randrange(len(s))
        lines = s[j].split("\n")
        k = rng.randrange(len(lines))
        lines[k] = rng.choice(["@@ -0,0 +1 @@ junk", " context", "+" + lines[k], lines[k][1:] if len(lines[k]) > 1 else "x"])
        s[j] = "\n".join(lines)
        try:
            out = resolve(s)
        except DiffError as e:
            assert e.edit <= j and "edit" in str(e)
        else:
            assert out != reindent(prog) or s == seq


def test_sft_formats_from_the_module():
    from tinyhelen.lintseq_corpus import sft_dataset
    plain = sft_dataset("stdlib", fmt="plain", eos="</s>")
    edits = sft_dataset("stdlib", n=1)
    assert len(plain) == len(code_source("stdlib")) and all(t.endswith("</s>") for t in plain["text"])
    assert all(r["completion"].endswith("\n<|diff|>\n<|diff|>") for r in edits)
    assert all(resolve(c) for c in edits["completion"][:50])

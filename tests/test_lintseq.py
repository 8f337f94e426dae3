"""LintSeq properties on every program of the embedded corpus, HumanEval and MBPP (fast mode),
and on a sample in pylint mode; RandSeq and the resolver on the same programs."""
import random

import pytest

from tinyhelen.fastlint import FastLinter, StructStateLinter
from tinyhelen.lintbase import render
from tinyhelen.linters import PylintLinter
from tinyhelen.lintseq import (DiffError, ProgramRejected, apply_diff, check_sequence, is_insertion, lintseq, randseq, resolve,
                               split_lines)
from tinyhelen.statemodel import Units
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


# Programs with the constructs the shortcut has to get right: async, match, except*, global/nonlocal,
# decorators, redefinitions, string annotations, builtin-named parameters, loop `else`, walrus.
SHORTCUT_PROGRAMS = [
    'import asyncio\n\n\nasync def main(xs):\n    async with asyncio.timeout(1) as t:\n        async for x in agen(xs):\n            if (n := len(x)) > 2:\n                print(n, t)\n    return [y async for y in agen(xs)]\n\n\nasync def agen(xs):\n    for x in xs:\n        yield x\n',
    'def classify(cmd, p):\n    match cmd:\n        case ["go", direction] if direction in p:\n            out = direction\n        case {"k": v, **rest}:\n            out = (v, rest)\n        case Point(x=0, y=yy):\n            out = yy\n        case _:\n            out = None\n    return out\n\n\nclass Point:\n    x = 0\n    y = 0\n',
    'counter = 0\n\n\ndef bump(k):\n    global counter\n    counter += k\n    try:\n        val = 1 / k\n    except* ZeroDivisionError as eg:\n        print(eg)\n        val = 0\n    else:\n        print("ok")\n    finally:\n        print("done")\n    return val\n\n\ndef outer():\n    total = 0\n\n    def inner(z):\n        nonlocal total\n        total += z\n        return total\n    fs = [lambda q=i: q * 2 for i in range(3)]\n    del fs[0]\n    return inner(1), fs\n',
    'class Stack(object):\n    def __init__(self):\n        self.items = []\n        self.size = 0\n\n    def push(self, item):\n        self.items.append(item)\n        self.size += 1\n\n    def pop(self):\n        if not self.items:\n            raise IndexError("empty")\n        self.size -= 1\n        return self.items.pop()\n\n    @property\n    def top(self):\n        return self.items[-1] if self.items else None\n\n\ndef use():\n    s = Stack()\n    s.push(1)\n    r = s.pop()\n    x: int = 3\n    y: "Stack" = s\n    while r:\n        r -= 1\n        if r == 2:\n            break\n        elif r == 5:\n            continue\n        else:\n            pass\n    else:\n        x = 4\n    with open("f") as fh, open("g") as gh:\n        data = fh.read() + gh.read()\n    return x, y, data, "%s %d" % ("a", 1)\n',
    'import functools\nfrom typing import Optional\n\n\ndef helper(a, b=2):\n    if a:\n        return a + b\n    return None\n\n\ndef noret(x):\n    print(x)\n\n\ndef twice(a, b):\n    return a * b\n\n\ndef twice(a):\n    return a\n\n\nclass Node(object):\n    kind = "node"\n\n    def __init__(self, value: "Optional[Node]" = None):\n        self.value = value\n        self.children = []\n\n    @functools.lru_cache(maxsize=None)\n    def depth(self):\n        d = 0\n        for c in self.children:\n            d = max(d, c.depth())\n        return d + len(self.kind)\n\n    def add(self, c):\n        self.children.append(c)\n        return self.value\n\n\ndef run(sum):\n    n = Node()\n    r = helper(1)\n    q = twice(2)\n    total = sum[0]\n    out = [n for n in range(3) if n]\n    k = 0\n    while k < 3:\n        k += 1\n    else:\n        k = 0\n    try:\n        v = int("3")\n    except ValueError:\n        v = 0\n    else:\n        v += 1\n    if (w := v) > 1:\n        print(w)\n    return n.add(r), q, total, out, k, v\n',
    'import os\n\n\ndef common(m, path):\n    if not m: return \'\'\n    s1 = min(m)\n    total = 0\n    for c in s1: total += len(c)\n    while total > 10: total //= 2\n    with open(path) as fh: data = fh.read()\n    for i, c in enumerate(s1):\n        if c != m[-1][i]: return s1[:i]\n        if c == "x": break\n        if i > 3: seen = i\n    else:\n        seen = 0\n    out = None\n    if os.sep: out = data\n    return s1, total, out, seen\n',
    'def f(data):\n    result = {}\n    for key, val in data.items():\n        if key in result:\n            result[key] += val\n        else:\n            result[key] = val\n    first = None\n    for item in data:\n        first = item\n        break\n    try:\n        import json\n    except ImportError:\n        json = None\n    text = json.dumps(result) if json else str(result)\n    msg = "%(a)s-%(b)s" % {"a": 1, "b": 2}\n    fmt = "{} {}".format(1, 2)\n    return text, first, msg, fmt\n\n\ndef g(n):\n    acc = []\n    i = 0\n    while i < n:\n        if i % 2:\n            x = i\n        else:\n            x = -i\n        acc.append(x)\n        i += 1\n    return acc\n',
]


def _verified(programs, sweep_errors=False, n=10, seeds=(1, 2)):
    """Sample `programs` with fast mode, checking every state it judges without linting against the full check
    and its sequences against fast mode without the shortcut: (states judged, of them from a program with
    errors while some of its error lines stood, wrong verdicts)."""
    plain = FastLinter(deletion_shortcut=False)
    judged, standing, wrong = [0], [0], []

    class Verifying(StructStateLinter):
        def errors(self, present, base=None):
            before = self.judged
            below = base is None and self._dirty is not None and self._below(present)[1]
            out = super().errors(present, base)
            if self.judged > before:
                judged[0] += 1
                standing[0] += bool(below)
                full = {present[min(max(e.line, 1), len(present)) - 1] for e in plain.check(render(self.lines, present))}
                if full != out:
                    wrong.append(render(self.lines, present))
            return out

    class VerifyingLinter(FastLinter):
        def state_linter(self, lines):  # the seam LintSeq asks for a program's state linter
            return Verifying(self, lines)

    for prog in programs:
        for seed in seeds:
            kw = dict(n=n, seed=seed, check_clean=True, sweep_errors=sweep_errors)
            assert lintseq(prog, linter=VerifyingLinter(), **kw).sequences == lintseq(prog, linter=plain, **kw).sequences
    return judged[0], standing[0], wrong


# A module with a future import and `__all__`: the statement model covers it (it declined such programs once);
# deleting the future import un-postpones the annotations that read `Box` before it is bound, so that
# deletion must be linted, not judged from the one name it binds.
POSTPONED = ('"""Boxes."""\nfrom __future__ import annotations\n\n__all__ = ["area", "Box"]\n\n\n'
             'def area(b: Box) -> float:\n    return b.w * b.h\n\n\nclass Box:\n'
             '    def __init__(self, w: float, h: float):\n        self.w = w\n        self.h = h\n\n'
             '    def grow(self, k: float) -> Box:\n        return Box(self.w * k, self.h * k)\n')


def test_shortcut_judges_modules_with_future_imports_and_exports():
    lines = split_lines(POSTPONED)
    assert Units(lines, list(range(len(lines)))).ok
    assert any(e.code == "E0602" for e in FAST.check(POSTPONED.replace("from __future__ import annotations\n", "")))
    judged, _, wrong = _verified([POSTPONED], seeds=range(1, 9))
    assert judged > 30 and not wrong, wrong[:1]


# Multi-line `from` imports: a line of names is its own unit, so deleting it is judged (the reading lines become
# undefined names); a name the module lacks (E0611, blamed on the import's first line) goes with its line.
IMPORT_LINES = ('from os.path import (\n    basename,\n    dirname,  # parent\n    join\n)\n'
                'from collections import (OrderedDict,\n    defaultdict,\n    Counter)\n\n\n'
                'def f(p):\n    d = defaultdict(list)\n    d[basename(p)].append(join(dirname(p), "x"))\n'
                '    return OrderedDict(d), Counter(p)\n')
MISSING_NAME = 'from os.path import (\n    join,\n    no_such_name_in_posixpath,\n)\n\n\ndef f(p):\n    return join(p, "x")\n'


def test_shortcut_judges_lines_of_imported_names():
    lines = split_lines(IMPORT_LINES)
    whole = list(range(len(lines)))
    m = Units(lines, whole)
    assert m.ok and len(m.name_units) == 2
    cut = [i for i in whole if i != 2]  # `    dirname,  # parent`
    full = {cut[e.line - 1] for e in FAST.check(render(lines, cut))}
    assert full == m.judge(cut, whole) == {12}
    judged, _, wrong = _verified([IMPORT_LINES], seeds=range(1, 7))
    assert judged > 30 and not wrong, wrong[:1]
    assert [e.code for e in FAST.check(MISSING_NAME)] == ["E0611"]
    judged, standing, wrong = _verified([MISSING_NAME], sweep_errors=True, seeds=range(1, 13))
    assert standing and not wrong, wrong[:1]


def test_shortcut_counts_a_statement_left_with_blank_lines_as_gone():
    "Blank lines are never sampled; a docstring whose other lines went is judged as a deleted statement, not linted."
    prog = 'def f(x):\n    """Twice x.\n\n    More.\n    """\n    return 2 * x\n'
    lines = split_lines(prog)
    whole = list(range(len(lines)))
    cut = [0, 2, 5]  # the docstring's blank line stays
    assert FAST.check(render(lines, cut)) == [] and Units(lines, whole).judge(cut, whole) == set()
    judged, _, wrong = _verified([prog + '\n\nY = f(\n    1,\n\n    )\n'], seeds=range(1, 5))
    assert judged > 5 and not wrong, wrong[:1]


# Reads a deleted binding leaves unbound, by scope: a binding of the same name in another function serves none of
# them; a store in a nested function still excuses a read in an outer `for` loop (pylint's loop-carried names), so
# deleting it is linted; a sentence in a string names nothing, an annotation in a string does; reading `getattr`
# makes nothing risky.
SCOPED = ('import os\n\n\ndef mean(xs):\n    total = sum(xs)\n    return total / len(xs)\n\n\n'
          'def spread(xs, obj):\n    total = max(xs) - min(xs)\n    if not os.sep:\n'
          '        raise ValueError("no total on this os")\n    size = getattr(obj, "nbytes", 0)\n    return total, size\n\n\n'
          'def firsts(rows, p: "os.PathLike"):\n    for row in rows:\n        print(last, p)\n\n'
          '        def keep(r):\n            last = r\n            return last\n        keep(row)\n')


def test_shortcut_follows_scopes_strings_and_loops():
    lines = split_lines(SCOPED)
    whole = list(range(len(lines)))
    m = Units(lines, whole)
    assert not FAST.check(SCOPED) and m.ok
    verdicts = {}
    for gone in ([4], [9], [12], [0], [20, 21, 22]):
        cut = [i for i in whole if i not in gone]
        verdicts[tuple(gone)] = m.judge(cut, whole), {cut[e.line - 1] for e in FAST.check(render(lines, cut))}
    assert verdicts[(4,)] == ({5}, {5})  # `spread`'s `total` serves nothing in `mean`
    assert verdicts[(9,)] == ({13}, {13})  # the sentence in the string reads no `total`
    assert verdicts[(12,)] == ({13}, {13})  # the `getattr` line goes like any other
    assert verdicts[(0,)][0] is None and 16 in verdicts[(0,)][1]  # `"os.PathLike"` reads os: linted
    assert verdicts[(20, 21, 22)] == (None, {18, 23})  # `last` no longer stored in the loop: linted
    judged, _, wrong = _verified([SCOPED], seeds=range(1, 7))
    assert judged > 20 and not wrong, wrong[:1]


def test_shortcut_verdicts_are_the_full_checks():
    "Every state fast mode judges without linting gets the full check's error lines; sequences are unchanged."
    assert not any(FAST.check(p) for p in SHORTCUT_PROGRAMS + MODEL_GAPS)
    judged, _, wrong = _verified(SHORTCUT_PROGRAMS)
    assert judged > 100 and not wrong, wrong[:1]
    judged, _, wrong = _verified(MODEL_GAPS, seeds=range(1, 7))
    assert judged > 20 and not wrong, wrong[:1]


# Deletions the statement model once judged wrong (issue 15's verification against the full check): a star
# import (undefined names appear), `__getattr__` (missing members appear), a class attribute read as
# `Klass.attr`, and a decorated one-line `def` (its header ended at the decorator: the sweep never ended).
MODEL_GAPS = [
    'from os.path import *\n\n\ndef f(p):\n    return join(p, "x"), dirname(p)\n',
    'class Lazy:\n    def get(self):\n        return self.value, self.other\n\n    def __getattr__(self, name):\n        return name\n',
    'class Buf:\n    _heap = []\n\n    def take(self, n):\n        return Buf._heap[:n]\n',
    'from abc import ABCMeta, abstractmethod\n\n\nclass Atom(metaclass=ABCMeta):\n    def name(self):\n        return "a"\n\n'
    '    @abstractmethod\n    def resolve(self, env) -> str: ...\n',
]

# Programs that already have lint errors, swept into the first deletion: the shortcut judges the states cut
# below their error lines, and states that keep error lines no deletion can mend (a missing module, a relative
# import, a name nothing binds); `Item` (bound in a class) and `count` (bound later) are errors it must lint.
WITH_ERRORS = [
    'import os\nimport no_such_module_for_lintseq as nm\nfrom .sibling import helper\n\n\ndef f(p):\n'
    '    q = os.path.join(p, "x")\n    if q:\n        r = helper(q)\n    else:\n        r = nm.make(q)\n'
    '    return undefined_thing(r), q\n\n\ndef g(x):\n    y = x * 2\n    return y + missing_total\n',
    'import collections\n\n\nclass Queue:\n    Item = int\n\n    def __init__(self):\n        self.items = collections.deque()\n\n'
    '    def put(self, item: Item) -> None:\n        self.items.append(item)\n\n    def first(self):\n'
    '        return Queue.Item(self.items[0]) + unknown_offset\n',
    'def total(xs):\n    for x in xs:\n        count += x\n    count = 0\n    return count, no_such_name\n\n\n'
    'def mean(xs):\n    s = sum(xs)\n    return s / len(xs)\n',
]


def test_shortcut_verdicts_on_programs_with_errors():
    "With pre-existing errors swept (the corpus runner's default), judged verdicts are still the full check's."
    assert all(FAST.check(p) for p in WITH_ERRORS)
    judged, standing, wrong = _verified(WITH_ERRORS, sweep_errors=True, seeds=range(1, 5))
    assert judged > 50 and standing > 5 and not wrong, wrong[:1]


def test_a_sweep_that_cannot_shrink_fails_loudly():
    "A state linter that blames lines outside the state would loop forever: LintSeq refuses the program instead."
    class Blaming(FastLinter):
        def state_linter(self, lines):
            inner = StructStateLinter(self, lines)

            class Wrong:
                calls = judged = 0

                def errors(self, present, base=None):
                    return {0} if 0 not in present else inner.errors(present, base)

                def parses(self, present):
                    return True
            return Wrong()
    with pytest.raises(ProgramRejected, match="outside the state") as e:
        lintseq("import os\n\n\ndef f():\n    return os.sep\n", n=3, linter=Blaming())
    assert e.value.reason == "linter-bug"  # the corpus runner records it as the program's failure and goes on


# States fast mode accepted on third-party code although pylint rejects them (issue 15), one per message kind:
# (state, pylint message fast mode must report too, its line). Modules named here are the standard library's,
# so the verdicts do not depend on what else is installed.
MISSED = [
    ("import collections\n\nP = collections.OrderedDict(\n)\nQ = P\n", None, 3),  # a call emptied of its argument lines: fast only
    ("import codecs\n\nINFO = codecs.CodecInfo(\n    name='x',\n)\n", "E1120", 3),  # required arguments of an installed class
    ("from json import JSONDecoder, no_such_name\n", "E0611", 1),
    ("import no_such_module_for_lintseq\n", "E0401", 1),
    ("try:\n    import no_such_module_for_lintseq\nexcept ImportError:\n    pass\n", "", 0),  # guarded: no error
    ("from .async_case import IsolatedAsyncioTestCase\n", "E0402", 1),  # docstring text turned into code
    ("with (\n):\n    pass\n", "E1129", 1),
    ("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from decimal import Decimal\n\n\n"
     "def f(x: Decimal) -> str:\n    return str(x)\n", "E0601", 7),
    ("from json import *\n\nX = dumps\nY = no_such_name\n", "E0602", 4),  # undefined behind a star import
    ("def f(a):\n    if a:\n        b = 1\n    return b\n", "E0606", 4),
    ("class V(set):\n    def __len__(self):\n        return len(self._items)\n", "E1101", 3),  # its assignment deleted
    ("from json import JSONDecoder\n\n\nclass D(JSONDecoder):\n    def f(self):\n        return self.no_such_member\n", "E1101", 6),
    ("class A:\n    def f(name):\n        return name\n", "E0213", 2),  # its @staticmethod deleted
    ("class A:\n    def __repr__(self):\n        x = 1\n", "E0306", 2),  # its return deleted
]


def test_missed_kinds_fast_reports_what_pylint_reports():
    pyl = PylintLinter().check_many([s for s, code, _ in MISSED])
    for (state, code, line), theirs in zip(MISSED, pyl):
        ours = FAST.check(state)
        if code is None:  # a deletion artifact pylint may or may not see (the callee's signature decides): fast is strict
            assert [e.code for e in ours] == ["E1120"] and ours[0].line == line, (state, ours)
            continue
        if not code:
            assert not ours and not theirs, (state, ours, theirs)
            continue
        assert (line, code) in {(e.line, e.code) for e in theirs}, ("pylint", state, theirs)
        assert line in {e.line for e in ours}, ("fast", state, ours, theirs)


def test_programs_with_errors_kept_and_first_edit_has_code():
    from tinyhelen.lintseq_corpus import sample_program
    bad = "import os\n\n\ndef f():\n    return undefined_name\n\n\nX = os.sep\n"
    res = sample_program(bad, 3, 1, FAST)
    assert res.preexisting == 1 and len(res.first_deletion) == 3 and min(res.first_deletion) >= 2
    for seq in res.sequences:  # every state clean but the program itself; the first edit brings code
        assert any(ln[1:].strip() for ln in seq[0].split("\n") if ln.startswith("+"))
        state = ""
        for d in seq[:-1]:
            state = apply_diff(state, d)
            assert is_insertion(d) and not FAST.check(state), state
        assert resolve(seq) == bad
    assert sample_program(bad, 3, 1, FAST, "randseq").preexisting == 1  # the same programs for RandSeq
    with pytest.raises(ProgramRejected):
        sample_program(bad, 3, 1, FAST, reject_lint_errors=True)
    with pytest.raises(ProgramRejected):
        sample_program(bad, 3, 1, FAST, "randseq", reject_lint_errors=True)
    spaced = "X = 1\n\n\n\n# note\n\n\nY = 2\n"
    for seq in lintseq(spaced, n=5, seed=3).sequences:
        assert any(ln[1:].strip() for ln in seq[0].split("\n") if ln.startswith("+")), seq[0]


def test_global_never_bound_is_undefined():
    state = "def f(x):\n    global tok\n    if x:\n        return tok.lcut(x)\n    return 1\n"
    assert [(e.line, e.code) for e in PylintLinter().check(state)] == [(4, "E0602")]
    assert [(e.line, e.code) for e in FAST.check(state)] == [(4, "E0602")]
    assert not FAST.check("tok = None\n\n\n" + state)


def test_official_sampler_bench_names_what_it_needs(tmp_path):
    "The side-by-side bench needs a checkout of the paper's repository; a wrong folder is named with what to pass."
    import subprocess
    import sys
    from pathlib import Path
    bench = Path(__file__).resolve().parent.parent / "bench" / "lintseq_official.py"
    r = subprocess.run([sys.executable, str(bench), "--official", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode != 0 and str(tmp_path) in r.stderr and "upiterbarg/lintseq" in r.stderr

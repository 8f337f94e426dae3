"""Fast mode agrees with pylint mode on states of the kinds it used to accept wrongly (issue 15).

Each case is a state LintSeq reached on third-party code (or the same shape on standard-library modules, so the
verdicts do not depend on what else is installed), with the pylint message it must carry. For each, pylint mode
is run on the state and fast mode must report exactly the errors pylint reports (same lines, same message ids).
"""
import pytest

from tinyhelen.linters import FastLinter, PylintLinter
from tinyhelen.lintseq import apply_diff, lintseq

# (message pylint reports, state)
CASES = [
    # E1120: the argument lines of a multi-line call deleted (`objects.Property(\n)`)
    ("E1120", "def prop(name, doc=None):\n    return name, doc\n\n\nP = prop(\n)\n"),
    ("E1120", "class Property:\n    def __init__(self, name):\n        self.name = name\n\n\nP = Property(\n)\n"),
    ("E1120", "import codecs\n\nINFO = codecs.CodecInfo(\n)\n"),
    ("E1120", "from codecs import CodecInfo\n\nINFO = CodecInfo(\n    None,\n)\n"),
    ("E1120", "import logging.handlers\n\nH = logging.handlers.RotatingFileHandler(\n    maxBytes=3,\n)\n"),  # a dotted callee
    ("E1120", "import dataclasses as dc\n\n\n@dc.dataclass(frozen=True)\nclass V:\n    data: dict\n    index: int = 0\n\n\n"
              "X = V(\n    index=1,\n)\n"),  # a dataclass with options
    ("E1120", "class A:\n    def f(self, a, b):\n        return a + b\n\n    def g(self):\n        return self.f(\n            1,\n        )\n"),
    # E1129: the context managers of a parenthesised `with` deleted
    ("E1129", "with (\n):\n    pass\n"),
    ("E1129", "def f():\n    with (\n    ):\n        return 1\n"),
    ("E1129", "def opened(path):\n    yield path\n\n\ndef use():\n    with opened('x') as f:\n        return f\n"),  # @contextmanager gone
    ("E1129", "def opened(path):\n    print(path)\n\n\ndef use():\n    with opened('x'):\n        return 1\n"),  # its return gone
    # E0402: the lines opening and closing a triple-quoted string deleted, its content now code
    ("E0402", "from .async_case import IsolatedAsyncioTestCase\n"),
    ("E0402", "def f():\n    from .case import TestCase\n    return TestCase\n"),
    # E0611: a name the module does not bind (plain, through a package, behind a star import)
    ("E0611", "from json import JSONDecoder, no_such_name\n"),
    ("E0611", "from json.decoder import JSONDecoder, no_such_name\n"),
    ("E0611", "from email.mime import no_such_module\n"),
    ("E0611", "from math import sqrt, no_such_name\n"),  # a builtin module: its names come from importing it
    # E0401: a module that is not installed (top level, inside a function; an installed package's missing submodule)
    ("E0401", "import no_such_module_for_lintseq\n"),
    ("E0401", "def f():\n    from no_such_package_for_lintseq.sub import thing\n    return thing\n"),
    ("E0401", "import json.no_such_submodule\n"),
    ("", "try:\n    import no_such_module_for_lintseq\nexcept ImportError:\n    no_such_module_for_lintseq = None\n"),
    # E0601 / E0602 / E0606: a binding deleted, or only bound for type checkers
    ("E0601", "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from decimal import Decimal\n\n\n"
              "def f(x: Decimal) -> str:\n    return str(x)\n"),
    ("E0601", "print(LIMIT)\nLIMIT = 3\n"),
    ("E0601", "try:\n    import json\nexcept ImportError:\n    json = None\n    X = 1\n\n\ndef f():\n    return X\n"),  # try body's X gone
    ("E0601", "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    from typing import Union\n\n    COMMIT_ID = Union[str, None]\n"
              "commit_id: COMMIT_ID\n"),
    ("E0602", "from json import *\n\nX = dumps\nY = no_such_name\n"),
    ("E0602", "def f(x):\n    return x + offset\n"),
    ("E0606", "def f(a):\n    if a:\n        b = 1\n    return b\n"),
    # E1101: a member deleted or never there (a module's, an installed base class's, a program class's)
    ("E1101", "import json\n\nX = json.no_such_function(1)\n"),
    ("E1101", "import sys\n\nX = sys.pypy_version_info\n"),
    ("E1101", "class V(set):\n    def __len__(self):\n        return len(self._items)\n"),
    ("E1101", "from json import JSONDecoder\n\n\nclass D(JSONDecoder):\n    def f(self):\n        return self.no_such_member\n"),
    ("E1101", "class A:\n    @staticmethod\n    def make():\n        return 1\n\n\nX = A.build()\n"),
    ("E1101", "class A:\n    def names(self):\n        return set()\n\n    def add(self, x):\n        self.names.add(x)\n"),  # @property gone
    ("E1101", "class R:\n    def fields(self):\n        return [getattr(self, a) for a in self.__slots__]\n"),  # __slots__ line gone
    ("E1101", "class EMA:\n    def __init__(self):\n        self.alpha = 1\n\n    def __call__(self, x=None):\n"
              "        if x is not None:\n            self.calls += 1\n"),  # `self.calls = 0` deleted
    # E0307 and kin: a special method's return value emptied to a container (`return (\n)`)
    ("E0307", "class A:\n    def __str__(self):\n        return (\n        )\n"),
    ("E0303", "class A:\n    def __len__(self):\n        return [\n        ]\n"),
    ("E1101", "from typing import NamedTuple\n\n\nclass V(NamedTuple):\n    minor: int\n\n    def f(self):\n"
              "        return self.major, self._fields, self.minor\n"),  # a field's line deleted
    # E1135/E1136/E1137/E1102: an attribute the class only ever sets to None (its other assignment deleted)
    ("E1135", "class F:\n    ttype = None\n\n    def process(self, stream):\n        for t in stream:\n"
              "            if t in self.ttype:\n                yield t\n"),
    ("E1136", "class S:\n    lookup_table = None\n\n    def f(self, key):\n        return self.lookup_table[key]\n"),
    ("E1137", "class S:\n    def __init__(self):\n        self.t = None\n\n    def f(self, key):\n        self.t[key] = 1\n"),
    ("", "class S:\n    t = None\n\n    def __init__(self, t):\n        self.t = t\n\n    def f(self, key):\n        return self.t[key]\n"),
    # E0302: a special method with the wrong number of parameters
    ("E0302", "class A:\n    def __del__(self, name):\n        return name\n"),
    ("E0302", "class A:\n    def __add__(self):\n        return 1\n"),
    # a module pylint sees through an astroid brain: curses' ACS_* constants exist only after initscr()
    ("", "import curses\n\n\ndef f(win):\n    win.addch(1, 1, curses.ACS_VLINE)\n"),
    ("E1101", "import curses\n\n\ndef f(win):\n    win.addch(1, 1, curses.NOT_A_CONSTANT)\n"),
    ("", "from curses import ACS_VLINE\n\nX = ACS_VLINE\n"),  # the same brain member, imported by name (E0611)
    ("E0611", "from curses import NOT_A_CONSTANT\n\nX = NOT_A_CONSTANT\n"),
    # E1130: `-self` once the class's `__neg__` went
    ("E1130", "class D:\n    def __sub__(self, o):\n        return -self + o\n"),
]


@pytest.fixture(scope="module")
def pylint_verdicts():
    return PylintLinter().check_many([s for _, s in CASES])


@pytest.mark.parametrize("k", range(len(CASES)), ids=[f"{c or 'clean'}-{k}" for k, (c, _) in enumerate(CASES)])
def test_fast_reports_what_pylint_reports(k, pylint_verdicts):
    code, state = CASES[k]
    theirs = {(e.line, e.code) for e in pylint_verdicts[k]}
    ours = {(e.line, e.code) for e in FastLinter().check(state)}
    assert (code in {c for _, c in theirs}) if code else not theirs, ("the case is not what pylint says", theirs)
    assert ours == theirs, (state, ours, theirs)


# Programs whose sequences used to pass through such states: every state fast mode emits must be pylint-clean.
PROGRAMS = [
    # a docstring holding import lines: deleting its quote lines must not leave a relative import as code
    '"""Test cases.\n\nfrom .async_case import IsolatedAsyncioTestCase\n"""\nimport os\n\n\n'
    'def where():\n    return os.sep\n',
    # a multi-line call: its argument lines go before the call does
    "class Property:\n    def __init__(self, name, kind):\n        self.name = name\n        self.kind = kind\n\n\n"
    "P = Property(\n    'size',\n    int,\n)\n",
    # decorators that make a generator a context manager and a method a value
    "import contextlib\n\n\n@contextlib.contextmanager\ndef opened(path):\n    yield path\n\n\nclass A:\n"
    "    @property\n    def names(self):\n        return set()\n\n    def add(self, x):\n        with opened(x) as f:\n"
    "            self.names.add(f)\n",
    # a counter: its augmented assignment goes before its first assignment does
    "class EMA:\n    def __init__(self):\n        self.calls = 0\n\n    def __call__(self, x=None):\n"
    "        if x is not None:\n            self.calls += 1\n        return self.calls\n",
    # a parenthesised with: its context managers go before the with does
    "import contextlib\n\n\ndef f():\n    with (\n        contextlib.suppress(ValueError),\n"
    "        contextlib.nullcontext(),\n    ):\n        return 1\n",
]


def test_sequences_of_such_programs_are_pylint_clean():
    states = []
    for prog in PROGRAMS:
        for seq in lintseq(prog, n=12, seed=5, linter=FastLinter()).sequences:
            s = ""
            for d in seq[:-1]:
                s = apply_diff(s, d)
                states.append(s)
    assert len(states) > 3 * 12
    bad = [(s, v) for s, v in zip(states, PylintLinter().check_many(states)) if v]
    assert not bad, bad[:2]

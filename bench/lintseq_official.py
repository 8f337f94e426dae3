"""LintSeq fast mode and pylint mode against the paper's own sampler: same programs, one process, one core.

The official sampler is not shipped here (it is the authors' code): pass a checkout of
https://github.com/upiterbarg/lintseq with --official. It is called as its generation script calls it
(`src/data_gen/generate_with_lintseq.py`: one deletion path per call, indentation-biased line sampling,
comments and ALL-CAPS multi-line constants never sampled, imports sampled, pre-existing errors not ignored),
one call per sequence, pylint run in process on a temporary file for every state. Its module needs Python
3.12's `NamedTemporaryFile(delete_on_close=...)`; on older Pythons that argument is dropped (the file is
deleted when closed either way). Its own pylint version pin (3.2.6) is not installed: it runs on the pylint this
environment has, the one pylint mode uses.

Timings are per program and sequence count, the same programs in each mode, fast and pylint mode warm (after
one untimed pass), the official sampler once (it keeps nothing between calls but pylint's in-process module
cache, warmed by one untimed program). Sequences differ between samplers (their random streams differ); the
work per sequence is what is compared.

Usage: python bench/lintseq_official.py --official ~/src/lintseq [--part held-out-3] [--programs 40] [--seqs 1]
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import platform
import random
import sys
import tempfile
import time
import types
from pathlib import Path

from tinyhelen.linters import FastLinter, PylintLinter
from tinyhelen.tracking import git_state

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lintseq_ab  # noqa: E402
from lintseq_heldout import PARTS, timed  # noqa: E402

# the keyword arguments of the official generation script's call
OFFICIAL_SETTINGS = dict(children_per_round=1, top_k=1, max_population_size=1, max_depth=512,
                         indent_bias_sampling_factor=1, ignore_imports=False, ignore_comments=True,
                         ignore_global_defs=True, verbose=False, ignore_init_errors=False)


def load_official(checkout: Path):
    "The official backward sampler from a checkout of the LintSeq repository."
    src = checkout / "src"
    if not (src / "data_gen" / "lintseq.py").is_file():
        sys.exit(f"--official {checkout}: no src/data_gen/lintseq.py there; pass a checkout of "
                 "https://github.com/upiterbarg/lintseq")
    sys.path.insert(0, str(src))
    with contextlib.chdir(checkout):  # it finds its `src` from the working directory's path
        mod = importlib.import_module("data_gen.lintseq")
    if sys.version_info < (3, 12):
        mod.tempfile = types.SimpleNamespace(NamedTemporaryFile=_named_temporary_file)
    return mod.lintseq_backward_sampling_pythonic


def _named_temporary_file(*args, delete_on_close=None, **kw):
    return tempfile.NamedTemporaryFile(*args, **kw)


def run_official(sampler, progs: list[str], seqs: int, seed: int) -> tuple[float, int]:
    "Seconds for `seqs` official sequences of each program, and how many calls raised or returned nothing."
    failed = 0
    rng_state = random.getstate()
    random.seed(seed)
    np = importlib.import_module("numpy")
    np.random.seed(seed)
    t = time.perf_counter()
    for p in progs:
        for _ in range(seqs):
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    out = sampler(p, **OFFICIAL_SETTINGS)
            except Exception:  # the generation script skips such a program the same way
                out = None
            failed += out is None
    elapsed = time.perf_counter() - t
    random.setstate(rng_state)
    return elapsed, failed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--official", type=Path, required=True, help="a checkout of github.com/upiterbarg/lintseq")
    ap.add_argument("--part", default="held-out-3", choices=("embedded",) + PARTS,
                    help="programs: the embedded sample or a part of bench/lintseq_heldout.py's corpus (fetched)")
    ap.add_argument("--programs", type=int, default=40, help="the first N programs of the part")
    ap.add_argument("--seqs", type=int, default=1, help="sequences per program")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="rounds of fast and pylint mode (fastest counts)")
    a = ap.parse_args(argv)
    sampler = load_official(a.official.expanduser())
    progs = (lintseq_ab.programs(a.programs) if a.part == "embedded"
             else lintseq_ab.part_programs(a.part, None, a.programs))
    fast, pyl = FastLinter(), PylintLinter()
    run_official(sampler, progs[:1], 1, a.seed)  # pylint's first run loads its plugins and astroid's builtins
    timed(progs, fast, a.seqs, a.seed)
    timed(progs[:1], pyl, a.seqs, a.seed)
    t_fast = t_pyl = float("inf")
    for _ in range(a.repeat):
        t_fast = min(t_fast, timed(progs, fast, a.seqs, a.seed))
        t_pyl = min(t_pyl, timed(progs, pyl, a.seqs, a.seed))
    t_off, failed = run_official(sampler, progs, a.seqs, a.seed)
    code = git_state(Path(__file__).parent)
    n = len(progs)
    print(f"## LintSeq samplers side by side: part `{a.part}`, {n} programs, {a.seqs} sequence(s) each "
          f"(commit {code['commit'][:7]}{'+changes' if code['dirty'] else ''}; python {platform.python_version()}, "
          f"load avg after {os.getloadavg()[0]:.2f})\n")
    print("| sampler | seconds | programs/s | official / this |")
    print("|---|---|---|---|")
    for name, t in [("official (pylint per state, in process)", t_off), ("tinyhelen pylint mode", t_pyl),
                    ("tinyhelen fast mode, warm", t_fast)]:
        print(f"| {name} | {t:.2f} | {n / t:.2f} | **{t_off / t:.0f}x** |")
    print(f"\nfast / pylint mode: {t_pyl / t_fast:.0f}x. Official calls that raised or returned no path: {failed} "
          f"of {n * a.seqs}.")


if __name__ == "__main__":
    main()

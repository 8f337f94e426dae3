"""What compiling fast mode's Python buys: the same LintSeq code run as pure Python and compiled by Cython.

Usage: python bench/lintseq_compiled.py [--speed-programs 40] [--repeat 3] [--build-dir DIR]

Needs Cython and a C compiler (`pip install cython`); tinyhelen itself does not use Cython. The script copies
tinyhelen and the installed pyflakes into a build folder and compiles, unchanged, the modules fast mode runs in
(LintSeq and its fast back-end: `tinyhelen/{lintbase,lintseq,fastlint,parity,definitions,flowcheck,statemodel}.py`, and `pyflakes/checker.py`) with `cythonize` (no type declarations,
no directives: the plain Python source). Then worker processes, one per tree, alternate: each pass times fast
mode over the speed sample of `bench/lintseq_speed.py` (the same programs, 5 sequences each, fastest pass
counts) and over all lint-clean programs; the first pure pass also times pylint mode, the goal's baseline, as
bench/lintseq_speed.py does (fastest of --repeat passes in one process). The
compiled tree must give byte-identical sequences (digest compared), else the script fails.
Prints a Markdown block for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the hot path since the LintSeq split (commit 90e77ff): the algorithm and every fast-mode module
COMPILED = tuple(f"tinyhelen/{m}.py" for m in ("lintbase", "lintseq", "fastlint", "parity", "definitions", "flowcheck",
                                             "statemodel")) + ("pyflakes/checker.py",)


def _pyflakes_dir() -> Path:
    import pyflakes
    return Path(pyflakes.__file__).parent


def build(where: Path) -> Path:
    "A copy of tinyhelen + pyflakes under `where` with the COMPILED modules built in place (reused if the sources match)."
    sources = [ROOT / "tinyhelen", _pyflakes_dir()]
    h = hashlib.sha256()
    for d in sources:
        for f in sorted(d.rglob("*.py")):
            h.update(f.read_bytes())
    tree = where / h.hexdigest()[:16]
    if (tree / "built").exists():
        return tree
    try:
        import Cython
    except ImportError:
        sys.exit("bench/lintseq_compiled.py needs Cython and a C compiler: pip install cython")
    shutil.rmtree(tree, ignore_errors=True)
    for d in sources:
        shutil.copytree(d, tree / d.name, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c"))
    print(f"compiling {', '.join(COMPILED)} with Cython {Cython.__version__} into {tree} ...", file=sys.stderr)
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "Cython.Build.Cythonize", "-i", "-3", "-j", str(os.cpu_count() or 1),
                        *COMPILED], cwd=tree, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"cythonize failed ({r.returncode}):\n{r.stderr[-3000:]}")
    (tree / "built").write_text(f"{time.perf_counter() - t:.0f} s\n")
    return tree


def worker(n: int, seqs: int, seed: int, pylint_passes: int) -> dict:
    "One timed pass in this process (its tinyhelen is whichever PYTHONPATH gave it): the measurements as a dict."
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import random

    import lintseq_speed as S
    import tinyhelen.linters as L
    from tinyhelen.linters import FastLinter

    allp = S.programs()
    clean, sample = S.speed_sample(allp, n, random.Random(seed), FastLinter())
    out = {"compiled": L.__file__.endswith(".so"), "n_sample": len(sample), "n_clean": len(clean)}
    dt, res = S.run("fast", sample, seqs, seed)
    out["fast"] = len(sample) / dt
    big = [p for _, p in clean]
    dt_all, res_all = S.run("fast", big, seqs, seed)
    out["fast_all"] = len(big) / dt_all
    out["digest"] = hashlib.sha256(json.dumps([r[0] for r in res + res_all]).encode()).hexdigest()
    if pylint_passes:  # several in one process, as bench/lintseq_speed.py times it: astroid's caches warm up
        out["pylint"] = max(len(sample) / S.run("pylint", sample, seqs, seed)[0] for _ in range(pylint_passes))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--speed-programs", type=int, default=40)
    ap.add_argument("--seqs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="alternating passes per tree; the fastest counts")
    ap.add_argument("--build-dir", type=Path, default=Path(tempfile.gettempdir()) / "tinyhelen-cython",
                    help="where the compiled copy is built (reused while the sources are unchanged)")
    ap.add_argument("--worker", choices=("pure", "compiled"), help=argparse.SUPPRESS)
    ap.add_argument("--pylint-passes", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a.speed_programs, a.seqs, a.seed, a.pylint_passes)))
        return
    tree = build(a.build_dir)
    load = os.getloadavg()
    paths = {"pure": str(ROOT), "compiled": str(tree)}
    best: dict[str, dict] = {}
    for i in range(a.repeat):
        for kind in ("pure", "compiled"):
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([paths[kind], os.environ.get("PYTHONPATH", "")]))
            cmd = [sys.executable, __file__, "--worker", kind, "--speed-programs", str(a.speed_programs),
                   "--seqs", str(a.seqs), "--seed", str(a.seed),
                   "--pylint-passes", str(a.repeat if kind == "pure" and i == 0 else 0)]
            r = subprocess.run(cmd, env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True)
            if r.returncode:
                sys.exit(f"{kind} worker failed:\n{r.stderr[-3000:]}")
            m = json.loads(r.stdout.strip().splitlines()[-1])
            if m["compiled"] != (kind == "compiled"):
                sys.exit(f"the {kind} worker imported {'compiled' if m['compiled'] else 'pure'} tinyhelen.linters")
            b = best.setdefault(kind, m)
            for k in ("fast", "fast_all", "pylint"):
                if k in m:
                    b[k] = max(b[k], m[k])
            if m["digest"] != best["pure"]["digest"]:
                sys.exit(f"the {kind} tree's sequences differ from the pure tree's: compiled code changed behaviour")
    p, c = best["pure"], best["compiled"]
    print(f"## LintSeq fast mode compiled (python {platform.python_version()}, {os.cpu_count()} cpus, "
          f"load avg before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after {os.getloadavg()[0]:.2f})\n")
    print(f"Same sequences in both trees (digest of {p['n_sample'] + p['n_clean']} programs' sequences). "
          f"Speed sample {p['n_sample']} programs, {a.seqs} sequences each; fastest of {a.repeat} alternating passes.\n")
    print("| tree | fast, sample (programs/s per core) | fast, all {n} programs | x pylint mode ({pl:.2f} programs/s) |"
          .format(n=p["n_clean"], pl=p["pylint"]))
    print("|---|---|---|---|")
    for name, m in (("pure Python", p), ("Cython-compiled", c)):
        print(f"| {name} | {m['fast']:.1f} | {m['fast_all']:.1f} | **{m['fast'] / p['pylint']:.0f}x** |")
    print(f"\nCompiled / pure: {c['fast'] / p['fast']:.2f}x on the sample, {c['fast_all'] / p['fast_all']:.2f}x on all programs "
          f"(goal: 150x pylint mode).")


if __name__ == "__main__":
    main()

"""LintSeq fast mode on code it was not developed on: agreement with pylint on a held-out corpus, and speed.

Usage: python bench/lintseq_heldout.py [--part held-out] [--programs 200] [--seqs 1] [--speed-programs 30] [--seed 1]
       python bench/lintseq_heldout.py --write-split      (re-derive bench/lintseq_split.json from the installed packages)

The corpus: functions, classes (with their methods and decorators) and whole small modules mined from the
packages installed beside tinyhelen (this interpreter's site-packages), each function or class with the module
imports it uses (relative imports and imports of missing packages included). Packages are split by name into a
`dev` part (the fast linter's rules were fixed by looking at it only) and a `held-out` part (only reported);
`bench/lintseq_split.json` lists both and the mining settings, so the same installed packages give the same
programs (seeded per package). A package installed later and not in the split is left out.

1. Agreement: every intermediate state of fast mode's sequences (the corpus runner's default: programs with lint
   errors kept, their error lines swept into the first deletion) is checked by pylint with the paper's error
   definition (batches of 100 files per pylint run); the share it accepts is printed for the programs pylint
   accepts as they are and for all programs, with the rejected states by pylint message.
2. Speed: fast mode and pylint mode on the same --speed-programs programs of the part, one process, the same run
   (fast mode with its module caches cold and warm; pylint mode after a warm-up program).
"""
from __future__ import annotations

import argparse
import ast
import collections
import hashlib
import json
import os
import platform
import random
import sysconfig
import time
from pathlib import Path

from tinyhelen.linters import FastLinter, PylintLinter
from tinyhelen.lintseq import ProgramRejected, apply_diff, lintseq, normalize, reindent

SPLIT = Path(__file__).with_name("lintseq_split.json")
# the linters themselves and the packaging tools are not sampled (pylint mode imports the first two anyway)
EXCLUDED = {"tinyhelen", "pylint", "astroid", "pyflakes", "pip", "setuptools", "_distutils_hack", "__pycache__"}


def installed_packages(root: Path) -> dict[str, list[Path]]:
    "Top-level importable packages and modules under `root` -> their .py files (sorted)."
    out = {}
    for p in sorted(root.iterdir()):
        if p.name in EXCLUDED or p.name.endswith((".dist-info", ".data", ".libs", ".pth")):
            continue
        if p.is_dir() and (p / "__init__.py").exists():
            out[p.name] = sorted(p.rglob("*.py"))
        elif p.suffix == ".py" and not p.name.startswith("_") and p.stem not in EXCLUDED:
            out[p.stem] = [p]
    return out


def part_of(name: str) -> str:
    "The split rule: the first byte of the name's SHA-256, odd -> held-out."
    return "held-out" if hashlib.sha256(name.encode()).digest()[0] % 2 else "dev"


def units(path: Path, rng: random.Random, per_file: int, max_lines: int) -> list[tuple[str, str]]:
    "(kind, program): the module itself if short, and up to `per_file` top-level functions/classes with the imports they use."
    try:
        src = path.read_text(encoding="utf-8")
        tree = ast.parse(src)
    except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
        return []
    lines = src.splitlines()
    imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    out = [("module", src)] if 5 <= len(lines) <= max_lines else []
    defs = [s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    rng.shuffle(defs)
    for d in defs:
        first = min([d.lineno] + [x.lineno for x in d.decorator_list])
        if not 3 <= d.end_lineno - first + 1 <= max_lines:
            continue
        used = {x.id for x in ast.walk(d) if isinstance(x, ast.Name)}
        head = ["\n".join(lines[s.lineno - 1:s.end_lineno]) for s in imports
                if any((a.asname or a.name).split(".")[0] in used for a in s.names)]
        body = "\n".join(lines[first - 1:d.end_lineno])
        out.append(("class" if isinstance(d, ast.ClassDef) else "function", ("\n".join(head) + "\n\n\n" if head else "") + body + "\n"))
        if len(out) >= per_file:
            break
    return out


def build(part: str, split: dict) -> list[dict]:
    "The programs of one part, re-indented as the corpus runner does: dicts with package, kind, file, program."
    root = Path(sysconfig.get_paths()["purelib"])
    pk, cfg, out = installed_packages(root), split["mining"], []
    for name in split[part]:
        if name not in pk:
            continue
        rng = random.Random(f"{split['seed']}:{name}")
        files = list(pk[name])
        rng.shuffle(files)
        got = [dict(package=name, kind=k, file=str(f.relative_to(root)), program=reindent(p))
               for f in files[:cfg["files_per_package"]] for k, p in units(f, rng, cfg["units_per_file"], cfg["max_lines"])]
        rng.shuffle(got)
        out += got[:cfg["units_per_package"]]
    return out


def write_split():
    pk = installed_packages(Path(sysconfig.get_paths()["purelib"]))
    split = {"rule": "held-out if the first byte of sha256(package name) is odd", "seed": 15,
             "mining": {"files_per_package": 12, "units_per_file": 3, "units_per_package": 24, "max_lines": 60},
             "dev": sorted(n for n in pk if part_of(n) == "dev"), "held-out": sorted(n for n in pk if part_of(n) == "held-out")}
    SPLIT.write_text(json.dumps(split, indent=1) + "\n")
    print(f"wrote {SPLIT}: {len(split['dev'])} dev and {len(split['held-out'])} held-out packages")


def states_of(seqs: list[list[str]]) -> list[str]:
    "The intermediate programs of each sequence: after every edit but the last (the program itself)."
    out = []
    for seq in seqs:
        s = ""
        for d in seq[:-1]:
            s = apply_diff(s, d)
            out.append(s)
    return out


def sample_all(progs: list[str], linter, n: int, seed: int):
    "LintSeq over `progs` as the corpus runner samples (programs with lint errors kept): results or refusal reasons."
    out = []
    for p in progs:
        try:
            out.append(lintseq(p, n=n, seed=seed, linter=linter, check_clean=True, sweep_errors=True))
        except (ProgramRejected, RecursionError) as e:
            out.append(getattr(e, "reason", "recursion"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", default="held-out", choices=["dev", "held-out"])
    ap.add_argument("--programs", type=int, default=200, help="programs of the part for agreement (0 = all)")
    ap.add_argument("--seqs", type=int, default=1, help="sequences per program")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--speed-programs", type=int, default=30, help="programs timed in both modes (0: no speed part)")
    ap.add_argument("--show", type=int, default=0, help="print this many rejected states")
    ap.add_argument("--write-split", action="store_true")
    a = ap.parse_args()
    if a.write_split:
        return write_split()
    load = os.getloadavg()
    split = json.loads(SPLIT.read_text())
    t = time.perf_counter()
    corpus = build(a.part, split)
    t_build = time.perf_counter() - t
    rng = random.Random(a.seed)
    chosen = rng.sample(corpus, min(a.programs, len(corpus))) if a.programs else corpus
    progs = [c["program"] for c in chosen]
    fast, pyl = FastLinter(), PylintLinter()

    t = time.perf_counter()
    res = sample_all(progs, fast, a.seqs, a.seed)
    t_fast = time.perf_counter() - t
    kept = [r for r in res if not isinstance(r, str)]
    states, owner = [], []
    for k, r in enumerate(res):
        if not isinstance(r, str):
            st = states_of(r.sequences)
            states += st
            owner += [k] * len(st)
    t = time.perf_counter()
    todo = sorted(set(states) | {normalize(p) for p in progs})
    verdict = {}
    for i in range(0, len(todo), 100):
        verdict.update(zip(todo[i:i + 100], pyl.check_many(todo[i:i + 100])))
    t_pyl = time.perf_counter() - t
    clean = {k for k, p in enumerate(progs) if not verdict[normalize(p)]}
    swept = [r for r in kept if r.preexisting]

    print(f"## LintSeq fast mode on held-out code (python {platform.python_version()}, {os.cpu_count()} cpus, "
          f"load avg before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after {os.getloadavg()[0]:.2f})\n")
    kinds = collections.Counter(c["kind"] for c in chosen)
    print(f"Corpus part `{a.part}`: {len(corpus)} programs from {len({c['package'] for c in corpus})} packages "
          f"(built in {t_build:.1f} s); sample of {len(chosen)} (seed {a.seed}): {dict(kinds)}; {a.seqs} sequence(s) "
          f"each; fast mode took {t_fast:.1f} s, pylint's check of {len(todo)} distinct texts {t_pyl:.1f} s.\n")
    refused = collections.Counter(r for r in res if isinstance(r, str))
    print(f"Programs: {len(clean)} pylint-clean as they are; fast mode sampled {len(kept)}, refused {dict(refused) or 'none'}; "
          f"kept with lint errors (fast mode's verdict): {len(swept)}, their first deletion removed "
          f"{sum(sum(r.first_deletion) for r in swept) / max(1, sum(len(r.first_deletion) for r in swept)):.1f} lines on average.\n")
    print("| programs | programs sampled | intermediate states | accepted by pylint |")
    print("|---|---|---|---|")
    for name, sel in (("pylint-clean", clean), ("all", set(range(len(progs))))):
        st = [s for s, o in zip(states, owner) if o in sel]
        bad = sum(bool(verdict[s]) for s in st)
        n_prog = sum(1 for k in sel if not isinstance(res[k], str))
        print(f"| {name} | {n_prog} | {len(st)} | **{100 * (1 - bad / max(1, len(st))):.2f}%** ({bad} rejected) |")
    rejected = sorted({s for s in states if verdict[s]})
    by_code = collections.Counter(e.code for s in rejected for e in verdict[s])
    print("\nPylint messages on the rejected distinct states (held-out disagreements):",
          ", ".join(f"{k} {v}" for k, v in by_code.most_common()) or "none")
    for s in rejected[:a.show]:
        print("-----\n" + s + ">>> " + str(verdict[s]))

    if a.speed_programs:
        sp = progs[:a.speed_programs]
        fresh = FastLinter()
        from tinyhelen import definitions as linters  # the installed-module caches
        for cache in (linters._MODULES, linters._MODULE_NAMES, linters._TREES, linters._CLASS_MEMBERS, linters._CALLABLES, linters._EXPORTS):
            cache.clear()  # fast mode with nothing read yet from the installed modules
        t = time.perf_counter()
        sample_all(sp, fresh, a.seqs, a.seed)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        sample_all(sp, fresh, a.seqs, a.seed)
        warm = time.perf_counter() - t
        sample_all(sp[:1], pyl, a.seqs, a.seed)  # warm-up
        t = time.perf_counter()
        sample_all(sp, pyl, a.seqs, a.seed)
        slow = time.perf_counter() - t
        print(f"\nSpeed on {len(sp)} programs of the sample, {a.seqs} sequence(s) each, one process: fast mode "
              f"{len(sp) / cold:.1f} programs/s with its module caches cold, {len(sp) / warm:.1f} warm; pylint mode "
              f"{len(sp) / slow:.2f} programs/s. Fast / pylint: **{slow / cold:.0f}x** cold, **{slow / warm:.0f}x** warm.")


if __name__ == "__main__":
    main()

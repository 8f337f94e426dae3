"""LintSeq fast mode on code it was not developed on: agreement with pylint on a held-out corpus, and speed.

Usage: python bench/lintseq_heldout.py [--part held-out-3] [--programs 0] [--seqs 1] [--speed-programs 200] [--seed 1]
       python bench/lintseq_heldout.py --part held-out-3 --fetch   (download and unpack a PyPI part's packages, once)
       python bench/lintseq_heldout.py --write-split      (re-derive the dev/held-out lists from the installed packages)

The corpus: functions, classes (with their methods and decorators) and whole small modules mined from Python
packages, each function or class with the module imports it uses (relative imports and imports of missing
packages included). The parts, listed in `bench/lintseq_split.json` with the mining settings (seeded per package)
and, under "tuned_on", the parts whose failures have been inspected to write fast mode's rules:
- `dev` and `held-out`: the packages installed beside tinyhelen (this interpreter's site-packages), split by name.
  Both are tuned on: `dev` from the start, `held-out` since issue 15's second round.
- `held-out-2`, `held-out-3`, `held-out-4`: pure-Python packages NOT installed here, pinned wheels from PyPI
  (`--fetch` unpacks their `.py` files into --root, outside the repository), no package in two parts.
  `held-out-2` was reported once and then tuned on (third round); `held-out-3` and `held-out-4` (added in the
  fourth round, after held-out-3 had been reported) were never inspected. Their imports of each other are
  imports of missing packages (E0401), as in the wild.
A package installed later and not in the split is left out.

1. Agreement: every intermediate state of fast mode's sequences (the corpus runner's default: programs with lint
   errors kept, their error lines swept into the first deletion) is checked by pylint with the paper's error
   definition (batches of 100 files per pylint run); the share it accepts is printed for the programs pylint
   accepts as they are and for all programs, with the rejected states by pylint message.
2. Speed: fast mode and pylint mode on the same --speed-programs programs of the part, one process, the same run
   (fast mode cold: nothing read of the installed modules, empty on-disk cache; as a new process finds it:
   on-disk cache filled; warm. pylint mode after a warm-up program); fastest of --repeat interleaved rounds.
   Warm fast mode and pylint mode are reported for the pylint-clean programs, those with pylint errors, and all.
Between the two: whole programs judged both ways, and the states fast mode found errors in while sampling that
pylint accepts (fast mode stricter: a different sequence, not an invalid state).
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
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

from tinyhelen.definitions import clear_module_caches
from tinyhelen.fastlint import StructStateLinter
from tinyhelen.lintbase import render
from tinyhelen.linters import FastLinter, PylintLinter
from tinyhelen.lintseq import ProgramRejected, apply_diff, lintseq, normalize, reindent
from tinyhelen.modcache import use_module_cache
from tinyhelen.tracking import git_state

SPLIT = Path(__file__).with_name("lintseq_split.json")
PARTS = ("dev", "held-out", "held-out-2", "held-out-3", "held-out-4")
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


def default_root(part: str) -> Path:
    "Where `--fetch` unpacks a PyPI part's packages: the user's cache folder, outside any repository."
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tinyhelen" / f"lintseq-{part}"


def fetch(split: dict, part: str, root: Path):
    "Download a PyPI part's pinned wheels (no dependencies) and unpack their `.py` files (no metadata, no binaries)."
    if not isinstance(split[part], dict):
        raise SystemExit(f"part {part!r} is the installed packages: nothing to fetch")
    wheels = split[part]["wheels"]
    with tempfile.TemporaryDirectory() as dl:
        pins = ["==".join(w.split("-")[:2]) for w in wheels]
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", dl] + pins, check=True)
        root.mkdir(parents=True, exist_ok=True)
        for w in wheels:
            with zipfile.ZipFile(Path(dl) / w) as z:
                z.extractall(root, [m for m in z.namelist() if m.endswith(".py") and ".dist-info/" not in m
                                    and ".data/" not in m])
    print(f"unpacked {len(wheels)} wheels into {root}")


def packages_of(split: dict, part: str) -> list[str]:
    return split[part]["packages"] if isinstance(split[part], dict) else split[part]


def build(part: str, split: dict, root: Path | None = None) -> list[dict]:
    "The programs of one part, re-indented as the corpus runner does: dicts with package, kind, file, program."
    if isinstance(split[part], dict):  # a PyPI part: unpacked by --fetch
        root = root or default_root(part)
        if not root.is_dir():
            raise SystemExit(f"{root}: no such folder; run `python bench/lintseq_heldout.py --part {part} --fetch` "
                             "first (or pass --root)")
    else:
        root = Path(sysconfig.get_paths()["purelib"])
    pk, cfg, out = installed_packages(root), split["mining"], []
    for name in packages_of(split, part):
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
    "Re-derive the dev/held-out lists from the installed packages (the rest of the split file is kept)."
    pk = installed_packages(Path(sysconfig.get_paths()["purelib"]))
    split = json.loads(SPLIT.read_text()) if SPLIT.exists() else {}
    split.update({"rule": "held-out if the first byte of sha256(package name) is odd", "seed": 15,
                  "mining": {"files_per_package": 12, "units_per_file": 3, "units_per_package": 24, "max_lines": 60},
                  "dev": sorted(n for n in pk if part_of(n) == "dev"),
                  "held-out": sorted(n for n in pk if part_of(n) == "held-out")})
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


def check_with_pylint(texts, pyl) -> dict:
    "pylint's verdict on each distinct text, 100 files a pylint run."
    todo, verdict = sorted(set(texts)), {}
    for i in range(0, len(todo), 100):
        verdict.update(zip(todo[i:i + 100], pyl.check_many(todo[i:i + 100])))
    return verdict


def agreement(progs: list[str], res: list, verdict: dict):
    "The table of states pylint accepts and the pylint messages on the rejected ones, for pylint-clean and all programs."
    states, owner = [], []
    for k, r in enumerate(res):
        if not isinstance(r, str):
            st = states_of(r.sequences)
            states += st
            owner += [k] * len(st)
    clean = {k for k, p in enumerate(progs) if not verdict[normalize(p)]}
    sets = (("pylint-clean", clean), ("all", set(range(len(progs)))))
    print("| programs | programs sampled | intermediate states | accepted by pylint |")
    print("|---|---|---|---|")
    codes = {}
    for name, sel in sets:
        st = [s for s, o in zip(states, owner) if o in sel]
        bad = [s for s in st if verdict[s]]
        n_prog = sum(1 for k in sel if not isinstance(res[k], str))
        print(f"| {name} | {n_prog} | {len(st)} | **{100 * (1 - len(bad) / max(1, len(st))):.2f}%** ({len(bad)} rejected) |")
        codes[name] = collections.Counter(e.code for s in bad for e in {x.code: x for x in verdict[s]}.values())
    print("\nDisagreements by pylint message (intermediate states fast mode emitted that pylint rejects, a state counted "
          "once per message it carries):\n")
    print("| message | " + " | ".join(f"{n} programs" for n, _ in sets) + " |")
    print("|---|" + "---|" * len(sets))
    for code in sorted(set().union(*codes.values())):
        print(f"| {code} | " + " | ".join(str(codes[n][code]) for n, _ in sets) + " |")
    if not any(codes.values()):
        print("| none | " + " | ".join("0" for _ in sets) + " |")
    return sorted({s for s in states if verdict[s]})


def program_agreement(progs: list[str], res: list, verdict: dict, fast) -> None:
    """Whole programs judged by both linters, both ways. The state table above only sees states fast mode emitted;
    a program fast mode finds errors in that pylint does not (stricter) gets a sweep the paper's sampler would not
    make, and one whose pylint-only errors fast mode misses (more lenient) is sampled as if clean."""
    stricter, lenient = collections.Counter(), collections.Counter()
    n_strict = n_lenient = 0
    for p, r in zip(progs, res):
        if isinstance(r, str):
            continue
        theirs = verdict[normalize(p)]
        if r.preexisting and not theirs:
            n_strict += 1
            stricter.update({e.code for e in fast.check(normalize(p))})
        elif not r.preexisting and theirs:
            n_lenient += 1
            lenient.update({e.code for e in theirs})
    kept = sum(not isinstance(r, str) for r in res)
    print(f"\nWhole programs, fast mode vs pylint (of {kept} sampled): fast mode finds errors pylint does not in "
          f"**{n_strict}** ({dict(stricter.most_common()) or 'none'}); pylint finds errors fast mode does not in "
          f"**{n_lenient}** ({dict(lenient.most_common()) or 'none'}).\n")


def rejected_states(progs: list[str], seqs: int, seed: int) -> list[str]:
    "The states (not the programs themselves) fast mode found lint errors in while sampling `progs`, judged or linted."
    out = []

    class Recording(StructStateLinter):
        def errors(self, present, base=None):
            bad = super().errors(present, base)
            if bad and len(present) < len(self.lines):
                out.append(render(self.lines, present))
            return bad

    class Linter(FastLinter):
        def state_linter(self, lines):
            return Recording(self, lines)
    sample_all(progs, Linter(), seqs, seed)
    return sorted(set(out))


def strict_side(progs: list[str], seqs: int, seed: int, pyl, fast) -> None:
    """States fast mode rejects that pylint accepts: the sampler then deletes lines the paper's would keep (a
    different sequence, not an invalid state). Each distinct rejected state is checked by pylint."""
    states = rejected_states(progs, seqs, seed)
    verdict = check_with_pylint(states, pyl)
    ours = {s: {e.code for e in fast.check(s)} for s in states}
    accepted = [s for s in states if not verdict[s]]
    syntax = sum("E0001" in ours[s] for s in states)
    why = collections.Counter(c for s in accepted for c in ours[s])
    print(f"\nIntermediate states, the other direction: fast mode found errors in {len(states)} distinct states while "
          f"sampling ({syntax} of them syntax errors); pylint accepts **{len(accepted)}** of them "
          f"(**{100 * len(accepted) / max(1, len(states)):.2f}%**; fast mode's messages on those: "
          f"{dict(why.most_common()) or 'none'}).\n")


def timed(progs, linter, seqs, seed) -> float:
    t = time.perf_counter()
    sample_all(progs, linter, seqs, seed)
    return time.perf_counter() - t


def speed(groups: dict[str, list[str]], pyl, seqs: int, seed: int, repeat: int):
    """Fast mode with nothing read yet from the installed modules (in memory, and an empty on-disk cache), then
    as a new process on this machine finds it (on-disk cache filled), then warm; pylint mode after a warm-up.
    Warm fast mode and pylint mode are timed per group of programs (pylint-clean, with pylint errors), and all
    programs' time is the groups' added. `repeat` interleaved rounds; the fastest of each timing counts (the
    shared machine's load drifts)."""
    progs = [p for g in groups.values() for p in g]
    fast, best = FastLinter(), collections.defaultdict(lambda: float("inf"))
    timed(progs[:1], pyl, seqs, seed)
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as d:
            use_module_cache(d)
            clear_module_caches()
            best["cold"] = min(best["cold"], timed(progs, fast, seqs, seed))
            clear_module_caches()
            best["disk"] = min(best["disk"], timed(progs, fast, seqs, seed))
            for name, g in groups.items():
                best["warm", name] = min(best["warm", name], timed(g, fast, seqs, seed))
            use_module_cache(None)
        for name, g in groups.items():
            best["pylint", name] = min(best["pylint", name], timed(g, pyl, seqs, seed))
    for mode in ("warm", "pylint"):
        best[mode, "all"] = sum(best[mode, name] for name in groups)
    n = len(progs)
    print(f"\nSpeed on {n} programs of the sample, {seqs} sequence(s) each, one process, fastest of {repeat} interleaved "
          f"rounds (load avg {os.getloadavg()[0]:.2f} after). All programs: fast mode {n / best['cold']:.1f} programs/s "
          f"cold (empty module caches, in memory and on disk), {n / best['disk']:.1f} with the on-disk cache filled (a new "
          f"process); fast / pylint mode **{best['pylint', 'all'] / best['cold']:.0f}x** cold, "
          f"**{best['pylint', 'all'] / best['disk']:.0f}x** on-disk cache. Warm, per group (pylint's verdict on the "
          f"program as it is):\n")
    print("| programs | programs timed | fast mode, warm (programs/s) | pylint mode (programs/s) | fast / pylint |")
    print("|---|---|---|---|---|")
    for name, k in [(name, len(g)) for name, g in groups.items()] + [("all", n)]:
        print(f"| {name} | {k} | {k / best['warm', name]:.1f} | {k / best['pylint', name]:.2f} | "
              f"**{best['pylint', name] / best['warm', name]:.0f}x** |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", default="held-out-3", choices=PARTS)
    ap.add_argument("--root", type=Path, help=f"where a PyPI part's packages are unpacked (default {default_root('<part>')})")
    ap.add_argument("--programs", type=int, default=0, help="programs of the part for agreement (0 = all)")
    ap.add_argument("--seqs", type=int, default=1, help="sequences per program")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--speed-programs", type=int, default=200, help="programs timed in both modes (0: no speed part)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved timing rounds; the fastest of each mode counts")
    ap.add_argument("--show", type=int, default=0, help="print this many rejected states")
    ap.add_argument("--fetch", action="store_true", help="download and unpack the --part packages (a PyPI part)")
    ap.add_argument("--write-split", action="store_true")
    a = ap.parse_args()
    split = json.loads(SPLIT.read_text())
    if a.write_split:
        return write_split()
    if a.fetch:
        return fetch(split, a.part, a.root or default_root(a.part))
    load = os.getloadavg()
    t = time.perf_counter()
    corpus = build(a.part, split, a.root)
    t_build = time.perf_counter() - t
    rng = random.Random(a.seed)
    chosen = rng.sample(corpus, min(a.programs, len(corpus))) if a.programs else corpus
    progs = [c["program"] for c in chosen]
    fast, pyl = FastLinter(), PylintLinter()
    t = time.perf_counter()
    res = sample_all(progs, fast, a.seqs, a.seed)
    t_fast = time.perf_counter() - t
    t = time.perf_counter()
    texts = [s for r in res if not isinstance(r, str) for s in states_of(r.sequences)] + [normalize(p) for p in progs]
    verdict = check_with_pylint(texts, pyl)
    t_pyl = time.perf_counter() - t
    kept = [r for r in res if not isinstance(r, str)]
    swept = [r for r in kept if r.preexisting]
    tuned = "TUNED ON (development data)" if a.part in split["tuned_on"] else "never tuned on"
    code = git_state(Path(__file__).parent)
    print(f"## LintSeq fast mode on part `{a.part}` ({tuned}; commit {code['commit'][:7]}{'+changes' if code['dirty'] else ''}; "
          f"python {platform.python_version()}, {os.cpu_count()} cpus, "
          f"load avg before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after {os.getloadavg()[0]:.2f})\n")
    kinds = collections.Counter(c["kind"] for c in chosen)
    print(f"Corpus part `{a.part}`: {len(corpus)} programs from {len({c['package'] for c in corpus})} packages "
          f"(built in {t_build:.1f} s); sample of {len(chosen)} (seed {a.seed}): {dict(kinds)}; {a.seqs} sequence(s) "
          f"each; fast mode took {t_fast:.1f} s, pylint's check of {len(verdict)} distinct texts {t_pyl:.1f} s.\n")
    refused = collections.Counter(r for r in res if isinstance(r, str))
    print(f"Programs: {sum(not verdict[normalize(p)] for p in progs)} pylint-clean as they are; fast mode sampled "
          f"{len(kept)}, refused {dict(refused) or 'none'}; kept with lint errors (fast mode's verdict): {len(swept)}, "
          f"their first deletion removed {sum(sum(r.first_deletion) for r in swept) / max(1, sum(len(r.first_deletion) for r in swept)):.1f} "
          f"lines on average.\n")
    rejected = agreement(progs, res, verdict)
    program_agreement(progs, res, verdict, fast)
    strict_side(progs, a.seqs, a.seed, pyl, fast)
    for s in rejected[:a.show]:
        print("-----\n" + s + ">>> " + str(verdict[s]))
    if a.speed_programs:
        timed_progs = progs[:a.speed_programs]
        dirty = {p for p in timed_progs if verdict[normalize(p)]}
        speed({"pylint-clean": [p for p in timed_progs if p not in dirty], "with pylint errors":
               [p for p in timed_progs if p in dirty]}, pyl, a.seqs, a.seed, a.repeat)


if __name__ == "__main__":
    main()

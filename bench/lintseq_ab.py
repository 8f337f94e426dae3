"""LintSeq fast-mode throughput of two trees of tinyhelen, measured in alternating processes.

The reference tree is a `git archive` of a commit (default 7946cd4, the code before the LintSeq split) unpacked in
a temporary folder; the other is this checkout. Each measurement is one fresh process with PYTHONPATH pointing at
one tree; the processes alternate (A B A B ..., the order flipped every other round so neither tree always runs
first), all on the same programs (written once to a file by this process), each warming up on a few programs
before the timed pass. A process reports programs per second of wall time and of its own CPU time (the CPU rate
is the steadier one on a shared machine) and a digest of its sequences: the two trees must give the same
sequences, else the comparison is void and the script fails.

    PYTHONPATH=$PWD python bench/lintseq_ab.py --rounds 6 --programs 240
    PYTHONPATH=$PWD python bench/lintseq_ab.py --part held-out-3 --root DIR --programs 0 --n 1 --sweep --rounds 1

`--part` takes the programs of a part of the held-out bench's corpus (`bench/lintseq_heldout.py`; 0 programs: all)
instead of the embedded ones; `--sweep` samples as the corpus runner does (programs with lint errors kept, their
error lines swept into the first deletion). One round is an equality check of the two trees' sequences.

Prints a Markdown block for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

WORKER = r"""
import gc, hashlib, json, sys, time
import tinyhelen
from tinyhelen.lintseq import ProgramRejected, lintseq
tree, progs, n, warm = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4])
sweep = sys.argv[5] == "1"
assert tinyhelen.__file__.startswith(tree), (tinyhelen.__file__, tree)
def run(ps):
    out = []
    for p in ps:
        try:
            out.append(lintseq(p, n=n, seed=1, check_clean=True, sweep_errors=sweep).sequences)
        except (ProgramRejected, RecursionError) as e:
            out.append(getattr(e, "reason", "recursion"))
    return out
run(progs[:warm])
gc.collect()
w, c = time.perf_counter(), time.process_time()
seqs = run(progs)
w, c = time.perf_counter() - w, time.process_time() - c
print(json.dumps({"wall": len(progs) / w, "cpu": len(progs) / c,
                  "digest": hashlib.sha256(json.dumps(seqs).encode()).hexdigest()[:16]}))
"""


def programs(k: int) -> list[str]:
    "The first `k` programs of the embedded sources (standard-library functions, HumanEval, MBPP train), interleaved."
    from tinyhelen.lintseq_corpus import code_source
    cols = [code_source(s)["program"] for s in ("stdlib", "humaneval", "mbpp-train")]
    mixed = [p for group in zip(*cols) for p in group]
    return mixed[:k]


def part_programs(part: str, root: Path | None, k: int) -> list[str]:
    "The first `k` programs (0: all) of a part of the held-out bench's corpus."
    sys.path.insert(0, str(REPO / "bench"))
    import lintseq_heldout as held
    progs = [c["program"] for c in held.build(part, json.loads(held.SPLIT.read_text()), root)]
    return progs[:k] if k else progs


def old_tree(commit: str, dest: Path) -> Path:
    "The package as it was at `commit`, unpacked under `dest`."
    out = dest / "old"
    out.mkdir()
    arc = subprocess.run(["git", "-C", str(REPO), "archive", commit, "tinyhelen"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=arc, check=True)
    return out


def measure(tree: Path, progs_file: Path, n: int, warm: int, sweep: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    r = subprocess.run([sys.executable, "-c", WORKER, str(tree), str(progs_file), str(n), str(warm), str(int(sweep))],
                       env=env, capture_output=True, text=True, cwd=tree)
    if r.returncode:
        sys.exit(f"worker on {tree} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3f} (min {min(xs):.3f}, max {max(xs):.3f})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="7946cd4", help="commit of the reference tree")
    ap.add_argument("--rounds", type=int, default=6, help="measurements per tree (alternating)")
    ap.add_argument("--programs", type=int, default=240)
    ap.add_argument("--n", type=int, default=5, help="sequences per program")
    ap.add_argument("--warm", type=int, default=10, help="programs run untimed first in each process")
    ap.add_argument("--part", help="programs of this part of bench/lintseq_heldout.py's corpus instead of the embedded ones")
    ap.add_argument("--root", type=Path, help="where a PyPI part's packages are unpacked (see lintseq_heldout.py)")
    ap.add_argument("--sweep", action="store_true", help="keep programs with lint errors (the corpus runner's default)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lintseq_ab_") as tmp:
        tmp = Path(tmp)
        trees = {"old": old_tree(a.base, tmp), "new": REPO}
        progs_file = tmp / "programs.json"
        progs = part_programs(a.part, a.root, a.programs) if a.part else programs(a.programs)
        progs_file.write_text(json.dumps(progs))
        res = {"old": [], "new": []}
        t0 = time.time()
        for r in range(a.rounds):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for name in order:
                res[name].append(measure(trees[name], progs_file, a.n, a.warm, a.sweep))
            print(f"round {r + 1}: " + ", ".join(f"{k} {res[k][-1]['cpu']:.1f}/s cpu {res[k][-1]['wall']:.1f}/s wall" for k in order),
                  file=sys.stderr)
        digests = {d["digest"] for v in res.values() for d in v}
        if len(digests) != 1:
            sys.exit(f"the trees' sequences differ ({digests}): not comparable")
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "tinyhelen"], capture_output=True, text=True).stdout.strip()
    source = f"part {a.part}" if a.part else "embedded stdlib/HumanEval/MBPP-train, interleaved"
    print(f"\nLintSeq fast mode, {len(progs)} programs ({source}), n={a.n}, "
          f"check_clean{', sweep_errors' if a.sweep else ''}, seed 1; {a.rounds} processes per tree, alternating; {time.time() - t0:.0f} s; "
          f"load {os.getloadavg()[0]:.1f}; identical sequences (digest {digests.pop()})\n")
    print(f"| tree | programs/s (CPU) | programs/s (wall) |\n|---|---|---|")
    for name, label in (("old", f"old ({a.base})"), ("new", f"new ({head}{', modified' if dirty else ''})")):
        print(f"| {label} | {spread([d['cpu'] for d in res[name]])} | {spread([d['wall'] for d in res[name]])} |")
    for kind in ("cpu", "wall"):
        ratios = [b[kind] / o[kind] for o, b in zip(res["old"], res["new"])]
        print(f"\nnew / old ({kind}, per round): {spread(ratios)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Rebuild the embedded sample (tinyhelen/sample_data) from a full data root.

The sample is what every command reads when no data root is set, so it must stay small (a few MB)
and keep the source layout and formats byte for byte: whole validation/test files of the 10M corpus,
a seeded random TRAIN_ROWS records of each Leaner-GLUE split (in file order;
the release files are sorted by label, so their first rows would hold one class), all of Leaner-Eval, and MBPP.

    python tools/make_sample.py ../shared/data tinyhelen/sample_data
"""
import argparse
import random
import shutil
from pathlib import Path

TRAIN_ROWS = 400  # per Leaner-GLUE file: enough for a smoke fine-tune, small enough to ship


def sample_lines(src: Path, dst: Path, rows: int, seed: int = 0) -> None:
    lines = src.read_bytes().splitlines(keepends=True)
    keep = sorted(random.Random(f"{seed}:{src.name}").sample(range(len(lines)), min(rows, len(lines))))
    dst.write_bytes(b"".join(lines[i] for i in keep))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path, help="full data root (holds tinyhelen/ and mbpp/)")
    ap.add_argument("dst", type=Path, help="sample folder to (re)write")
    a = ap.parse_args()
    for sub in ("tinyhelen", "mbpp"):  # the rest (README, code/ from `tinyhelen data build-code-corpus`) is kept
        shutil.rmtree(a.dst / sub, ignore_errors=True)
    th, out = a.src / "tinyhelen", a.dst / "tinyhelen"
    for version in ("ori", "leaner"):
        for split in ("validation", "test"):
            shutil.copytree(th / version / "10M" / split, out / version / "10M" / split)
    shutil.copytree(th / "leaner" / "eval", out / "leaner" / "eval")
    (out / "leaner" / "glue").mkdir(parents=True)
    for f in sorted((th / "leaner" / "glue").glob("*.jsonl")):
        sample_lines(f, out / "leaner" / "glue" / f.name, TRAIN_ROWS)
    for f in ("LICENSE",):
        shutil.copy(th / f, out / f)
    shutil.copytree(a.src / "mbpp", a.dst / "mbpp")
    size = sum(p.stat().st_size for p in a.dst.rglob("*") if p.is_file())
    print(f"wrote {a.dst} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Rebuild the embedded sample (tinyhelen/sample_data) from a full data root.

The sample is what every command reads when no data root is set, so it must stay small (a few MB)
and keep the source layout and formats byte for byte: whole validation/test files of the 10M corpus,
the first TRAIN_ROWS records of each Leaner-GLUE split, all of Leaner-Eval, and MBPP.

    python tools/make_sample.py ../shared/data tinyhelen/sample_data
"""
import argparse
import shutil
from pathlib import Path

TRAIN_ROWS = 400  # per Leaner-GLUE file: enough for a smoke fine-tune, small enough to ship


def head(src: Path, dst: Path, rows: int) -> None:
    with open(src, "rb") as f:
        lines = [line for _, line in zip(range(rows), f)]
    dst.write_bytes(b"".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path, help="full data root (holds tinyhelen/ and mbpp/)")
    ap.add_argument("dst", type=Path, help="sample folder to (re)write")
    a = ap.parse_args()
    if a.dst.exists():
        shutil.rmtree(a.dst)
    th, out = a.src / "tinyhelen", a.dst / "tinyhelen"
    for version in ("ori", "leaner"):
        for split in ("validation", "test"):
            shutil.copytree(th / version / "10M" / split, out / version / "10M" / split)
    shutil.copytree(th / "leaner" / "eval", out / "leaner" / "eval")
    (out / "leaner" / "glue").mkdir(parents=True)
    for f in sorted((th / "leaner" / "glue").glob("*.jsonl")):
        head(f, out / "leaner" / "glue" / f.name, TRAIN_ROWS)
    for f in ("LICENSE",):
        shutil.copy(th / f, out / f)
    shutil.copytree(a.src / "mbpp", a.dst / "mbpp")
    size = sum(p.stat().st_size for p in a.dst.rglob("*") if p.is_file())
    print(f"wrote {a.dst} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

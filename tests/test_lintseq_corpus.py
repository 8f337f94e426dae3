"""The datatrove corpus runner survives kill -9: a relaunch finishes with every program exactly once,
identical to an uninterrupted run."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tinyhelen.lintseq_corpus import code_source, corpus_summary, load_corpus_output, run_corpus

REPO = Path(__file__).resolve().parents[1]


def _input(tmp: Path) -> Path:
    rows = []
    for name in ("stdlib", "mbpp-train"):
        ds = code_source(name)
        rows += [{"id": i, "code": p, "instruction": q} for i, p, q in zip(ds["id"], ds["program"], ds["instruction"])]
    rows.append({"id": "broken", "code": "def f(:\n", "instruction": "x"})
    path = tmp / "programs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _cmd(src, out, tasks):
    code = (f"from tinyhelen.lintseq_corpus import run_corpus; "
            f"run_corpus({str(src)!r}, {str(out)!r}, n=5, seed=3, tasks={tasks}, id_field='id')")
    return [sys.executable, "-c", code]


def test_kill9_resume(tmp_path):
    src, out, tasks = _input(tmp_path), tmp_path / "killed", 24
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(_cmd(src, out, tasks), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    done = out / "logs" / "completions"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(done.glob("*"))) < 3 if done.exists() else time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(done.glob("*")))
    assert 3 <= finished < tasks, f"kill landed after {finished} of {tasks} tasks"
    partial = corpus_summary(str(out))
    assert partial["tasks_done"] == finished

    summary = run_corpus(str(src), str(out), n=5, seed=3, tasks=tasks, id_field="id")  # relaunch
    clean = run_corpus(str(src), str(tmp_path / "clean"), n=5, seed=3, tasks=tasks, id_field="id")
    assert summary == clean and summary["tasks_done"] == tasks
    n_in = sum(1 for _ in src.open())
    assert summary["programs"] + sum(summary["failures"].values()) == n_in, "nothing lost"
    assert summary["failures"].get("unparsable") == 1
    a, b = load_corpus_output(str(out)), load_corpus_output(str(tmp_path / "clean"))
    ids = [(r, s) for r, s in zip(a["id"], a["sequence"])]
    assert len(ids) == len(set(ids)), "nothing duplicated"
    assert a["text"] == b["text"], "the resumed run equals an uninterrupted one"
    assert not list(out.rglob("*.tmp")), "no temporary files left behind"

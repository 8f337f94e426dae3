"""The Leaner-GLUE experiment notebook end to end under papermill, with smoke parameters, on the embedded sample."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "nbs" / "experiments" / "05_glue.ipynb"


def run_notebook(out: Path, **params) -> subprocess.CompletedProcess:
    args = [a for k, v in params.items() for a in ("-p", k, str(v))]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "disabled"}
    return subprocess.run([sys.executable, "-m", "papermill", str(NB), str(out / "executed.ipynb"), "-k", "python3",
                           "--cwd", str(NB.parent), "--log-level", "ERROR", "-p", "out_dir", str(out / "run"), *args],
                          capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_glue_experiment_smoke(tmp_path):
    p = run_notebook(tmp_path, pretrain_steps=4, max_steps=3, limit=32, tasks="rte", wandb="disabled")
    assert p.returncode == 0, p.stderr[-3000:]
    run = tmp_path / "run"
    res = json.loads((run / "results.json").read_text())
    for name in ("scratch", "original", "leaner"):
        assert 0.0 <= res[f"{name}/rte"] <= 1.0 and (run / name / "cells.jsonl").is_file()
    table = (run / "summary.md").read_text()
    assert "| rte | test | accuracy |" in table and "scratch" in table and "leaner" in table
    assert (run / "glue_rte.png").stat().st_size > 1000
    # a second run resumes: the pre-trainings are finished checkpoints, every cell is recorded
    cells = {n: (run / n / "cells.jsonl").read_text() for n in ("scratch", "original", "leaner")}
    p = run_notebook(tmp_path, pretrain_steps=4, max_steps=3, limit=32, tasks="rte", wandb="disabled")
    assert p.returncode == 0, p.stderr[-3000:]
    assert all((run / n / "cells.jsonl").read_text() == c for n, c in cells.items())


def test_cli_skips_tasks_without_train_and_reports_bad_roots(tmp_path, capsys):
    from tinyhelen.cli import main
    assert main(["eval", "glue", "llama-smoke", "--tasks", "sst2", "--out", str(tmp_path / "g"), "--wandb", "disabled"]) == 0
    assert "skipping sst2: no train split" in capsys.readouterr().out
    assert main(["eval", "glue", "llama-smoke", "--tasks", "rte", "--data-root", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "g2"), "--wandb", "disabled"]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_full_data_splits(shared_data):
    "On the full release every task's evaluation splits load, are labelled, and MNLI/QNLI/QQP/SST-2 lack train."
    from tinyhelen.eval.glue import TASKS, GlueConfig, SkipTask, labelled, task_data
    cfg = GlueConfig(checkpoint="llama-smoke", data_root=str(shared_data))
    for name, spec in TASKS.items():
        try:
            data = task_data(name, cfg)
        except SkipTask:
            assert name in ("sst2", "qqp", "mnli", "qnli")
            continue
        assert all(labelled(data[s]) for s in (spec.val, *spec.tests)) and len(data["train"]) > 100

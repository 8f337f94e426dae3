"""Sweeps survive kill -9 and run through submitit's local executor."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from tinyhelen.sweep import collect, load_sweep, run_sweep, status, sweep_dir_for

BIN = Path(sys.executable).parent / "tinyhelen"


def make_repo(tmp: Path, sleep: float = 0.0, n: int = 3) -> Path:
    (tmp / "settings.ini").write_text("[DEFAULT]\n")
    (tmp / "tinyhelen").mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 0\nrun_dir = '.'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(f"import json, pathlib, time\ntime.sleep({sleep})\n"
                                  "p = pathlib.Path(run_dir, 'results.json')\n"
                                  "rows = json.loads(p.read_text()) if p.exists() else []\n"
                                  "p.write_text(json.dumps(rows + [{'y': x * x}]))")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "python3", "language": "python"}
    nbformat.write(nb, tmp / "exp.ipynb")
    (tmp / "sweep.yaml").write_text(f"name: k\nparallel: 1\nexperiments:\n  - notebook: exp.ipynb\n    grid: {{x: {list(range(n))}}}\n")
    return tmp / "sweep.yaml"


def test_kill_minus_nine_loses_nothing_and_duplicates_nothing(tmp_path):
    path = make_repo(tmp_path, sleep=1.5)
    sweep = load_sweep(path)
    sdir = sweep_dir_for(sweep, tmp_path / "runs")
    cmd = [str(BIN), "sweep", "run", str(path), "--root", str(tmp_path / "runs")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not any((status(r, sdir) or {}).get("status") == "done" for r in sweep.runs):
        time.sleep(0.2)
    time.sleep(0.5)  # the second run is now in flight
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {r.run_id: (sdir / r.run_id / "status.json").stat().st_mtime for r in sweep.runs
                   if (status(r, sdir) or {}).get("status") == "done"}
    assert 1 <= len(done_before) < len(sweep.runs), "the kill must land mid-sweep"

    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    df = collect(path, tmp_path / "runs")
    assert (df.status == "done").all() and sorted(df.y) == [0, 1, 4], df
    for run_id, mtime in done_before.items():  # finished runs were not repeated
        assert (sdir / run_id / "status.json").stat().st_mtime == mtime
    for run in sweep.runs:  # every run reported exactly once: the killed one started over from an empty folder
        assert len(json.loads((sdir / run.run_id / "results.json").read_text())) == 1
        assert (sdir / run.run_id / "notebook.ipynb").exists()
    assert not list(sdir.rglob("*.partial.ipynb"))


def test_submitit_local_executor(tmp_path):
    path = make_repo(tmp_path, n=2)
    df = run_sweep(str(path), executor="submitit-local", root=str(tmp_path / "runs"), timeout=300)
    assert (df.status == "done").all() and sorted(df.y) == [0, 1]


def test_cli_exit_status_reports_failed_runs(tmp_path):
    path = make_repo(tmp_path, n=2)
    nb = nbformat.read(tmp_path / "exp.ipynb", as_version=4)
    nb.cells[1].source = "assert x != 1, 'x=1 is broken'\n" + nb.cells[1].source
    nbformat.write(nb, tmp_path / "exp.ipynb")
    r = subprocess.run([str(BIN), "sweep", "run", str(path), "--root", str(tmp_path / "runs")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "1 run(s) failed" in r.stderr, (r.returncode, r.stderr[-2000:])
    df = collect(path, tmp_path / "runs")
    assert sorted(df.status) == ["done", "failed"]

"""Sweeps survive kill -9, chain runs in dependency order, and run through submitit's local executor."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat

import pytest

from tinyhelen.sweep import collect, load_sweep, plan, run_sweep, slurm_dependency, status, sweep_dir_for

REPO = Path(__file__).resolve().parent.parent

BIN = Path(sys.executable).parent / "tinyhelen"


def write_notebook(path: Path, params: str, body: str) -> None:
    "A two-cell notebook: a papermill parameters cell and a body."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
                                         nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "python3", "language": "python"}
    nbformat.write(nb, path)


def make_repo(tmp: Path, sleep: float = 0.0, n: int = 3) -> Path:
    (tmp / "settings.ini").write_text("[DEFAULT]\n")
    (tmp / "tinyhelen").mkdir()
    write_notebook(tmp / "exp.ipynb", "x = 0\nrun_dir = '.'",
                   f"import json, pathlib, time\ntime.sleep({sleep})\n"
                   "p = pathlib.Path(run_dir, 'results.json')\n"
                   "rows = json.loads(p.read_text()) if p.exists() else []\n"
                   "p.write_text(json.dumps(rows + [{'y': x * x}]))")
    (tmp / "sweep.yaml").write_text(f"name: k\nparallel: 1\nexperiments:\n  - notebook: exp.ipynb\n    grid: {{x: {list(range(n))}}}\n")
    return tmp / "sweep.yaml"


def kill_mid_sweep(path: Path, root: Path, done: int, settle: float = 0.0) -> tuple[list, dict]:
    """Start `tinyhelen sweep run`, kill -9 its whole process group once `done` runs have finished (plus `settle`
    seconds), and return the command and {run id: status.json mtime} of the runs finished before the kill."""
    sweep = load_sweep(path)
    sdir = sweep_dir_for(sweep, root)
    cmd = [str(BIN), "sweep", "run", str(path), "--root", str(root)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and \
            sum((status(r, sdir) or {}).get("status") == "done" for r in sweep.runs) < done:
        time.sleep(0.2)
    time.sleep(settle)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return cmd, {r.run_id: (sdir / r.run_id / "status.json").stat().st_mtime for r in sweep.runs
                 if (status(r, sdir) or {}).get("status") == "done"}


def test_kill_minus_nine_loses_nothing_and_duplicates_nothing(tmp_path):
    path = make_repo(tmp_path, sleep=1.5)
    sweep = load_sweep(path)
    sdir = sweep_dir_for(sweep, tmp_path / "runs")
    cmd, done_before = kill_mid_sweep(path, tmp_path / "runs", done=1, settle=0.5)  # the second run is in flight
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
    assert r.returncode == 1 and "1 run(s) did not finish" in r.stderr and "(failed)" in r.stderr, (r.returncode, r.stderr[-2000:])
    df = collect(path, tmp_path / "runs")
    assert sorted(df.status) == ["done", "failed"]


def make_chain(tmp: Path, sleep: float = 0.0) -> Path:
    "A repo whose sweep has an upstream entry (writes a file and lists it in outputs.json) and a dependant reading it."
    path = make_repo(tmp, n=2)
    write_notebook(tmp / "up.ipynb", "x = 0\nrun_dir = '.'",
                   f"import json, pathlib, time\ntime.sleep({sleep})\npathlib.Path(run_dir, 'w.txt').write_text(str(x))\n"
                   "pathlib.Path(run_dir, 'outputs.json').write_text(json.dumps({'weights': 'w.txt'}))")
    write_notebook(tmp / "down.ipynb", "src = ''\nx = -1\nrun_dir = '.'",
                   f"import json, pathlib, time\ntime.sleep({sleep})\n"
                   "p = pathlib.Path(run_dir, 'results.json')\n"
                   "rows = json.loads(p.read_text()) if p.exists() else []\n"
                   "p.write_text(json.dumps(rows + [{'read': pathlib.Path(src).read_text(), 'x_seen': x}]))")
    path.write_text("name: c\nparallel: 2\nexperiments:\n"
                    "  - {name: up, notebook: up.ipynb, grid: {x: [1, 2, 3]}}\n"
                    "  - {name: down, notebook: down.ipynb, after: up, carry: [x], inputs: {src: weights}}\n")
    return path


def test_chain_survives_kill_minus_nine(tmp_path):
    "Killed mid-graph, a rerun repeats no finished run, and every dependant reads its own upstream's output once."
    path = make_chain(tmp_path, sleep=1.0)
    sweep = load_sweep(path)
    sdir = sweep_dir_for(sweep, tmp_path / "runs")
    cmd, done_before = kill_mid_sweep(path, tmp_path / "runs", done=2)
    assert 2 <= len(done_before) < len(sweep.runs), "the kill must land mid-graph"
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    df = collect(path, tmp_path / "runs")
    assert (df.status == "done").all(), df
    down = df[df.entry == "down"]
    assert sorted(down.read) == ["1", "2", "3"] and (down.read.astype(int) == down.x_seen).all()
    for run_id, mtime in done_before.items():
        assert (sdir / run_id / "status.json").stat().st_mtime == mtime
    for run in sweep.runs:
        if run.entry == "down":
            assert len(json.loads((sdir / run.run_id / "results.json").read_text())) == 1


def test_failed_upstream_blocks_its_dependants_only(tmp_path):
    path = make_chain(tmp_path)
    nb = nbformat.read(tmp_path / "up.ipynb", as_version=4)
    nb.cells[1].source = "assert x != 2, 'x=2 is broken'\n" + nb.cells[1].source
    nbformat.write(nb, tmp_path / "up.ipynb")
    r = subprocess.run([str(BIN), "sweep", "run", str(path), "--root", str(tmp_path / "runs")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "(blocked)" in r.stderr and "(failed)" in r.stderr, r.stderr[-2000:]
    df = collect(path, tmp_path / "runs")
    assert sorted(df[df.entry == "up"].status) == ["done", "done", "failed"]
    assert sorted(df[df.entry == "down"].status) == ["blocked", "done", "done"]
    blocked = df[df.status == "blocked"].run_id.item()
    st = json.loads((tmp_path / "runs/sweeps/c" / blocked / "status.json").read_text())
    assert "upstream run up-2-" in st["error"] and not (tmp_path / "runs/sweeps/c" / blocked / "params.json").exists()


def test_submitit_local_executor_runs_a_chain(tmp_path):
    path = make_chain(tmp_path)
    df = run_sweep(str(path), executor="submitit-local", root=str(tmp_path / "runs"), timeout=300)
    assert (df.status == "done").all() and sorted(df[df.entry == "down"].read) == ["1", "2", "3"]


def test_slurm_dependants_wait_for_their_upstream_job(tmp_path, monkeypatch):
    "The sbatch file submitit writes for a dependant carries the dependency on its upstream job."
    import submitit
    (tmp_path / "srun").write_text("#!/bin/sh\n")  # submitit only looks for srun on PATH before writing sbatch files
    (tmp_path / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    ex = submitit.SlurmExecutor(folder=tmp_path / "jobs")
    ex.update_parameters(time=5, additional_parameters=slurm_dependency(["4711"]))
    text = ex._make_submission_file_text("python -c pass", "%j")
    assert "#SBATCH --dependency=afterany:4711" in text
    assert slurm_dependency([]) == {}


@pytest.mark.parametrize("sweep_file", sorted((REPO / "sweeps").glob("*.yaml")), ids=lambda p: p.name)
def test_every_sweep_file_plans_with_valid_parameters(sweep_file, tmp_path):
    "`tinyhelen sweep plan` on each shipped sweep: every parameter name exists in its notebook's parameters cell."
    text = plan(str(sweep_file), root=str(tmp_path))
    assert f"sweep {load_sweep(sweep_file).name}:" in text and "not run" in text

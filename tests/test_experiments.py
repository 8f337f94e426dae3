"""The experiment notebooks (nbs/experiments/) run with their smoke parameters, alone and through a sweep.

nbdev_test skips nbs/experiments/ (its .notest file): these notebooks are papermill runs, tested here.
The fast test pushes the smallest notebook through `tinyhelen sweep run` and `tinyhelen sweep summary`;
running every notebook (and the whole smoke sweep) is slow, so those tests are marked slow.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
EXP = REPO / "nbs" / "experiments"
OURS = ["01_refine", "02_lintseq", "03_pretrain", "04_instruct_2x2", "07_curriculum", "08_code_sft"]
OTHERS = ["05_glue", "06_judge"]  # written in other branches: used when present


def _env(tmp_path) -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "WANDB_MODE": "disabled", "TINYHELEN_RUNS": str(tmp_path / "runs")}


def _cli(*args, tmp_path, timeout=900):
    r = subprocess.run([sys.executable, "-c", "import sys; from tinyhelen.cli import main; sys.exit(main())", *args],
                       cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def _present_sweep(src: Path, dst: Path, **params) -> Path:
    "A copy of a sweep file with absolute notebook paths, without notebooks this checkout lacks."
    cfg = yaml.safe_load(src.read_text())
    cfg["experiments"] = [{**e, "notebook": str(REPO / e["notebook"]), "params": {**e.get("params", {}), **params}}
                          for e in cfg["experiments"] if (REPO / e["notebook"]).is_file()]
    dst.write_text(yaml.safe_dump(cfg))
    return dst


def test_experiment_folder_is_skipped_by_nbdev_test():
    "nbdev_test's own selection (its `.notest` rule) keeps the module notebooks and drops every experiment notebook."
    from nbdev.test import _keep_file
    from nbdev.doclinks import nbglob
    kept = {Path(f).relative_to(REPO / "nbs").as_posix() for f in nbglob(str(REPO / "nbs"), as_path=True) if _keep_file(Path(f), ".notest")}
    assert "00_core.ipynb" in kept and "03b_lintseq.ipynb" in kept
    assert not [k for k in kept if k.startswith("experiments/")], "papermill runs them (tests below), not nbdev_test"


@pytest.mark.parametrize("profile", ["smoke", "paper"])
def test_sweep_profiles_name_all_eight_experiments(profile):
    cfg = yaml.safe_load((REPO / "sweeps" / f"{profile}.yaml").read_text())
    names = sorted({Path(e["notebook"]).stem for e in cfg["experiments"]})
    assert names == sorted(OURS + OTHERS)
    assert cfg.get("note"), "the summary opens with the profile's note"
    for name in OURS:
        assert (EXP / f"{name}.ipynb").is_file(), name


def _sweep_params(name: str):
    "(parameter, value) of every value the sweep profiles pass to notebook `name` (params and grid values)."
    for profile in ("smoke", "paper"):
        for e in yaml.safe_load((REPO / "sweeps" / f"{profile}.yaml").read_text())["experiments"]:
            if Path(e["notebook"]).stem == name:
                yield from e.get("params", {}).items()
                yield from ((k, x) for k, xs in e.get("grid", {}).items() for x in xs)


@pytest.mark.parametrize("name", OURS)
def test_notebook_parameters_cell(name):
    """papermill's inspector finds every parameter the parameters cell assigns, with its default and comment; the
    sweep profiles pass only those parameters, with values of the defaults' types."""
    import ast
    import papermill
    nb = json.loads((EXP / f"{name}.ipynb").read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "parameters" in first["metadata"].get("tags", [])
    src = "".join(first["source"])
    cell = {a.targets[0].id: ast.literal_eval(a.value) for a in ast.parse(src).body if isinstance(a, ast.Assign)}
    found = papermill.inspect_notebook(str(EXP / f"{name}.ipynb"))
    assert list(found) == list(cell), "papermill drops a line whose comment contains '='"
    for k, v in cell.items():
        assert ast.literal_eval(found[k]["default"]) == v, k
        comment = next(line.partition("#")[2].strip() for line in src.splitlines() if line.startswith(f"{k} = "))
        assert found[k]["help"] == comment, k
    assert cell["out_dir"] == "", "out_dir unset: the sweep's run folder, else runs/experiments/<name>"
    for k, v in _sweep_params(name):
        assert k in cell, f"the sweeps pass {k!r}, which {name} does not take"
        assert isinstance(v, type(cell[k])) or (type(cell[k]) is float and type(v) is int), (k, v, cell[k])


def test_smallest_notebook_through_sweep_and_summary(tmp_path):
    "02_lintseq (smallest) as a two-run sweep over seeds, then the summary: merged seeds, figures, note."
    sweep = tmp_path / "tiny.yaml"
    sweep.write_text(yaml.safe_dump({"name": "tiny", "parallel": 1, "note": "tiny test sweep.", "experiments": [
        {"notebook": str(EXP / "02_lintseq.ipynb"), "grid": {"seed": [1, 2]}, "params": {"limit": 8, "tasks": 1}}]}))
    _cli("sweep", "run", str(sweep), tmp_path=tmp_path)
    runs = sorted((tmp_path / "runs" / "sweeps" / "tiny").glob("02_lintseq-*"))
    assert len(runs) == 2
    for r in runs:
        assert json.loads((r / "status.json").read_text())["status"] == "done"
        rows = json.loads((r / "results.json").read_text())
        assert {x["method"] for x in rows} == {"lintseq", "randseq"}
        lint = next(x for x in rows if x["method"] == "lintseq")
        assert lint["clean_states"] == 1.0 and lint["rebuilds_program"] == 1.0  # LintSeq's defining property
        assert 0 < lint["programs"] <= 8, "the injected limit (the notebook's default is 60 programs)"
        assert (r / "figures" / "lintseq_vs_randseq.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        executed = json.loads((r / "notebook.ipynb").read_text())
        injected = next(c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
        assert "limit = 8" in "".join(injected["source"])
    assert sorted(json.loads((r / "results.json").read_text())[0]["seed"] for r in runs) == [1, 2], "one run per grid seed"
    _cli("sweep", "summary", str(sweep), "--out", str(tmp_path / "figures"), tmp_path=tmp_path)
    text = (tmp_path / "figures" / "RESULTS.md").read_text()
    assert "tiny test sweep." in text and "## 02_lintseq" in text and "| lintseq |" in text and "(n=2)" in text
    assert len(list((tmp_path / "figures").glob("02_lintseq-*/lintseq_vs_randseq.png"))) == 2
    # a second run has nothing left to do
    assert "2 of them already done, 0 to run" in _cli("sweep", "run", str(sweep), tmp_path=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", OURS)
def test_notebook_smoke(name, tmp_path):
    "Each notebook alone with its smoke (default) parameters: results.json of flat rows and at least one figure."
    out = tmp_path / name
    r = subprocess.run([sys.executable, "-m", "papermill", str(EXP / f"{name}.ipynb"), str(tmp_path / "out.ipynb"),
                        "-k", "python3", "-p", "out_dir", str(out), "--cwd", str(EXP), "--log-level", "ERROR"],
                       env=_env(tmp_path), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads((out / "results.json").read_text())
    assert rows and all(not isinstance(v, (dict, list)) for row in rows for v in row.values())
    figures = list((out / "figures").glob("*.png"))
    assert figures and all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in figures)


@pytest.mark.slow
def test_smoke_sweep(tmp_path):
    "The smoke profile (the notebooks this checkout has), then the summary."
    sweep = _present_sweep(REPO / "sweeps" / "smoke.yaml", tmp_path / "smoke.yaml")
    _cli("sweep", "run", str(sweep), tmp_path=tmp_path, timeout=1800)
    _cli("sweep", "summary", str(sweep), "--out", str(tmp_path / "figures"), tmp_path=tmp_path)
    text = (tmp_path / "figures" / "RESULTS.md").read_text()
    n = len(yaml.safe_load(sweep.read_text())["experiments"])
    assert f"{n} runs, {n} done" in text, text[:2000]
    assert "too small to show the papers' effects" in text


@pytest.mark.slow
def test_fit_under_torchrun(tmp_path):
    "tinyhelen.experiment.fit with two processes (gloo on CPU) returns what train returns."
    code = f"""
from tinyhelen.data import load_corpus
from tinyhelen.experiment import corpus_tokenizer, fit
from tinyhelen.train import TrainConfig
tok = corpus_tokenizer({str(tmp_path / 'tok')!r}, "gpt", texts=load_corpus()["text"][:40], vocab_size=400)
cfg = TrainConfig(model="llama-smoke", tokenizer=tok, max_steps=4, block_size=32, micro_batch=4, eval_every=0,
                  eval_batches=2, out_dir={str(tmp_path / 'ddp' / 'checkpoints')!r}, device="cpu", wandb="disabled")
res = fit(cfg, nproc_per_node=2)
assert res["step"] == 4 and "val/loss" in res and res["checkpoint"].endswith("step-000004"), res
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]


def test_same_seed_same_numbers_on_cpu(tmp_path):
    "CPU determinism, as the results pages state it: a pre-training run repeated with the same seed reports the same numbers."
    import papermill
    results = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        papermill.execute_notebook(str(EXP / "03_pretrain.ipynb"), str(tmp_path / f"nb{i}.ipynb"), cwd=str(EXP),
                                   parameters={"out_dir": str(out), "models": "llama-smoke", "max_steps": 6, "eval_every": 3,
                                               "cross_eval_batches": 2, "device": "cpu", "wandb": "disabled", "seed": 7},
                                   progress_bar=False)
        results.append(json.loads((out / "results.json").read_text()))
    assert results[0] == results[1]
    assert {r["version"] for r in results[0]} == {"leaner", "ori"} and all("loss_on_ori" in r for r in results[0])

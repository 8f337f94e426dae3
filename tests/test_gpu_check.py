"""bench/gpu_check.py: the GPU readiness script, checked on CPU with --cpu-smoke (the GPU run is the script itself)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "gpu_check.py"


def run(*args, tmp_path, timeout=900):
    env = {"PYTHONPATH": str(REPO), "WANDB_MODE": "disabled", "TINYHELEN_RUNS": str(tmp_path / "runs"),
           "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=tmp_path)


def test_gpu_check_refuses_without_a_gpu_unless_smoke(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the refusal is for CPU-only machines")
    r = run("--out", str(tmp_path / "r.md"), tmp_path=tmp_path)
    assert r.returncode == 2 and "--cpu-smoke" in r.stderr and not (tmp_path / "r.md").exists()


def test_gpu_check_cpu_smoke_speed_and_pretrain(tmp_path):
    "The throughput comparison (our loop vs HF Trainer) and the short 03, tiny: a page with both parts' numbers."
    r = run("--cpu-smoke", "--parts", "speed,pretrain", "--out", str(tmp_path / "r.md"), tmp_path=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    page = (tmp_path / "r.md").read_text()
    assert "not GPU figures" in page and "- commit: " in page and "- device: CPU" in page
    res = json.loads((tmp_path / "r.json").read_text())["results"]
    speed = res["speed"]["value"]
    assert speed["ours_tokens_per_s"] > 0 and speed["trainer_tokens_per_s"] > 0 and speed["ours_mfu"] is None
    runs = res["pretrain"]["value"]["runs"]
    assert sorted((x["version"], x["seed"]) for x in runs) == [("leaner", 1), ("leaner", 2), ("ori", 1), ("ori", 2)]
    assert "| tinyhelen.train |" in page and "| HF Trainer |" in page and "| leaner | 2 |" in page


@pytest.mark.slow
def test_gpu_check_cpu_smoke_code_part(tmp_path):
    "The short 08 through papermill: code pre-training, three fine-tunings from it, pass@k rows, outputs.json."
    r = run("--cpu-smoke", "--parts", "code", "--out", str(tmp_path / "r.md"), tmp_path=tmp_path, timeout=1500)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    code = json.loads((tmp_path / "r.json").read_text())["results"]["code"]["value"]
    assert {x["condition"] for x in code["rows"]} == {"lintseq", "plain", "randseq"}
    assert code["outputs"] == ["lintseq", "plain", "pretrained", "randseq"]

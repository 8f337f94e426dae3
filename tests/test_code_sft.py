"""Experiment 08's code-model path as the paper: pre-train on code, then fine-tune from that checkpoint with its tokenizer."""
import json
from pathlib import Path

import pytest

EXP = Path(__file__).resolve().parents[1] / "nbs" / "experiments"
TINY = dict(limit=8, n=1, max_steps=2, block_size=256, micro_batch=2, warmup_steps=1, eval_every=2, eval_batches=1,
            problems=1, n_samples=1, max_new_tokens=8, ks="1", workers=1, tasks=1, benchmarks="humaneval", device="cpu")


@pytest.mark.slow
def test_code_pretrain_then_sft_chain(tmp_path):
    "Run A pre-trains only (conditions=''); run B fine-tunes from A's outputs.json checkpoint and uses its tokenizer."
    import papermill as pm
    import torch
    run = lambda out, **p: pm.execute_notebook(str(EXP / "08_code_sft.ipynb"), str(out) + ".ipynb", kernel_name="python3",
                                               cwd=str(EXP), progress_bar=False, parameters={"out_dir": str(out), **TINY, **p})
    run(tmp_path / "a", conditions="", pretrain_steps=2)
    outputs = json.loads((tmp_path / "a" / "outputs.json").read_text())
    assert list(outputs) == ["pretrained"]
    pre = Path(outputs["pretrained"]) if Path(outputs["pretrained"]).is_absolute() else tmp_path / "a" / outputs["pretrained"]
    assert (pre / "tokenizer.json").exists() and "<|diff|>" in (pre / "tokenizer.json").read_text()
    run(tmp_path / "b", conditions="lintseq,plain", init_from=str(pre))
    out_b = json.loads((tmp_path / "b" / "outputs.json").read_text())
    assert set(out_b) == {"lintseq", "plain"}  # started from init_from: no pre-training of its own
    for c in ("lintseq", "plain"):
        ck = Path(out_b[c]) if Path(out_b[c]).is_absolute() else tmp_path / "b" / out_b[c]
        state = torch.load(ck / "state.pt", map_location="cpu", weights_only=False)
        assert state["config"]["init_from"] == str(pre) and state["config"]["tokenizer"] == ""
        assert json.loads((ck / "tokenizer.json").read_text())["model"]["vocab"] == \
            json.loads((pre / "tokenizer.json").read_text())["model"]["vocab"]
    assert not (tmp_path / "b" / "tokenizer").exists(), "no tokenizer trained beside a checkpoint that has one"

"""Training loop across processes: exact resume after SIGKILL, and DDP (gloo, 2 CPU processes) == 1 process."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tinyhelen.train import checkpoints
from tinyhelen.tokenizers import train_tokenizer

CLI = Path(sys.executable).with_name("tinyhelen")


def sample_texts(genres=("wiki",)):
    # tiny stand-in for tinyhelen.data.load_corpus: the embedded sample's jsonl files, field `text`
    from tinyhelen.core import SAMPLE_DATA
    folder = SAMPLE_DATA / "tinyhelen/leaner/10M/validation"
    return [json.loads(l)["text"] for g in genres for l in (folder / f"{g}0000.jsonl").read_text().splitlines() if l.strip()]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tok") / "gpt-2K"
    train_tokenizer(sample_texts(("wiki", "book")), "gpt", out=out)
    return out


def write_config(path: Path, **fields) -> Path:
    base = dict(genres="wiki", val_split="test", block_size=64, micro_batch=8, eval_every=20, eval_batches=4,
                log_every=5, lr=3e-3, warmup_steps=5, progress=False, wandb="disabled")
    path.write_text(json.dumps({**base, **fields}))
    return path


def env():
    e = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return e


def final_state(out_dir: Path) -> dict:
    return torch.load(checkpoints(out_dir)[-1] / "state.pt", weights_only=False)


def test_resume_after_sigkill_matches_uninterrupted(tmp_path, tokenizer_dir):
    steps = 60
    common = dict(model="llama-2K-1M", tokenizer=str(tokenizer_dir), max_steps=steps, save_every=5, keep_last=2)
    full = write_config(tmp_path / "full.json", run_id="full", out_dir=str(tmp_path / "full"), **common)
    killed = write_config(tmp_path / "killed.json", run_id="killed", out_dir=str(tmp_path / "killed"), **common)
    cmd = lambda cfg: [str(CLI), "train", "run", "--config", str(cfg)]
    subprocess.run(cmd(full), check=True, env=env(), capture_output=True)

    proc = subprocess.Popen(cmd(killed), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not checkpoints(tmp_path / "killed") or checkpoints(tmp_path / "killed")[-1].name < "step-000015":
        assert proc.poll() is None and time.time() < deadline, "run ended before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = checkpoints(tmp_path / "killed")[-1].name
    assert at_kill < f"step-{steps:06d}", "killed mid-training"

    out = subprocess.run(cmd(killed), check=True, env=env(), capture_output=True, text=True)
    assert "resuming from" in out.stdout and at_kill in out.stdout
    a, b = final_state(tmp_path / "full"), final_state(tmp_path / "killed")
    assert a["step"] == b["step"] == steps
    last = lambda h, key: [r[key] for r in h if key in r][-1]
    for key in ("train/loss", "val/loss"):
        assert last(a["history"], key) == pytest.approx(last(b["history"], key), rel=1e-6, abs=1e-7), key
    from safetensors.torch import load_file
    ma = load_file(checkpoints(tmp_path / "full")[-1] / "model.safetensors")
    mb = load_file(checkpoints(tmp_path / "killed")[-1] / "model.safetensors")
    assert max((ma[k] - mb[k]).abs().max().item() for k in ma) < 1e-6


@pytest.mark.parametrize("order", ["full-random", pytest.param("iter-selfloss", marks=pytest.mark.slow)])
def test_ddp_two_processes_equal_one_with_accumulation(tmp_path, tokenizer_dir, order):
    common = dict(model="llama-smoke", tokenizer=str(tokenizer_dir), max_steps=8, micro_batch=4, eval_every=8,
                  log_every=1, data_order=order, eval_batches=2)
    if order.startswith("iter-"):  # expand at every evaluation, re-ranking with the model on both processes
        common.update(eval_every=2, threshold=100.0, curriculum_start=0.3, curriculum_step=0.3)
    one = write_config(tmp_path / "one.json", run_id=f"one-{order}", grad_accum=2, out_dir=str(tmp_path / "one"), **common)
    two = write_config(tmp_path / "two.json", run_id=f"two-{order}", grad_accum=1, out_dir=str(tmp_path / "two"), **common)
    subprocess.run([str(CLI), "train", "run", "--config", str(one)], check=True, env=env(), capture_output=True)
    t0 = time.time()
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(CLI),
                        "train", "run", "--config", str(two)], env=env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    print(f"torchrun, 2 processes: {time.time() - t0:.1f} s")
    a, b = final_state(tmp_path / "one"), final_state(tmp_path / "two")
    assert (a["world"], b["world"]) == (1, 2)
    la = [row["train/loss"] for row in a["history"] if "train/loss" in row]
    lb = [row["train/loss"] for row in b["history"] if "train/loss" in row]
    assert len(la) == len(lb) == 8 and la == pytest.approx(lb, rel=1e-5)
    val = lambda h: [row["val/loss"] for row in h if "val/loss" in row]
    assert val(a["history"]) == pytest.approx(val(b["history"]), rel=1e-5)
    if order.startswith("iter-"):
        fractions = [row["data_fraction"] for row in b["history"] if "data_fraction" in row]
        assert fractions[-1] > fractions[0] and fractions == [r["data_fraction"] for r in a["history"] if "data_fraction" in r]
    from safetensors.torch import load_file
    ma = load_file(checkpoints(tmp_path / "one")[-1] / "model.safetensors")
    mb = load_file(checkpoints(tmp_path / "two")[-1] / "model.safetensors")
    assert max((ma[k] - mb[k]).abs().max().item() for k in ma) < 1e-5


@pytest.mark.gpu
def test_gpu_bf16_compiled_run_learns_and_reports_mfu(tmp_path, tokenizer_dir):
    from tinyhelen.train import TrainConfig, train
    texts = sample_texts(("wiki", "book"))
    cfg = TrainConfig(model="llama-2K-1M", tokenizer=str(tokenizer_dir), max_steps=40, block_size=128, micro_batch=16,
                      eval_every=40, log_every=10, lr=3e-3, save_every=-1, out_dir=str(tmp_path / "ck"), progress=False)
    import datasets
    data = datasets.Dataset.from_dict({"text": texts})
    res = train(cfg, data, data)
    losses = [r["train/loss"] for r in res["history"] if "train/loss" in r]
    assert losses[-1] < losses[0] - 1.0
    from tinyhelen.models import peak_flops
    if peak_flops(torch.cuda.get_device_name()):
        assert all(0 < r["mfu"] < 1 for r in res["history"] if "tokens_per_s" in r)


def _pretrain(tmp_path, tokenizer_dir, steps=3):
    from tinyhelen.train import TrainConfig, train
    import datasets
    data = datasets.Dataset.from_dict({"text": sample_texts()})
    cfg = TrainConfig(model="llama-smoke", tokenizer=str(tokenizer_dir), max_steps=steps, block_size=32, micro_batch=4,
                      eval_every=0, eval_batches=1, out_dir=str(tmp_path / "pre"), progress=False, device="cpu")
    return train(cfg, data, data)["checkpoint"], data


def test_checkpoint_round_trips_through_from_pretrained(tmp_path, tokenizer_dir):
    "A checkpoint is a plain transformers folder: AutoModel/AutoTokenizer load it and give the trained model's logits."
    import transformers as tf
    from tinyhelen.train import run_tokenizer, TrainConfig
    ckpt, _ = _pretrain(tmp_path, tokenizer_dir)
    names = {p.name for p in Path(ckpt).iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "state.pt"} <= names, names
    model = tf.AutoModelForCausalLM.from_pretrained(ckpt).eval()
    tok = tf.AutoTokenizer.from_pretrained(ckpt)
    ids = tok("the cat sat on the mat", return_tensors="pt")["input_ids"]
    model.save_pretrained(tmp_path / "again")
    again = tf.AutoModelForCausalLM.from_pretrained(tmp_path / "again").eval()
    with torch.no_grad():
        assert torch.equal(model(ids).logits, again(ids).logits)
    assert tok.get_vocab() == tf.AutoTokenizer.from_pretrained(tokenizer_dir).get_vocab()
    assert run_tokenizer(TrainConfig(model="llama-smoke", init_from=ckpt)) == ckpt
    # named so that transformers 4.x reads it too (checked by hand with 4.46.3 and 4.57.1: same ids, same logits)
    assert json.loads((Path(ckpt) / "tokenizer_config.json").read_text())["tokenizer_class"] == "PreTrainedTokenizerFast"


def test_init_from_uses_the_checkpoints_own_tokenizer(tmp_path, tokenizer_dir):
    "SFT from a checkpoint takes the checkpoint's tokenizer; a different tokenizer beside init_from is refused."
    import datasets
    from tinyhelen.core import DataError
    from tinyhelen.train import TrainConfig, train
    ckpt, _ = _pretrain(tmp_path, tokenizer_dir)
    qa = datasets.Dataset.from_dict({"prompt": [f"add {i} and {i}\n" for i in range(16)], "response": [str(2 * i) for i in range(16)]})
    sft = TrainConfig(model="llama-smoke", objective="sft", init_from=ckpt, max_steps=2, block_size=32, micro_batch=4,
                      eval_every=0, eval_batches=1, out_dir=str(tmp_path / "sft"), progress=False, device="cpu")
    res = train(sft, qa, qa)
    saved = json.loads((Path(res["checkpoint"]) / "tokenizer.json").read_text())["model"]["vocab"]
    assert saved == json.loads((Path(ckpt) / "tokenizer.json").read_text())["model"]["vocab"]
    other = tmp_path / "other-tok"
    train_tokenizer(sample_texts(("conversation",)), "gpt", vocab_size=500, out=other)
    with pytest.raises(ValueError, match="is not the tokenizer of init_from"):
        train(TrainConfig(**{**sft.__dict__, "tokenizer": str(other), "out_dir": str(tmp_path / "sft2")}), qa, qa)
    (tmp_path / "bare").mkdir()
    with pytest.raises(DataError, match="init_from has no tokenizer"):
        train(TrainConfig(**{**sft.__dict__, "init_from": str(tmp_path / "bare"), "out_dir": str(tmp_path / "sft3")}), qa, qa)

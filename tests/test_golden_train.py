"""Golden digests of short seeded CPU training runs on the embedded sample.

The digests were computed on the code before training data and the training loop were split into two
modules (commit 7946cd4) and checked to be identical across separate processes. They guard refactoring:
a changed digest means a move changed what is tokenised, batched, trained or scored. Losses are rounded
to 6 significant digits (the last bits of a float sum are not part of the behaviour); token ids are exact.
"""
import hashlib
import json

import datasets
import numpy as np
import pytest
import torch

from tinyhelen.core import SAMPLE_DATA
from tinyhelen.eval.glue import GlueConfig, task_data
from tinyhelen.experiment import instruction_pairs
from tinyhelen.tokenizers import train_tokenizer
from tinyhelen.train import TrainConfig, build_examples, make_source, train
from tinyhelen.train_data import cls_examples, document_losses, sft_examples, tokenize_docs

GOLDEN = {
    "tokenizer": "f5a9141a344f3768",
    "pretrain_batch": "51852559ef28489a",
    "pretrain": "0d331abd577ae5a5",
    "mlm": "90227aa32f6254df",
    "sft_batch": "65c54c08eccf4d01",
    "sft": "8d3cfb5fc56baa13",
    "instruct_all": "7c8c1baa177aa693",
    "curriculum_sentlen": "96c75d0b6b3e724e",
    "curriculum_selfloss": "0d9f7a80e363eb37",
    "document_losses": "f4057d63d8227703",
    "cls_batch": "50b5eacb657fd554",
    "cls": "75ac1903561fee11",
}


def digest(obj) -> str:
    "sha1 of a JSON form of `obj`: floats at 6 significant digits, tensors and arrays as their exact values."
    def plain(x):
        if isinstance(x, (torch.Tensor, np.ndarray)):
            x = x.tolist()
        if isinstance(x, float):
            return float(f"{x:.6g}")
        if isinstance(x, dict):
            return {k: plain(v) for k, v in sorted(x.items())}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        return x
    return hashlib.sha1(json.dumps(plain(obj), sort_keys=True).encode()).hexdigest()[:16]


def texts(genres, split="validation"):
    folder = SAMPLE_DATA / "tinyhelen/leaner/10M" / split
    return [json.loads(l)["text"] for g in genres for l in (folder / f"{g}0000.jsonl").read_text().splitlines() if l.strip()]


def curve(result) -> list[dict]:
    "The run's logged numbers, without timings (tokens/s and MFU vary between runs)."
    drop = {"tokens_per_s", "mfu"}
    return [{k: v for k, v in row.items() if k not in drop} for row in result["history"]]


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    "Every digest, computed once with one CPU thread (reductions then sum in one fixed order)."
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield compute(tmp_path_factory.mktemp("golden"))
    finally:
        torch.set_num_threads(threads)


def compute(tmp) -> dict:
    out = {}
    tok_dir = tmp / "tok"
    tok = train_tokenizer(texts(("wiki", "book")), "gpt", vocab_size=600, out=tok_dir)
    out["tokenizer"] = digest(sorted(tok.get_vocab().items()))
    train_set = datasets.Dataset.from_dict({"text": texts(("wiki",))})
    val_set = datasets.Dataset.from_dict({"text": texts(("wiki",), "test")})
    base = dict(model="llama-smoke", tokenizer=str(tok_dir), block_size=32, micro_batch=4, max_steps=20, eval_every=10,
                eval_batches=2, log_every=1, lr=5e-3, warmup_steps=3, device="cpu", compile="no", progress=False)

    # (a) plain causal pre-training: the first batch's token ids and the run's losses
    cfg = TrainConfig(**base, out_dir=str(tmp / "pre"), save_every=0, keep_last=1)
    out["pretrain_batch"] = digest(make_source(cfg, build_examples(train_set, cfg, tok), tok, "cpu", None).next(8))
    pre = train(cfg, train_set, val_set)
    out["pretrain"] = digest(curve(pre))
    mlm_tok = train_tokenizer(texts(("wiki",)), "bert", vocab_size=600, out=tmp / "bert-tok")
    mlm = TrainConfig(**{**base, "model": "bert-smoke", "tokenizer": str(tmp / "bert-tok"), "objective": "mlm",
                         "max_steps": 8, "eval_every": 8}, out_dir=str(tmp / "mlm"), save_every=-1)
    out["mlm"] = digest([digest(sorted(mlm_tok.get_vocab().items())), curve(train(mlm, train_set, val_set))])

    # (b) instruction tuning from the pre-trained checkpoint, as experiment 04 does: prompt masked (sft),
    # and packed causal LM on the whole templated text (instruct_loss="all")
    pairs = instruction_pairs("leaner", "code", "10M", "validation", limit=32)
    val_pairs = instruction_pairs("leaner", "code", "10M", "test", limit=16)
    sft_ex = sft_examples(pairs, tok, 256)
    out["sft_batch"] = digest({k: v[:8] for k, v in sft_ex.items()})
    tune = {**base, "tokenizer": "", "init_from": pre["checkpoint"], "block_size": 256, "max_steps": 10, "eval_every": 5}
    sft = TrainConfig(**tune, objective="sft", out_dir=str(tmp / "sft"), save_every=-1)
    out["sft"] = digest(curve(train(sft, pairs, val_pairs)))
    whole = lambda d: d.map(lambda r: {"text": r["prompt"] + r["response"]})
    packed = TrainConfig(**tune, objective="clm", out_dir=str(tmp / "all"), save_every=-1)
    out["instruct_all"] = digest(curve(train(packed, whole(pairs), whole(val_pairs))))

    # (c) curricula: sentence length, and the model's own per-document losses (re-ranked at each expansion)
    grow = dict(eval_every=4, threshold=100.0, curriculum_start=0.3, curriculum_step=0.3, save_every=-1)
    for order in ("iter-sentlen", "iter-selfloss"):
        c = TrainConfig(**{**base, **grow}, data_order=order, out_dir=str(tmp / order))
        res = train(c, train_set, val_set)
        out[f"curriculum_{order[5:]}"] = digest(curve(res))
        out[f"fractions_{order[5:]}"] = [r["data_fraction"] for r in res["history"] if "data_fraction" in r]
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(pre["checkpoint"])
    out["document_losses"] = digest(document_losses(model, tokenize_docs(val_set, tok), 32, 4))

    # a Leaner-GLUE classification batch (sentence pairs) and a short fine-tuning run on it
    mrpc = task_data("mrpc", GlueConfig(checkpoint="llama-smoke", limit=32))
    out["cls_batch"] = digest(cls_examples(mrpc["train"], tok, 48, "sentence1,sentence2", "label", 2))
    cls = TrainConfig(**{**base, "block_size": 48, "max_steps": 6, "eval_every": 3}, objective="cls",
                      text_field="sentence1,sentence2", out_dir=str(tmp / "cls"), save_every=-1)
    out["cls"] = digest(curve(train(cls, mrpc["train"], mrpc["validation"])))
    return out


@pytest.mark.parametrize("name", list(GOLDEN))
def test_golden_digest(golden, name):
    assert golden[name] == GOLDEN[name], f"{name}: digest {golden[name]} != golden {GOLDEN[name]} (behaviour changed)"


@pytest.mark.parametrize("scorer", ["sentlen", "selfloss"])
def test_golden_curricula_grow(golden, scorer):
    "The digested curriculum runs do introduce data (a digest of a curriculum stuck at 30% would guard less)."
    fractions = golden[f"fractions_{scorer}"]
    assert fractions[0] < 0.5 and fractions[-1] == 1.0 and fractions == sorted(fractions), fractions


if __name__ == "__main__":  # print the digests (run in two processes to check they are stable)
    import sys
    import tempfile
    from pathlib import Path
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as d:
        json.dump({k: v for k, v in compute(Path(d)).items() if k in GOLDEN}, sys.stdout, indent=1)

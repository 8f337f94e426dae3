"""The instruction-following evaluator against a real judge: the `openai` client and a local HTTP server (LocalChatServer)
that answers well-formed and malformed JSON; tiny random-weight models from the zoo for the answers."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinyhelen.eval.instruct import CRITERIA, evaluate_instruct, fixture_judge, load_questions
from tinyhelen.llm import LocalChatServer

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("leanerpre-zebra", "oripre-walrus")  # distinctive: they must never reach the judge
KW = dict(per_bin=2, max_new_tokens=8, wandb="disabled", progress=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    "Two random-weight llama-smoke checkpoints (different seeds) with a 300-entry BPE trained on the questions."
    from tinyhelen.models import build_model, model_config
    from tinyhelen.tokenizers import train_tokenizer
    d = tmp_path_factory.mktemp("models")
    tok = train_tokenizer([q["question"] for q in load_questions()], vocab_size=300)
    out = {}
    for i, name in enumerate(NAMES):
        m = build_model(model_config("llama-smoke", vocab_size=len(tok)), seed=i, eos_token_id=tok.eos_token_id,
                        pad_token_id=tok.pad_token_id)
        m.save_pretrained(d / name)
        tok.save_pretrained(d / name)
        out[name] = str(d / name)
    return out


class Judge:
    "A responder for LocalChatServer: records every conversation; malformed first replies for `flaky` questions."
    def __init__(self, flaky=()):
        self.flaky, self.seen = tuple(flaky), []

    def __call__(self, msgs):
        self.seen.append(msgs)
        user = msgs[1]["content"] if len(msgs) > 1 else msgs[0]["content"]
        if len(msgs) == 2 and any(q in user for q in self.flaky):
            return "Scores: A gets 4, B gets 3."  # not JSON; the repair turn gets a good reply
        return fixture_judge(msgs)


def _judge_kw(srv, out):
    return dict(judge_backend="openai", judge_model="judge", judge_base_url=srv.base_url, out=str(out))


def test_retries_failures_anonymity_and_cache(tiny, tmp_path):
    qs = load_questions(per_bin=2)
    flaky, broken = qs[0]["question"], qs[1]["question"]
    judge = Judge(flaky=[flaky])
    with LocalChatServer(responder=judge, malformed=[broken]) as srv:  # `broken`: malformed on every attempt
        res = evaluate_instruct(tiny, **_judge_kw(srv, tmp_path / "run"), retries=2, **KW)
        st = res["judge_stats"]
        assert st["judged"] == len(qs) - 1 and st["parse_failures"] == 1, st
        assert st["retries"] == 1 + 2, "one repair for the flaky question, two for the broken one"
        assert srv.requests == 1 + len(qs) + 3, "probe + one per question + retries"
        recs = [json.loads(l) for l in (tmp_path / "run/judgments.jsonl").read_text().splitlines()]
        bad = [r for r in recs if r["status"] == "failed"]
        assert len(bad) == 1 and bad[0]["id"] == qs[1]["id"] and "scores" not in bad[0]
        assert next(r for r in recs if r["id"] == qs[0]["id"])["attempts"] == 2
        # anonymised: no model name or checkpoint path in anything the judge saw
        sent = json.dumps(judge.seen)
        assert not any(n in sent for n in NAMES) and not any(p in sent for p in tiny.values())
        assert "[Answer A]" in sent and "[Answer B]" in sent
        # de-anonymised results: every judged record scores both models, by name
        assert all(set(r["scores"]) == set(NAMES) and all(set(s) == set(CRITERIA) for s in r["scores"].values())
                   for r in recs if r["status"] == "ok")
        assert {f"judge/{n}/total" for n in NAMES} <= set(res["scores"])
        # a second run over the same folder makes no calls, probe included
        before = srv.requests
        res2 = evaluate_instruct(tiny, **_judge_kw(srv, tmp_path / "run"), retries=2, **KW)
        assert srv.requests == before and res2["judge_stats"]["skipped"] == len(qs)
        assert res2["scores"] == res["scores"]
        # a fresh output folder with the same reply cache asks nothing either
        res3 = evaluate_instruct(tiny, **_judge_kw(srv, tmp_path / "run2"), judge_cache=str(tmp_path / "run/judge_cache"),
                                 retries=2, **KW)
        assert srv.requests == before + 1, "only the probe: every judge reply came from the cache"
        assert res3["usage"]["calls"] == 0 and res3["scores"] == res["scores"]


def test_resume_after_kill(tiny, tmp_path):
    "kill -9 a CLI run in the middle of judging; the rerun sends only the requests that were never answered."
    qs = load_questions(per_bin=2)
    out = tmp_path / "run"
    with LocalChatServer(responder=Judge(), latency=0.25) as srv:
        args = ["eval", "instruct", *sum((["--model", f"{n}={p}"] for n, p in tiny.items()), []), "--out", str(out),
                "--per-bin", "2", "--max-new-tokens", "8", "--judge-base-url", srv.base_url, "--judge-model", "judge",
                "--concurrency", "1", "--wandb", "disabled"]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TINYHELEN_RUNS": str(tmp_path / "runs")}
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from tinyhelen.cli import main; sys.exit(main(sys.argv[1:]))",
                                 *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        from tinyhelen.llm import LLMCache
        cache = LLMCache(out / "judge_cache")
        t0 = time.time()
        # poll the cache itself: under load the reply store can lag the next request (a count of requests flaked)
        while (srv.requests < 4 or len(cache) < 2) and proc.poll() is None and time.time() - t0 < 120:
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        cached = len(cache)  # replies that reached the killed process (stored on arrival)
        assert 2 <= cached < len(qs), f"killed too late or too early ({cached} replies cached)"
        assert not (out / "summary.json").exists()
        before = srv.requests
        res = evaluate_instruct(tiny, **_judge_kw(srv, out), concurrency=1, **KW)
        assert res["judge_stats"]["judged"] == len(qs) and res["judge_stats"]["parse_failures"] == 0
        assert res["usage"]["cache_hits"] == cached
        assert srv.requests - before == 1 + len(qs) - cached, "the probe plus only the never-answered prompts"


def test_no_judge_reports_only_automatic_measures(tiny, tmp_path, capsys, monkeypatch):
    import socket
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = evaluate_instruct(tiny, judge_backend="openai", judge_base_url=f"http://127.0.0.1:{port}/v1",
                            out=str(tmp_path / "a"), reference=tiny[NAMES[0]], **KW)
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("no judge: tried openai") and f"127.0.0.1:{port}" in line and "--judge-backend" in line
    assert res["judge"] == "none" and res["scores"] == {} and res["judge_stats"] is None
    from tinyhelen.data import words
    for name in NAMES:  # the reported length is the mean word count of the answers the run stored
        answers = json.loads((tmp_path / "a/answers" / f"{name}.json").read_text())["answers"]
        assert len(answers) == res["questions"]
        assert res["measures"][f"{name}/words"] == pytest.approx(sum(len(words(a)) for a in answers.values()) / len(answers), abs=1e-4)
    assert res["measures"][f"{NAMES[1]}/perplexity"] > 1
    assert not (tmp_path / "a/scores.png").exists() and not (tmp_path / "a/judgments.jsonl").exists()
    summary = (tmp_path / "a/summary.csv").read_text()
    assert "grammar" not in summary and "core2k_coverage" in summary
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    res = evaluate_instruct(tiny, judge_backend="openai", out=str(tmp_path / "b"), **KW)
    line = capsys.readouterr().out.splitlines()[0]
    assert res["scores"] == {} and "OPENAI_API_KEY is not set" in line


def test_cli_no_judge(tiny, tmp_path):
    r = subprocess.run([sys.executable, "-c", "import sys; from tinyhelen.cli import main; sys.exit(main(sys.argv[1:]))",
                        "eval", "instruct", "--model", f"a={tiny[NAMES[0]]}", "--out", str(tmp_path / "o"),
                        "--per-bin", "1", "--max-new-tokens", "4", "--judge-backend", "none", "--wandb", "disabled"],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "TINYHELEN_RUNS": str(tmp_path / "runs")})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("no judge: --judge-backend none") and "## Automatic measures" in r.stdout
    assert json.loads((tmp_path / "o/summary.json").read_text())["judge"] == "none"


EXPERIMENT = ROOT / "nbs" / "experiments" / "06_judge.ipynb"


def test_experiment_notebook_is_parameterized_and_skipped_by_nbdev_test():
    nb = json.loads(EXPERIMENT.read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "parameters" in first["metadata"].get("tags", []), "papermill needs the first code cell tagged `parameters`"
    src = "".join(first["source"])
    for p in ("profile", "out_dir", "run_dir", "leaner_leaner", "ori_ori", "judge_backend", "per_bin"):
        assert f"\n{p} = " in "\n" + src, p
    assert (EXPERIMENT.parent / ".notest").exists(), "nbdev_test must not run experiments at full size"


@pytest.mark.slow
def test_experiment_smoke_profile(tmp_path):
    "The smoke profile alone: trains the four tiny recipes, judges with the fixture judge, writes results.json."
    import papermill as pm
    out = tmp_path / "out"
    t = time.time()
    pm.execute_notebook(str(EXPERIMENT), str(tmp_path / "executed.ipynb"), parameters={"out_dir": str(out)},
                        kernel_name="python3", cwd=str(EXPERIMENT.parent), progress_bar=False)
    seconds = time.time() - t
    res = json.loads((out / "results.json").read_text())
    assert res["profile"] == "smoke" and res["fixture_scores"] is True and res["trained_here"] is True
    assert res["judge_stats/judged"] == res["questions"] == 12 and res["judge_stats/parse_failures"] == 0
    recipes = ("leaner-leaner", "leaner-ori", "ori-leaner", "ori-ori")
    assert all(f"fixture/{r}/total" in res and f"{r}/words" in res for r in recipes)
    assert not any(k.startswith("judge/") for k in res), "fixture scores are never reported as judge scores"
    assert (out / "scores.png").exists() and (out / "summary.md").read_text().count("fixture") >= 1
    print(f"smoke profile: {seconds:.0f} s")


def test_transformers_judge_that_cannot_follow_the_format(tiny, tmp_path):
    "A real local LM as judge (random weights): every reply is malformed, so every prompt is a counted failure."
    from tinyhelen.eval.instruct import answer_questions, judge, resolve_judge
    from tinyhelen.eval.code import GenConfig
    qs = load_questions(per_bin=1)
    answers = answer_questions(tiny, qs, GenConfig(max_new_tokens=4))
    be, why = resolve_judge("transformers", model=tiny[NAMES[0]], cache_dir=str(tmp_path / "cache"), max_tokens=8)
    assert be is not None and why == ""
    recs, st = judge(be, qs, answers, out=str(tmp_path), retries=1)
    assert st.parse_failures == len(qs) and st.judged == 0 and st.retries == len(qs)
    assert all(r["status"] == "failed" and "scores" not in r and r["attempts"] == 2 for r in recs)
    assert resolve_judge("transformers", model=str(tmp_path / "nope"))[0] is None


def _params(nb: Path) -> set[str]:
    "The names a notebook's papermill parameters cell defines."
    import ast
    cells = json.loads(nb.read_text())["cells"]
    src = "".join(next(c for c in cells if "parameters" in c["metadata"].get("tags", []))["source"])
    return {t.id for node in ast.parse(src).body if isinstance(node, ast.Assign) for t in node.targets}


def test_instruct_04_and_06_agree_on_the_loss_and_the_handover():
    "04 and 06 both default to the paper's whole-text loss, and 04's output names are 06's parameter names."
    exp = ROOT / "nbs" / "experiments"
    p04, p06 = _params(exp / "04_instruct_2x2.ipynb"), _params(exp / "06_judge.ipynb")
    assert {"instruct_loss", "init_leaner", "init_ori"} <= p04 and "instruct_loss" in p06
    assert {"leaner_leaner", "leaner_ori", "ori_leaner", "ori_ori"} <= p06
    for nb in ("04_instruct_2x2", "06_judge"):
        ns = {}
        exec("".join(next(c for c in json.loads((exp / f"{nb}.ipynb").read_text())["cells"]
                          if "parameters" in c["metadata"].get("tags", []))["source"]), ns)
        assert ns["instruct_loss"] == "all", nb


@pytest.mark.slow
def test_instruct_chain_04_to_06(tmp_path):
    "04 (tiny) trains on the whole text and writes outputs.json; 06 takes those four checkpoints by name."
    import papermill as pm
    import torch
    exp = ROOT / "nbs" / "experiments"
    out4 = tmp_path / "04"
    pm.execute_notebook(str(exp / "04_instruct_2x2.ipynb"), str(tmp_path / "04.ipynb"), kernel_name="python3",
                        cwd=str(exp), progress_bar=False,
                        parameters={"out_dir": str(out4), "pretrain_steps": 3, "max_steps": 2, "eval_every": 2, "warmup_steps": 1})
    outputs = json.loads((out4 / "outputs.json").read_text())
    recipes = {"leaner_leaner", "leaner_ori", "ori_leaner", "ori_ori"}
    assert recipes | {"pretrained_leaner", "pretrained_ori"} == set(outputs)
    tuned = Path(outputs["leaner_ori"])
    tuned = tuned if tuned.is_absolute() else out4 / tuned
    state = torch.load(tuned / "state.pt", map_location="cpu", weights_only=False)
    assert state["config"]["objective"] == "clm" and state["config"]["tokenizer"] == ""  # whole text; the checkpoint's tokenizer
    # 03 -> 04: start from given pre-trained checkpoints (here the first run's), each with its own tokenizer
    out4b = tmp_path / "04b"
    pre = {v: str(out4 / outputs[f"pretrained_{v}"]) for v in ("leaner", "ori")}
    pm.execute_notebook(str(exp / "04_instruct_2x2.ipynb"), str(tmp_path / "04b.ipynb"), kernel_name="python3",
                        cwd=str(exp), progress_bar=False,
                        parameters={"out_dir": str(out4b), "max_steps": 1, "eval_every": 1, "warmup_steps": 1,
                                    "init_leaner": pre["leaner"], "init_ori": pre["ori"]})
    again = json.loads((out4b / "outputs.json").read_text())
    assert not (out4b / "tokenizer").exists() and not (out4b / "checkpoints" / "pretrain").exists()
    state = torch.load(out4b / again["ori_leaner"] / "state.pt", map_location="cpu", weights_only=False)
    assert state["config"]["init_from"] == pre["ori"]
    out6 = tmp_path / "06"
    pm.execute_notebook(str(EXPERIMENT), str(tmp_path / "06.ipynb"), kernel_name="python3", cwd=str(exp), progress_bar=False,
                        parameters={"out_dir": str(out6), "per_bin": 1, "max_new_tokens": 4,
                                    **{r: str(out4 / outputs[r]) for r in recipes}})
    res = json.loads((out6 / "results.json").read_text())
    assert res["trained_here"] is False and res["questions"] == 4

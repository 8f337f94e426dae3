"""The refinement pipeline end to end: real datatrove executor, real `openai` client, a local server on 127.0.0.1."""
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import zstandard

from tinyhelen.llm import LocalChatServer
from tinyhelen.refine import RefineConfig, core_vocab, oov, refine, toy_responder

REPO = Path(__file__).resolve().parents[1]


def write_jsonl(path: Path, recs, compress=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r) + "\n" for r in recs).encode()
    path.write_bytes(zstandard.ZstdCompressor().compress(data) if compress else data)


def read_out(folder: Path):
    items = [json.loads(l) for f in sorted((folder / "leaner").glob("*.jsonl")) for l in f.read_text().splitlines()]
    rejects = [json.loads(l) for l in (folder / "rejects.jsonl").read_text().splitlines()]
    return items, rejects


def web_docs(n):
    return [{"id": f"d{i:03d}", "genre": "web", "text": f"Story {i}. " + " ".join(
        f"The traveller number {i} walked slowly to the ancient market number {j} and bought delicious bread." for j in range(12))}
        for i in range(n)]


def accounted(items, rejects):
    "Each input id once in the output, or only in the rejects."
    out_ids = Counter(r["id"] for r in items)
    assert max(out_ids.values()) == 1, "no document written twice"
    return set(out_ids) | {r["id"] for r in rejects}


def test_bad_input_gives_counted_rejects(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    good = {"id": "ok", "genre": "web", "text": "The happy children played a long game in the big green park near the school today. " * 3}
    huge = {"id": "huge", "genre": "book", "text": "The little boat went down the long river to the sea. " * 4000}
    lines = [json.dumps(good).encode(), b'{"id": "latin1", "genre": "web", "text": "caf\xe9"}', b"{not json",
             json.dumps({"id": "empty", "genre": "web", "text": ""}).encode(),
             json.dumps({"id": "nomark", "genre": "web", "text": "NOMARKER please answer badly for this long enough text here."}).encode(),
             json.dumps(huge).encode(), json.dumps({"id": "nogenre", "text": "x"}).encode()]
    (inp / "mixed.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    write_jsonl(inp / "more.jsonl.zst", [{"id": "zst", "genre": "wiki", "text": "The red fox ran into the quiet forest to find some food for her young ones. " * 3}], compress=True)
    with LocalChatServer(toy_responder, malformed=["NOMARKER"]) as srv:
        rep = refine(RefineConfig(input=str(inp), output=str(tmp_path / "out"), model="toy", base_url=srv.base_url, concurrency=8))
    items, rejects = read_out(tmp_path / "out")
    reasons = Counter(r["reason"] for r in rejects)
    assert reasons == {"not_utf8": 1, "bad_json": 1, "empty": 1, "no_answer_marker": 1, "unknown_genre": 1}, reasons
    assert rep["rejects_by_reason"] == dict(reasons)
    assert {r["id"] for r in items} == {"ok", "huge", "zst"}, "compressed input is read; a huge document is chunked, not dropped"
    big = next(r for r in items if r["id"] == "huge")
    assert big["n_chunks"] > 100 and big["chunks_ok"] == big["n_chunks"]


def test_multi_document_calls_and_math_grades(tmp_path):
    wiki = [{"id": f"w{i}", "genre": "wiki", "text": f"Article {i}. The river flows to the sea and many fish live in the water near the town."} for i in range(6)]
    math = [{"id": f"m{i}", "genre": "math", "problem": "x" * (i * 45), "hints": []} for i in range(1, 5)]
    ins = [{"id": "i1", "genre": "instruction", "instruction": "Name a colour of the sky.", "input": "", "output": "Blue."}]
    write_jsonl(tmp_path / "in" / "a.jsonl", wiki + math + ins)
    with LocalChatServer(toy_responder) as srv:
        refine(RefineConfig(input=str(tmp_path / "in"), output=str(tmp_path / "out"), model="toy", base_url=srv.base_url,
                            keep_grade="C", min_chars=10))
        assert srv.requests == 2 + 1 + 1, "wiki: 3 documents per call; math: up to 8 problems per grading call"
    items, rejects = read_out(tmp_path / "out")
    assert {r["id"] for r in items if r["genre"] == "wiki"} == {f"w{i}" for i in range(6)}
    grades = {r["id"]: r["grade"] for r in items if r["genre"] == "math"}
    assert grades == {"m1": "B", "m2": "C"}, grades  # the stand-in grades by length: 45 chars -> B, 90 -> C, ...
    assert Counter(r["reason"] for r in rejects) == {"too_hard": 2}
    ins, = [r for r in items if r["genre"] == "instruction"]
    assert ins["text"].startswith("### TASK INPUT:\nName a ") and "sky" in ins["text"] and ins["text"].endswith("### RESPONSE:\nBlue.")


def test_missing_key_stops_before_running(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    write_jsonl(tmp_path / "in" / "a.jsonl", web_docs(1))
    with pytest.raises(ConnectionError, match="paper-replay"):
        refine(RefineConfig(input=str(tmp_path / "in"), output=str(tmp_path / "out")))
    assert not (tmp_path / "out" / "logs").exists()


def test_glue_relabel_check(tmp_path):
    recs = [{"sentence": f"This film number {i} was a truly wonderful experience for the whole family.", "label": i % 2, "idx": i}
            for i in range(12)]
    write_jsonl(tmp_path / "in" / "sst2_validation.jsonl", recs)
    with LocalChatServer(toy_responder) as srv:
        refine(RefineConfig(input=str(tmp_path / "in"), output=str(tmp_path / "out"), model="toy", base_url=srv.base_url))
        assert srv.requests == 24, "one rewrite and one re-labelling call per item"
    items, rejects = read_out(tmp_path / "out")
    assert len(items) + len(rejects) == 12 and {r["reason"] for r in rejects} <= {"label_changed"}
    assert all(r["label"] == r["relabel"] and r["task"] == "sst2" and r["fields"]["sentence"] for r in items)
    assert 0 < len(items) < 12, "the stand-in's labels agree with some gold labels and not others"
    glue = [json.loads(l) for l in (tmp_path / "out" / "leaner" / "glue" / "sst2.jsonl").read_text().splitlines()]
    assert [set(r) for r in glue] == [{"sentence", "label", "idx"}] * len(items), "Leaner-GLUE's own record layout"


def test_questions_command(tmp_path):
    from tinyhelen.refine import questions
    ex = tmp_path / "ex.jsonl"
    write_jsonl(ex, [{"question": q} for q in ["Why is the sky blue?", "What do cows eat?", "How do birds fly?"]])
    write_jsonl(tmp_path / "train" / "t.jsonl", [{"genre": "wiki", "text": "Birds fly in the sky. Cows eat grass on the farm."}])
    with LocalChatServer(toy_responder) as srv:
        rows = questions(str(ex), str(tmp_path / "q.jsonl"), training=str(tmp_path / "train"), n=6, calls=2,
                         model="toy", base_url=srv.base_url, cache_dir=str(tmp_path / "c"))
    saved = [json.loads(l) for l in (tmp_path / "q.jsonl").read_text().splitlines()]
    assert saved == rows and len(rows) >= 3
    assert all(0 <= r["training_similarity"] <= 10 and r["bin"] in ("0-7", "7-8", "8-9", "9-10") for r in rows)


def test_vocabulary_reask_is_bounded_and_lowers_oov(tmp_path):
    hard = "The perspicacious ornithologist meticulously catalogued iridescent plumage beside the tranquil estuary."
    def lazy_then_toy(messages):  # first answer keeps the hard words; re-asks are answered by the stand-in
        if messages[-1]["content"].startswith("These words"):
            return toy_responder(messages)
        return "EDITED: " + messages[-1]["content"].rsplit("TEXT:\n", 1)[1]
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": "h", "genre": "book", "text": hard}])
    with LocalChatServer(lazy_then_toy) as srv:
        refine(RefineConfig(input=str(tmp_path / "in"), output=str(tmp_path / "out"), model="toy", base_url=srv.base_url,
                            reask=2, max_oov=0.05, min_chars=10))
        assert srv.requests <= 1 + 2
    (item,), _ = read_out(tmp_path / "out")
    assert item["oov"] < oov(hard)[0] and item["reasks"] >= 1 and "ornithologist" not in item["text"]


def _refine_cmd(inp, out, base_url, cache):
    code = "import sys; from tinyhelen.cli import main; main(sys.argv[1:])"
    return [sys.executable, "-c", code, "refine", "run", "--input", str(inp), "--output", str(out), "--model", "toy",
            "--base-url", base_url, "--tasks", "2", "--batch", "4", "--concurrency", "2", "--cache-dir", str(cache)]


def test_kill_9_and_resume(tmp_path):
    docs = web_docs(30)
    write_jsonl(tmp_path / "in" / "a.jsonl", docs[:15])
    write_jsonl(tmp_path / "in" / "b.jsonl", docs[15:])
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENAI_API_KEY": "local"}
    with LocalChatServer(toy_responder, latency=0.05) as srv:
        cmd = _refine_cmd(tmp_path / "in", tmp_path / "out", srv.base_url, tmp_path / "cache")
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while sum(srv.served.values()) < 12 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None, "the run must still be going when it is killed"
        os.killpg(proc.pid, signal.SIGKILL)  # the process group this test started: the run and its workers
        proc.wait()
        before = sum(srv.served.values())
        assert 12 <= before < len(docs) * 2
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        repeated = sum(n - 1 for n in srv.served.values())
        assert repeated <= 2, f"only calls in flight at the kill (concurrency 2) may be asked again, not {repeated}"
        n_calls = len(srv.served)
    items, rejects = read_out(tmp_path / "out")
    assert accounted(items, rejects) == {d["id"] for d in docs} and not rejects, "nothing lost"
    # the same run, uninterrupted, gives the same output
    with LocalChatServer(toy_responder) as srv2:
        subprocess.run(_refine_cmd(tmp_path / "in", tmp_path / "out2", srv2.base_url, tmp_path / "cache2"), env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        assert len(srv2.served) == n_calls
    assert read_out(tmp_path / "out2") == (items, rejects)


def test_cli_help():
    code = "import sys; from tinyhelen.cli import main; main(sys.argv[1:])"
    out = subprocess.run([sys.executable, "-c", code, "refine", "run", "--help"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=True).stdout
    assert "--base-url" in out and "--reask" in out and "paper-replay" in out and "resumes" in out


def test_paper_replay_on_embedded_sample(tmp_path):
    pytest.importorskip("tinyhelen.data")
    rep = refine(RefineConfig(backend="paper-replay", model="paper", genres="wiki,textbook", output=str(tmp_path / "out")))
    items, rejects = read_out(tmp_path / "out")
    assert rep["genres"]["wiki"]["items"] > 50 and rep["genres"]["textbook"]["items"] > 30
    assert "REPLAY" in rep["backend"] and all(r["backend"] == "replay" for r in items)
    assert rep["oov_rate"] < 0.2 and rep["genres"]["wiki"]["placeholder_density"] > 0.01
    assert all(oov(r["text"], core_vocab())[0] == pytest.approx(r["oov"]) for r in items if r["n_chunks"] == 1)


def test_shared_call_that_merges_documents_is_asked_again_alone(tmp_path):
    def merging(messages):  # answers a several-document prompt with a single part
        text = toy_responder(messages)
        return text if text.count("<end>") == 1 else text.replace(" <end>\n", " ", text.count("<end>") - 1)
    wiki = [{"id": f"w{i}", "genre": "wiki", "text": f"Article {i}. The river flows to the sea and many fish live in the water."} for i in range(3)]
    write_jsonl(tmp_path / "in" / "a.jsonl", wiki)
    with LocalChatServer(merging) as srv:
        refine(RefineConfig(input=str(tmp_path / "in"), output=str(tmp_path / "out"), model="toy", base_url=srv.base_url, min_chars=10))
        assert srv.requests == 1 + 3
    items, rejects = read_out(tmp_path / "out")
    assert [r["id"] for r in items] == ["w0", "w1", "w2"] and not rejects

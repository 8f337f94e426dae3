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
from tinyhelen.refine import RefineConfig, refine, toy_responder
from tinyhelen.refine_text import leaner_vocabulary, oov

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
    rep = refine(RefineConfig(backend="paper-replay", model="paper", genres="wiki,textbook", output=str(tmp_path / "out")))
    items, rejects = read_out(tmp_path / "out")
    assert rep["genres"]["wiki"]["items"] > 50 and rep["genres"]["textbook"]["items"] > 30
    assert "REPLAY" in rep["backend"] and all(r["backend"] == "replay" for r in items)
    assert rep["oov_rate"] < 0.2 and rep["genres"]["wiki"]["placeholder_density"] > 0.01
    assert all(oov(r["text"], leaner_vocabulary())[0] == pytest.approx(r["oov"]) for r in items if r["n_chunks"] == 1)


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


# --- issue 16: nothing lost, nothing half-written; bad input is a clear message or a counted reject ----------------
def long_docs(n, sentences=40):
    "Documents of several chunks each (a web chunk holds about 300 tokens)."
    return [{"id": f"L{i:03d}", "genre": "web", "text": " ".join(
        f"The traveller number {i} walked slowly to the ancient market number {j} and bought delicious fresh bread."
        for j in range(sentences))} for i in range(n)]


def whole_or_rejected(items, rejects, docs):
    "Every document is whole in the output (all its chunks) or one reject, never both, never in part."
    by_id = {r["id"]: r for r in items}
    rejected = {r["id"] for r in rejects}
    assert not set(by_id) & rejected, "a document is either written or rejected"
    assert set(by_id) | rejected == {d["id"] for d in docs}, "nothing lost"
    for r in items:
        assert r["chunks_ok"] == r["n_chunks"] > 1, r["id"]
        words_in = len(next(d for d in docs if d["id"] == r["id"])["text"].split())
        assert len(r["text"].split()) >= 0.9 * words_in, f"{r['id']} lost text"
    return len(by_id), len(rejected)


def test_flaky_server_documents_are_whole_or_rejected_and_a_rerun_fixes_them(tmp_path):
    docs = long_docs(30)
    write_jsonl(tmp_path / "in" / "a.jsonl", docs)
    cfg = dict(input=str(tmp_path / "in"), output=str(tmp_path / "out"), model="toy", concurrency=8, max_retries=1,
               timeout=1.0, batch=16)
    with LocalChatServer(toy_responder, faults=0.3, stall=3.0, seed=1) as srv:
        rep = refine(RefineConfig(base_url=srv.base_url, **cfg))
        assert set(srv.fault_counts) == set(LocalChatServer.FAULTS), srv.fault_counts
    items, rejects = read_out(tmp_path / "out")
    whole, rejected = whole_or_rejected(items, rejects, docs)
    assert rejected > 0 and rep["items"] == whole and rep["rejects"] == rejected, (whole, rejected)
    assert {r["reason"] for r in rejects} == {"llm_error"} and all(r["chunks_failed"] for r in rejects)
    with LocalChatServer(toy_responder, faults=0.3, stall=3.0, seed=2) as srv:  # the rerun: same command
        rep2 = refine(RefineConfig(base_url=srv.base_url, **cfg))
        assert srv.requests > 0, "the failed documents are asked again"
        assert max(srv.served.values()) == 1
    items2, rejects2 = read_out(tmp_path / "out")
    whole2, rejected2 = whole_or_rejected(items2, rejects2, docs)
    assert whole2 > whole and rejected2 < rejected and rep2["items"] == whole2
    assert {r["id"]: r["text"] for r in items}.items() <= {r["id"]: r["text"] for r in items2}.items(), "kept as they were"
    print(f"flaky server, 30 documents of {items2[0]['n_chunks']} chunks: first run {whole} whole / {rejected} rejected; "
          f"rerun fixed {whole2 - whole}, {rejected2} still rejected")


def test_request_timeout_is_an_option(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", web_docs(2))
    with LocalChatServer(toy_responder, latency=1.5) as srv:
        t = time.time()
        rep = refine(RefineConfig(input=str(tmp_path / "in"), output=str(tmp_path / "out"), model="toy",
                                  base_url=srv.base_url, timeout=0.3, max_retries=0))
        assert time.time() - t < 30 and rep["rejects_by_reason"] == {"llm_error": 2}
    _, rejects = read_out(tmp_path / "out")
    assert all("Timeout" in r["detail"] for r in rejects), rejects
    r = subprocess.run([sys.executable, "-c", "import sys; from tinyhelen.cli import main; main(sys.argv[1:])",
                        "refine", "run", "--help"], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "--timeout" in r.stdout


class _Result:
    def __init__(self, returncode, stderr):
        self.returncode, self.stderr = returncode, stderr


@pytest.fixture
def cli(capsys, monkeypatch):
    "`cli(*args)`: the console script's `main`, in this process (it is what a user runs), with its exit code and stderr."
    from tinyhelen.cli import main
    monkeypatch.setenv("OPENAI_API_KEY", "local")

    def run(*args):
        capsys.readouterr()
        rc = main(list(args))
        return _Result(rc, capsys.readouterr().err)
    return run


def _one_line_error(r, *needles):
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    lines = [l for l in r.stderr.splitlines() if l.startswith("tinyhelen ")]
    assert len(lines) == 1 and all(n in lines[0] for n in needles), r.stderr[-2000:]


def test_bad_input_files_are_one_line_errors(tmp_path, cli):
    good = zstandard.ZstdCompressor().compress(b"".join(json.dumps(d).encode() + b"\n" for d in web_docs(20)))
    cases = {"corrupt.jsonl.zst": b"\x28\xb5\x2f\xfd" + bytes(range(200)), "truncated.jsonl.zst": good[: len(good) // 2],
             "empty.jsonl": b"", "empty.jsonl.zst": zstandard.ZstdCompressor().compress(b"")}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        r = cli("refine", "run", "--input", str(tmp_path / name), "--output", str(tmp_path / f"out-{name}"),
                 "--base-url", "http://127.0.0.1:9/v1")
        _one_line_error(r, str(tmp_path / name))
    (tmp_path / "nofiles").mkdir()
    _one_line_error(cli("refine", "run", "--input", str(tmp_path / "nofiles"), "--output", str(tmp_path / "o"),
                         "--base-url", "http://127.0.0.1:9/v1"), str(tmp_path / "nofiles"), "no input files")


def test_truncated_or_empty_corpus_files_are_clear_errors(tmp_path, cli):
    import shutil
    from tinyhelen.core import DataError
    from tinyhelen.data import load_corpus
    root = tmp_path / "root"
    shutil.copytree(REPO / "tinyhelen" / "sample_data", root)
    web = next((root / "tinyhelen" / "ori" / "10M" / "validation").glob("web*.jsonl.zst"))
    data = web.read_bytes()
    web.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated"):
        load_corpus("ori", ["web"], root=root)
    r = cli("data", "stats", "--data-root", str(root), "--genres", "web", "--out", str(tmp_path / "fig"))
    _one_line_error(r, str(web), "truncated")
    web.write_bytes(zstandard.ZstdCompressor().compress(b""))
    _one_line_error(cli("data", "stats", "--data-root", str(root), "--genres", "web", "--out", str(tmp_path / "fig")),
                    str(web), "no records")
    with pytest.raises(DataError, match="no records"):
        load_corpus("ori", ["web"], root=root)


def test_damaged_records_and_unparsable_code_are_rejects_with_file_and_line(tmp_path):
    recs = [json.dumps({"id": "ok", "genre": "web", "text": "The happy children played a long game in the big park. " * 3}),
            json.dumps({"id": "bravo", "genre": "web", "text": "Some text that reads like a page of the web. " * 3}),
            json.dumps({"id": "c1", "genre": "code", "prompt": "Add two numbers.", "response": "def add(a, b):\n    return a + b\n"}),
            json.dumps({"id": "c2", "genre": "code", "prompt": "Add two numbers.", "response": "def add(a, b)\n    return a +\n"})]
    # a zstd frame without a checksum: a damaged byte cannot be seen in the stream, only in what it decodes to
    packed = zstandard.ZstdCompressor(level=-5, write_checksum=False).compress(("\n".join(recs) + "\n").encode())
    at = packed.index(b"bravo") + 2  # stored as a literal: one byte of the id
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.jsonl.zst").write_bytes(packed[:at] + b"\x7f" + packed[at + 1:])  # still valid JSON
    with LocalChatServer(toy_responder) as srv:
        refine(RefineConfig(input=str(tmp_path / "in"), output=str(tmp_path / "out"), model="toy", base_url=srv.base_url))
    items, rejects = read_out(tmp_path / "out")
    why = {r["reason"]: r for r in rejects}
    assert set(why) == {"bad_id", "bad_code"} and {r["id"] for r in items} == {"ok", "c1"}, (why, [r["id"] for r in items])
    assert "x.jsonl.zst, line 2" in why["bad_id"]["detail"] and "x.jsonl.zst, line 4" in why["bad_code"]["detail"]


def test_one_huge_line_is_cut_and_identical_chunks_are_asked_once(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": "huge", "genre": "web", "text": "spam " * 20_000 + "x" * 30_000}])
    with LocalChatServer(toy_responder) as srv:
        refine(RefineConfig(input=str(tmp_path / "in"), output=str(tmp_path / "out"), model="toy", base_url=srv.base_url))
        # 100 kB of one repeated word and a 30 kB "word": four distinct chunks, not dozens of requests
        assert srv.requests <= 6, srv.requests
    items, rejects = read_out(tmp_path / "out")
    assert len(items) + len(rejects) == 1


def test_a_rerun_over_changed_input_refuses(tmp_path, cli):
    inp = tmp_path / "in" / "a.jsonl"
    write_jsonl(inp, web_docs(2))
    with LocalChatServer(toy_responder) as srv:
        args = ("refine", "run", "--input", str(inp), "--output", str(tmp_path / "out"), "--model", "toy", "--base-url", srv.base_url)
        assert cli(*args).returncode == 0
        assert cli(*args).returncode == 0, "the same input resumes"
        write_jsonl(inp, web_docs(5))
        _one_line_error(cli(*args), "different input", "a.jsonl", "--output")


def test_kill_9_leaves_no_process_and_no_partial_file(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", long_docs(8))
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENAI_API_KEY": "local"}
    out = tmp_path / "out-kill9"
    with LocalChatServer(toy_responder, latency=0.2) as srv:
        cmd = _refine_cmd(tmp_path / "in", out, srv.base_url, tmp_path / "cache")
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while sum(srv.served.values()) < 4 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)  # the run only, not its process group: its helpers must go by themselves
        proc.wait()
        time.sleep(1)
        left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, str(out))]
        assert left == [], f"processes of the killed run survive: {left}"
        (out / "work" / "items").mkdir(parents=True, exist_ok=True)
        (out / "work" / "items" / ".00000.jsonl.abc123.tmp").write_text("half")  # what a kill mid-write leaves
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    assert list(out.rglob("*.tmp")) == [] and list((tmp_path / "cache").rglob("*.tmp")) == []


def _cmdline_has(p: Path, text: str) -> bool:
    try:
        return text.encode() in (p / "cmdline").read_bytes()
    except OSError:
        return False


def test_each_kind_reads_back_the_reply_it_would_replay():
    "A recorded rewrite, put in a kind's answer format, is what that kind's parser makes of the reply."
    from datatrove.data import Document
    from tinyhelen.genres import GENRE_KINDS, ParseError, render
    texts = {"code": render("code", "Add two numbers.", "def add(a, b):\n    return a + b"),
             "instruction": render("instruction", "Name a colour of the sky.", "Blue."),
             **{g: "The cat sat on the mat. It was warm." for g in ("web", "book", "wiki", "textbook", "conversation")}}
    for name, text in texts.items():
        g = GENRE_KINDS[name]
        reply = g.reply_of([g.recorded_part(text, 0, 1)])
        assert g.apply(Document(text="", id="x", metadata={"genre": name}), reply).text == text, name
    two = GENRE_KINDS["wiki"].reply_of([GENRE_KINDS["wiki"].recorded_part("Aa. Bb. Cc. Dd.", k, 2) for k in (0, 1)])
    assert [GENRE_KINDS["wiki"].apply(Document(text="", id="x", metadata={"genre": "wiki", "part": k, "n_parts": 2}), two).text
            for k in (0, 1)] == ["Aa. Bb.", "Cc. Dd."]
    with pytest.raises(ParseError, match="missing_section"):
        GENRE_KINDS["code"].apply(Document(text="", id="x", metadata={"genre": "code"}), GENRE_KINDS["wiki"].reply_of(["x"]))

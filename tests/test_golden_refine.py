"""Golden digests of the refinement pipeline, recorded on commit 7946cd4 before the refinement module was split up.

Every genre kind goes through the real datatrove pipeline with the replay backend (no model, no server): the
pre-training genres and code replay the paper's recorded rewrites of the embedded sample; math, instruction and the
GLUE tasks replay `toy_responder`, the lab's deterministic stand-in model (with one vocabulary re-ask, so that path
runs too). Leaner-Eval question generation, the core-2K vocabulary and the coverage / OOV numbers are hashed as well.
A digest that changes means the outputs changed: find the cause, do not re-record it."""
import hashlib
import json
from pathlib import Path

import pytest

from tinyhelen.data import PRETRAIN_GENRES, load_corpus, load_eval, load_glue, read_genre, words
from tinyhelen.llm import LLMConfig, ReplayBackend
from tinyhelen.refine import RefineConfig, paper_replay, refine, toy_responder


def digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def write_jsonl(path: Path, recs):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))


def outputs(folder: Path) -> dict:
    "Per leaner file, the rejects and the report: what a refinement run leaves behind (cache and logs aside)."
    out = {str(f.relative_to(folder)): [json.loads(l) for l in f.read_text().splitlines()]
           for f in sorted((folder / "leaner").rglob("*.jsonl"))}
    out["rejects.jsonl"] = [json.loads(l) for l in (folder / "rejects.jsonl").read_text().splitlines()]
    out["report.json"] = json.loads((folder / "report.json").read_text())
    return out


def toy_table(req):
    return toy_responder(req.messages)


CODE = [
    {"id": "c1", "prompt": "Write a function that adds two numbers.", "response": "def add(a, b):\n    return a + b\n"},
    {"id": "c2", "prompt": "Return the largest element of a non-empty list, as Guido van Rossum in Amsterdam would.",
     "response": "def largest(xs):\n    best = xs[0]\n    for x in xs[1:]:\n        if x > best:\n            best = x\n    return best\n"},
]
INSTRUCTIONS = [
    {"id": "i1", "instruction": "Name a colour of the sky.", "input": "", "output": "Blue."},
    {"id": "i2", "instruction": "Summarise the passage in one sentence.",
     "input": "The committee convened on 12 March 2019 in Paris to deliberate on the municipal budget.",
     "output": "John said the committee met in Paris to talk about the city's money."},
    {"id": "i3", "instruction": "Write an email to Mary at mary@example.com about the picnic.", "input": "",
     "output": "Dear Mary, the picnic in London is on Saturday at 10:30 am. Call me on 555 123 4567."},
]

GOLDEN_PAPER = {
    "leaner/book0000.jsonl": "d2eccfd35668957c",
    "leaner/conversation0000.jsonl": "2a145d36d4b4fba1",
    "leaner/textbook0000.jsonl": "59a3e9707e15822e",
    "leaner/web0000.jsonl": "734afaa1156b7e24",
    "leaner/wiki0000.jsonl": "5fd65fc0087f2b56",
    "rejects.jsonl": "99108511562f5408",
    "report.json": "4f1f3f806a4f31d6",
}
GOLDEN_TOY = {
    "leaner/code0000.jsonl": "87a70310f67231bc",
    "leaner/glue/cola.jsonl": "f0695d5f3eb9307f",
    "leaner/glue/mnli.jsonl": "5d743ddb471dc683",
    "leaner/glue/mrpc.jsonl": "c2402c7f726be3d5",
    "leaner/glue/qnli.jsonl": "ebfdf2f0cf5a53f2",
    "leaner/glue/qqp.jsonl": "f2bbf1f78e85bed3",
    "leaner/glue/rte.jsonl": "0cc504b3c44469df",
    "leaner/glue/sst2.jsonl": "9c1afb06e7035e20",
    "leaner/glue/stsb.jsonl": "cab97d3aa41039d4",
    "leaner/glue/wnli.jsonl": "bc16b4c2f52d6d36",
    "leaner/glue0000.jsonl": "1256dcec4fd993d6",
    "leaner/instruction0000.jsonl": "f24b96f33347c05b",
    "leaner/math0000.jsonl": "8736bd3d8eaf45d4",
    "leaner/web0000.jsonl": "d0952a3676a67384",
    "rejects.jsonl": "4a7757d05f2c1aa4",
    "report.json": "47b6c3f70d5e0c52",
}
GOLDEN_MISC = {
    "questions": "55d6c78e7d90f64e",
    "leaner_vocabulary": "e9900a9fbc5f6322",  # refine.core_vocab before the split
    "core_vocabulary": "be6787dda9ecb1c6",  # was b7db0b980be1248a: one vocabulary, split into lab words (intended)
    "oov": "bb02ba5ae51a57eb",
    "corpus_stats": "4bd4dbbde1695295",
    "text_stats": "e0fff311bcae55a7",  # was 57dae6c33b77ea5a: counted against that one vocabulary (intended)
    "answer_measures": "a51ce68f193afe02",
}


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    "Four original documents per pre-training genre and code, refined by replaying the paper's rewrites."
    d = tmp_path_factory.mktemp("paper")
    genres = list(PRETRAIN_GENRES) + ["code"]
    # the sample's one book and one conversation are long: their first 6,000 characters keep the test fast
    recs = [{"id": f"{g}/{r['id']}", "genre": g, "text": r["text"][:6000]} for g in PRETRAIN_GENRES
            for r in read_genre(g, "ori", "10M", "validation")[:4]]
    # no code record of the sample parses as Python (it mixes languages): they come out as counted rejects
    recs += [{"id": f"code/{r['id']}", "genre": "code", "text": r["text"]} for r in read_genre("code", "ori", "10M", "validation")[:2]]
    write_jsonl(d / "in" / "docs.jsonl", recs)
    rep = refine(RefineConfig(input=str(d / "in"), output=str(d / "out"), backend="paper-replay", model="paper"),
                 replay_table=paper_replay(genres))
    return rep, outputs(d / "out")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    "Math, instruction, code, every GLUE task and two web documents through the stand-in model, with one vocabulary re-ask."
    d = tmp_path_factory.mktemp("toy")
    math = [{"id": r["id"], "genre": "math", "text": r["text"]} for r in read_genre("math", "ori", "10M", "validation")[:12]]
    web = [{"id": f"web-{i}", "genre": "web", "text": r["text"]} for i, r in enumerate(read_genre("web", "ori", "10M", "validation")[:2])]
    write_jsonl(d / "in" / "docs.jsonl", math + web + [{**r, "genre": "instruction"} for r in INSTRUCTIONS]
                + [{**r, "genre": "code"} for r in CODE])
    from tinyhelen.data import GLUE_TASKS
    for task in GLUE_TASKS:
        write_jsonl(d / "in" / f"{task}_validation.jsonl", list(load_glue(task, "validation" if task != "mnli" else "validation_matched"))[:4])
    rep = refine(RefineConfig(input=str(d / "in"), output=str(d / "out"), backend="replay", model="toy", reask=1,
                              max_oov=0.02, keep_grade="D"), replay_table=toy_table)
    return rep, outputs(d / "out")


def test_paper_replay_outputs(paper_run):
    rep, out = paper_run
    assert set(rep["genres"]) == set(PRETRAIN_GENRES) and rep["rejects_by_reason"] == {"bad_code": 2}, rep
    got = {k: digest(v) for k, v in out.items()}
    print(json.dumps(got, indent=1))
    assert got == GOLDEN_PAPER


def test_toy_replay_outputs(toy_run):
    rep, out = toy_run
    assert set(rep["genres"]) == {"code", "math", "instruction", "glue", "web"}, rep["genres"]
    items = [r for k, rows in out.items() if k.startswith("leaner/") and "/glue/" not in k for r in rows]
    assert any(r.get("reasks") for r in items) and {r["grade"] for r in items if r["genre"] == "math"} <= set("ABCD")
    got = {k: digest(v) for k, v in out.items()}
    print(json.dumps(got, indent=1))
    assert got == GOLDEN_TOY


def test_leaner_eval_questions_and_vocabulary():
    from tinyhelen.data import similarity_bin
    from tinyhelen.leaner_eval import generate_questions, training_similarity
    from tinyhelen.refine import corpus_stats
    from tinyhelen.refine_text import leaner_vocabulary, oov
    from tinyhelen.stats import core_vocabulary, text_stats
    from tinyhelen.eval.instruct import answer_measures
    examples = [r["question"] for r in load_eval()][:30]
    be = ReplayBackend(LLMConfig(backend="replay", model="toy"), table=toy_table)
    qs = generate_questions(be, examples, n=8, calls=3)
    train = list(load_corpus("leaner", "wiki")["text"])[:60]
    scores = training_similarity(qs + examples[:10], train)
    ori = [r["text"] for r in read_genre("wiki", "ori", "10M", "validation")[:40]]
    lea = train[:40]
    got = {
        "questions": digest([qs, scores, [similarity_bin(s) for s in scores]]),
        "leaner_vocabulary": digest(sorted(leaner_vocabulary())),
        "core_vocabulary": digest(sorted(core_vocabulary())),
        "oov": digest([oov(t) for t in ori[:10] + lea[:10]]),
        "corpus_stats": digest([corpus_stats(ori), corpus_stats(lea)]),
        "text_stats": digest([text_stats(ori), text_stats(lea)]),
        "answer_measures": digest([answer_measures(t) for t in lea[:10] + ["", "Zzyzx qwerty."]]),
    }
    print(json.dumps(got, indent=1))
    assert len(qs) >= 8 and len(set(qs)) == len(qs)
    assert got == GOLDEN_MISC

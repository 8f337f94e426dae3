"""LLM backends against real components: the `openai` client and a local HTTP server; a tiny random `transformers` model."""
import pytest

from tinyhelen.llm import LLMConfig, LocalChatServer, Request, make_backend


def _cfg(srv, tmp_path, **kw):
    base = dict(backend="openai", model="local", base_url=srv.base_url, backoff=0.01, cache_dir=str(tmp_path / "cache"))
    return LLMConfig(**{**base, **kw})


def test_concurrency_limit_and_order(tmp_path):
    with LocalChatServer(responder=lambda m: m[-1]["content"][::-1], latency=0.1) as srv:
        be = make_backend(_cfg(srv, tmp_path, concurrency=3))
        reps = be.generate([Request.user(f"abc{i}") for i in range(12)])
        assert [r.text for r in reps] == [f"abc{i}"[::-1] for i in range(12)]
        assert srv.max_inflight == 3, "the semaphore holds the requests in flight to `concurrency`"


def test_timeouts_are_retried_then_reported(tmp_path):
    with LocalChatServer(latency=1.0) as srv:
        be = make_backend(_cfg(srv, tmp_path, timeout=0.2, max_retries=2))
        rep, = be.generate([Request.user("slow")])
        assert not rep.ok and "Timeout" in rep.error
        assert be.usage.retries == 2 and be.usage.errors == 1 and srv.requests == 3
        assert len(be.cache) == 0, "failures are not cached"


def test_bad_request_not_retried_and_broken_body_is_retried_then_an_error(tmp_path):
    with LocalChatServer(rejected=["BAD"], broken=["BROKEN"]) as srv:
        be = make_backend(_cfg(srv, tmp_path, max_retries=2))
        reps = be.generate([Request.user("BAD one"), Request.user("BROKEN one"), Request.user("fine")])
        assert "BadRequest" in reps[0].error and not reps[1].ok and reps[2].text == "fine"
        assert srv.requests == 3 + 2 and be.usage.retries == 2, "a 400 is final; a body that is not JSON is a server fault"
        assert len(be.cache) == 1, "only the answer is cached"


def test_every_kind_of_server_fault_is_retried(tmp_path):
    # malformed JSON and empty `choices` are transient faults like 429/500 and stalls: all recover with retries
    with LocalChatServer(faults=0.5, stall=2.0, seed=3) as srv:
        be = make_backend(_cfg(srv, tmp_path, concurrency=8, max_retries=12, timeout=0.5))
        reps = be.generate([Request.user(str(i)) for i in range(24)])
        assert [r.error for r in reps] == [None] * 24 and [r.text for r in reps] == [str(i) for i in range(24)]
        assert set(srv.fault_counts) == set(LocalChatServer.FAULTS), srv.fault_counts
        assert be.usage.retries == srv.failures


def test_identical_requests_are_sent_once(tmp_path):
    with LocalChatServer() as srv:
        be = make_backend(_cfg(srv, tmp_path))
        reps = be.generate([Request.user("same")] * 64 + [Request.user("other")])
        assert [r.text for r in reps] == ["same"] * 64 + ["other"] and srv.requests == 2
        assert be.usage.calls == 2 and be.usage.cache_hits == 63


def test_rate_limits_and_server_errors_recover(tmp_path):
    with LocalChatServer(fail_every=4) as srv:  # requests 4k get a 429 and 4k+1 a 500: half fail
        be = make_backend(_cfg(srv, tmp_path, concurrency=8, max_retries=8))
        reps = be.generate([Request.user(str(i)) for i in range(20)])
        assert all(r.ok for r in reps) and [r.text for r in reps] == [str(i) for i in range(20)]
        assert be.usage.retries == srv.failures > 5


def test_missing_key_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    be = make_backend(LLMConfig(backend="openai", cache_dir=None))
    with pytest.raises(RuntimeError, match="OPENAI_API_KEY"):
        be.generate([Request.user("x")])


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    "A randomly initialised Llama and a word-level tokenizer trained here, saved as a model folder."
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    d = tmp_path_factory.mktemp("tiny")
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = ["the cat sat on the mat", "user: hello assistant: hi there", "rewrite this simple text please"] * 10
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["<unk>", "<pad>", "<s>", "</s>"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    fast.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }} {% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
    fast.save_pretrained(d)
    cfg = LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=2, max_position_embeddings=128, pad_token_id=fast.pad_token_id,
                      bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id)
    LlamaForCausalLM(cfg).save_pretrained(d)
    return d


def test_transformers_backend_batched_with_chat_template(tiny_model, tmp_path):
    cfg = LLMConfig(backend="transformers", model=str(tiny_model), max_tokens=6, batch_size=2, cache_dir=str(tmp_path / "c"))
    be = make_backend(cfg)
    reqs = [Request.user("the cat sat"), Request.user("hello there please rewrite this simple text"), Request.user("hi")]
    assert be.render(reqs[0].messages).endswith("user: the cat sat assistant:"), "the tokenizer's chat template is used"
    reps = be.generate(reqs)
    assert all(r.ok and isinstance(r.text, str) for r in reps)
    assert all(0 < r.completion_tokens <= 6 and r.prompt_tokens > 0 for r in reps)
    again = make_backend(cfg).generate(reqs)
    assert [r.text for r in again] == [r.text for r in reps] and all(r.cached for r in again)


def test_transformers_backend_without_chat_template(tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(tiny_model)
    tok.chat_template = None
    be = make_backend(LLMConfig(backend="transformers", model="in-memory", max_tokens=3),
                      model=AutoModelForCausalLM.from_pretrained(tiny_model), tokenizer=tok)
    assert be.render([{"role": "user", "content": "hi"}]) == "user: hi\n\nassistant:"
    assert be.generate([Request.user("hi")])[0].ok


@pytest.mark.gpu
def test_transformers_backend_on_gpu(tiny_model, tmp_path):
    be = make_backend(LLMConfig(backend="transformers", model=str(tiny_model), max_tokens=4, batch_size=4))
    reps = be.generate([Request.user(f"the cat sat {i}") for i in range(6)])
    assert be._model.device.type == "cuda" and all(r.ok for r in reps)

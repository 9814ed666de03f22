"""The openai backend against a real HTTP server on 127.0.0.1: endpoints, retries, timeouts, cache."""

from __future__ import annotations

import email.utils
import time

import pytest
from synth_server import completion, prompt_of

from sciloom.corpus.synth.backends import BackendError, Request, Sampling
from sciloom.corpus.synth.backends.openai_http import OpenAIBackend, retry_after_seconds
from sciloom.corpus.synth.config import BackendConfig


def backend(url: str, cache=None, **kw) -> OpenAIBackend:
    cfg = BackendConfig(name="openai", model="tiny", base_url=url, backoff_s=0.01, max_backoff_s=5.0, **kw)
    return OpenAIBackend(cfg, cache)


def echo(path, body, attempt):
    return 200, {}, completion(path, f"{prompt_of(body)}|{body['seed']}"), 0


def test_completions_requests_one_sample_each_with_consecutive_seeds(serve):
    server = serve(echo)
    b = backend(server.url)
    sampling = Sampling(n=3, temperature=0.7, top_p=0.9, max_tokens=32, stop=("\nQ:",))
    [gen] = b.generate([Request("2+2=", sampling, seed=65536)])
    assert gen.error is None
    assert gen.texts == ["2+2=|65536", "2+2=|65537", "2+2=|65538"]
    paths = {p for p, _ in server.requests}
    assert paths == {"/v1/completions"}
    body = server.requests[0][1]
    assert body["model"] == "tiny" and body["n"] == 1 and body["max_tokens"] == 32
    assert body["stop"] == ["\nQ:"] and body["top_p"] == 0.9 and body["prompt"] == "2+2="


def test_chat_api_sends_one_user_message_and_reads_the_message_content(serve):
    server = serve(echo)
    b = backend(server.url, api="chat")
    [gen] = b.generate([Request("hello", Sampling(n=1, temperature=0.0), seed=7)])
    assert gen.texts == ["hello|7"]
    path, body = server.requests[0]
    assert path == "/v1/chat/completions"
    assert body["messages"] == [{"role": "user", "content": "hello"}]
    assert body["top_p"] == 1.0  # greedy: nucleus sampling is off


def test_429_waits_for_retry_after_then_succeeds(serve):
    def limited(path, body, attempt):
        if attempt == 0:
            return 429, {"Retry-After": "2"}, {"error": {"message": "rate limited"}}, 0
        return echo(path, body, attempt)

    server = serve(limited)
    b = backend(server.url)
    waits: list[float] = []
    b._sleep = waits.append
    [gen] = b.generate([Request("p", Sampling(n=1), seed=0)])
    assert gen.texts == ["p|0"]
    assert waits == [2.0] and b.retries == 1
    assert len(server.requests) == 2


def test_5xx_is_retried_with_capped_exponential_backoff(serve):
    def flaky(path, body, attempt):
        if attempt < 3:
            return 503, {}, {"error": "overloaded"}, 0
        return echo(path, body, attempt)

    server = serve(flaky)
    b = backend(server.url)
    waits: list[float] = []
    b._sleep = waits.append
    [gen] = b.generate([Request("p", Sampling(n=1), seed=0)])
    assert gen.error is None and len(waits) == 3
    for attempt, wait in enumerate(waits):
        assert 0 <= wait <= 0.01 * 2**attempt  # full jitter below the doubling cap


def test_timeout_is_retried_and_the_second_attempt_answers(serve):
    def slow_first(path, body, attempt):
        return 200, {}, completion(path, "late" if attempt == 0 else "ok"), 1.5 if attempt == 0 else 0

    server = serve(slow_first)
    b = backend(server.url, timeout_s=0.3)
    start = time.monotonic()
    [gen] = b.generate([Request("p", Sampling(n=1), seed=0)])
    assert gen.texts == ["ok"] and b.retries == 1
    assert time.monotonic() - start < 1.4  # the slow answer was not waited for


def test_a_request_that_keeps_failing_fails_alone(serve):
    def partial(path, body, attempt):
        if "FAIL" in prompt_of(body):
            return 500, {}, {"error": "boom"}, 0
        return echo(path, body, attempt)

    server = serve(partial)
    b = backend(server.url, max_retries=2)
    b._sleep = lambda s: None
    gens = b.generate([Request(p, Sampling(n=2), seed=0) for p in ("a", "FAIL", "b")])
    assert [g.error for g in gens][0] is None and gens[2].error is None
    assert gens[1].error == "http_500 after 3 attempts" and gens[1].texts == []
    assert gens[0].texts == ["a|0", "a|1"]


def test_client_error_is_not_retried(serve):
    server = serve(lambda path, body, attempt: (400, {}, {"error": {"message": "prompt too long"}}, 0))
    b = backend(server.url)
    [gen] = b.generate([Request("p", Sampling(n=1), seed=0)])
    assert gen.error == "http_400: prompt too long"
    assert len(server.requests) == 1


def test_bad_credentials_stop_the_stage(serve):
    server = serve(lambda path, body, attempt: (401, {}, {"error": {"message": "invalid key"}}, 0))
    with pytest.raises(BackendError, match="HTTP 401 invalid key"):
        backend(server.url).generate([Request("p", Sampling(n=1), seed=0)])


def test_missing_api_key_variable_is_an_error(monkeypatch):
    monkeypatch.delenv("SCILOOM_TEST_KEY", raising=False)
    with pytest.raises(BackendError, match="SCILOOM_TEST_KEY is not set"):
        backend("http://127.0.0.1:9/v1", api_key_env="SCILOOM_TEST_KEY")


def test_api_key_is_sent_as_bearer_token(serve, monkeypatch):
    server = serve(echo)
    monkeypatch.setenv("SCILOOM_TEST_KEY", "sk-test")
    b = backend(server.url, api_key_env="SCILOOM_TEST_KEY")
    b.generate([Request("p", Sampling(n=1), seed=0)])
    assert server.headers[0]["Authorization"] == "Bearer sk-test"
    assert "sk-test" not in str(b.config)  # the key is never part of the config or the recipe


def test_cache_makes_a_second_run_send_no_request(serve, tmp_path):
    server = serve(echo)
    reqs = [Request(f"p{i}", Sampling(n=2, temperature=0.5), seed=i << 16) for i in range(5)]
    first = backend(server.url, cache=tmp_path / "cache").generate(reqs)
    assert len(server.requests) == 10
    again = backend(server.url, cache=tmp_path / "cache")
    second = again.generate(reqs)
    assert len(server.requests) == 10 and again.requests_sent == 0 and again.cache.hits == 10
    assert [g.texts for g in first] == [g.texts for g in second]
    assert all(g.cached == 2 for g in second)
    # other sampling settings are other requests
    backend(server.url, cache=tmp_path / "cache").generate(
        [Request("p0", Sampling(n=1, temperature=0.9), seed=0)]
    )
    assert len(server.requests) == 11


def test_failures_are_not_cached_and_a_rerun_asks_again(serve, tmp_path):
    state = {"down": True}

    def outage(path, body, attempt):
        if state["down"]:
            return 503, {}, {"error": "down"}, 0
        return echo(path, body, attempt)

    server = serve(outage)
    b = backend(server.url, cache=tmp_path / "c", max_retries=0)
    assert b.generate([Request("p", Sampling(n=1), seed=0)])[0].error == "http_503 after 1 attempts"
    state["down"] = False
    assert backend(server.url, cache=tmp_path / "c").generate([Request("p", Sampling(n=1), seed=0)])[
        0
    ].texts == ["p|0"]


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    now = time.time()
    date = email.utils.formatdate(now + 10, usegmt=True)
    assert 8.5 <= retry_after_seconds(date, now=now) <= 10.0


def test_the_cache_survives_a_server_moving_to_another_port(serve, tmp_path):
    first, second = serve(echo), serve(echo)
    reqs = [Request("p", Sampling(n=2), seed=0)]
    backend(first.url, cache=tmp_path / "c").generate(reqs)
    assert backend(second.url, cache=tmp_path / "c").generate(reqs)[0].cached == 2
    assert second.requests == []
    # another model, or the chat route, is another completion
    backend(second.url, cache=tmp_path / "c", api="chat").generate(reqs)
    assert len(second.requests) == 2

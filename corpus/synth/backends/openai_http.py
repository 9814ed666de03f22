"""OpenAI-compatible HTTP backend: `/v1/completions` or `/v1/chat/completions` of any server.

Works with `vllm serve`, SGLang, TGI's OpenAI route and hosted APIs. Standard library only
(`urllib`), so the extra costs no dependency. Each sample is one request (`n = 1`, `seed` =
request seed + sample index: vLLM and SGLang honour per-request seeds, so a sample is
reproducible and cacheable alone). Requests run on a thread pool of `concurrency` threads.

Retries: HTTP 429 and 5xx, timeouts and dropped connections are retried up to `max_retries`
times, waiting `Retry-After` (seconds or an HTTP date) when the server sends one, else an
exponential back-off with full jitter (`uniform(0, min(max_backoff, backoff * 2**attempt))`, the
AWS architecture blog's "full jitter", which spreads a burst of retries best). A request that
still fails is a `GenerationFailure` for its problem alone. 401, 403 and 404 cannot be fixed by
retrying (key, permissions, model or URL wrong) and stop the stage with a `BackendError`; other
4xx (a prompt too long) fail that request only.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sciloom.corpus.synth.backends.base import Backend, BackendError, GenerationFailure, Job, Request
from sciloom.corpus.synth.config import BackendConfig

logger = logging.getLogger(__name__)

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
FATAL_STATUS = {401, 403, 404}


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class OpenAIBackend(Backend):
    def __init__(self, config: BackendConfig, cache_dir: str | os.PathLike | None) -> None:
        super().__init__(config, cache_dir)
        self.url = config.base_url.rstrip("/") + (
            "/chat/completions" if config.api == "chat" else "/completions"
        )
        self.api_key = os.environ.get(config.api_key_env) if config.api_key_env else None
        if config.api_key_env and not self.api_key:
            raise BackendError(f"backend.api_key_env: environment variable {config.api_key_env} is not set")
        self.retries = 0  # retried attempts (for the manifest)
        self._lock = threading.Lock()  # the counters are updated from the request threads
        self._sleep = time.sleep
        self._rng = random.Random()

    def body(self, req: Request, index: int) -> dict[str, Any]:
        s = req.sampling
        body: dict[str, Any] = {
            "model": self.config.model,
            "temperature": s.temperature,
            "top_p": s.top_p if s.temperature > 0 else 1.0,
            "max_tokens": s.max_tokens,
            "n": 1,
            "seed": req.seed + index,
        }
        if s.stop:
            body["stop"] = list(s.stop)[:4]  # the OpenAI API takes at most 4 stop strings
        if self.config.api == "chat":
            body["messages"] = [{"role": "user", "content": req.prompt}]
        else:
            body["prompt"] = req.prompt
        return body

    def _generate_missing(
        self, requests: list[Request], jobs: list[Job], store: Callable[[Job, str], None]
    ) -> list[str | GenerationFailure]:
        fatal: list[BackendError] = []

        def one(job: Job) -> str | GenerationFailure:
            if fatal:  # the key, URL or model is wrong: send nothing more
                return GenerationFailure("aborted")
            req = requests[job.request]
            try:
                text = self.post(self.body(req, job.index))
            except BackendError as err:
                fatal.append(err)
                raise
            if isinstance(text, str) and len(req.sampling.stop) > 4:  # the rest cut here
                from sciloom.pretrain.eval.generation import truncate_at_stop

                text = truncate_at_stop(text, req.sampling.stop)
            if isinstance(text, str):
                store(job, text)
            return text

        if len(jobs) == 1 or self.config.concurrency == 1:
            return [one(j) for j in jobs]
        with ThreadPoolExecutor(max_workers=min(self.config.concurrency, len(jobs))) as pool:
            futures = [pool.submit(one, j) for j in jobs]
        if fatal:
            raise fatal[0]
        return [f.result() for f in futures]

    def post(self, body: dict[str, Any]) -> str | GenerationFailure:
        """One completion, with retries; the text, or why it failed."""
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = "unknown"
        for attempt in range(self.config.max_retries + 1):
            wait: float | None = None
            try:
                request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=self.config.timeout_s) as resp:
                    payload = json.loads(resp.read().decode("utf-8"))
                return self._text(payload)
            except urllib.error.HTTPError as err:
                detail = _error_detail(err)
                if err.code in FATAL_STATUS:
                    raise BackendError(
                        f"{self.url}: HTTP {err.code} {detail} (check the URL, model and key)"
                    ) from None
                if err.code not in RETRY_STATUS:
                    return GenerationFailure(f"http_{err.code}: {detail}"[:300])
                last = f"http_{err.code}"
                wait = retry_after_seconds(err.headers.get("Retry-After") if err.headers else None)
            except TimeoutError:
                last = "timeout"
            except urllib.error.URLError as err:
                if isinstance(err.reason, (TimeoutError, socket.timeout)):
                    last = "timeout"
                else:
                    last = f"connection: {err.reason}"
            except (http.client.HTTPException, ConnectionError, OSError) as err:
                last = f"connection: {type(err).__name__}"
            except (ValueError, KeyError, IndexError, TypeError) as err:
                return GenerationFailure(f"bad_response: {type(err).__name__}: {err}"[:300])
            if attempt == self.config.max_retries:
                break
            if wait is None:
                cap = min(self.config.max_backoff_s, self.config.backoff_s * 2**attempt)
                wait = self._rng.uniform(0, cap)
            wait = min(wait, self.config.max_backoff_s)
            with self._lock:
                self.retries += 1
            logger.info("%s: %s, retry %d in %.2fs", self.url, last, attempt + 1, wait)
            self._sleep(wait)
        return GenerationFailure(f"{last} after {self.config.max_retries + 1} attempts")

    def _text(self, payload: dict[str, Any]) -> str:
        choice = payload["choices"][0]
        usage = payload.get("usage") or {}
        if isinstance(usage.get("completion_tokens"), int):
            with self._lock:
                self.tokens_generated += usage["completion_tokens"]
        if self.config.api == "chat":
            text = choice["message"]["content"]
        else:
            text = choice["text"]
        if not isinstance(text, str):
            raise TypeError("completion text is not a string")
        return text


def _error_detail(err: urllib.error.HTTPError) -> str:
    try:
        raw = err.read().decode("utf-8", errors="replace")
    except OSError:
        return err.reason or ""
    try:
        msg = json.loads(raw).get("error")
        if isinstance(msg, dict):
            msg = msg.get("message")
        return str(msg or raw)[:200]
    except ValueError:
        return raw[:200]

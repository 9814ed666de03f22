"""A real OpenAI-compatible HTTP server on 127.0.0.1 with scripted completions, for the synth tests.

`ScriptedServer(respond)` serves `/v1/completions` and `/v1/chat/completions` from a thread
(`http.server.ThreadingHTTPServer`); `respond(path, body, attempt)` returns (status, headers,
payload, delay_s). Every request is recorded (`requests`), with the attempt number per body.

`GsmOracle` plays a model that knows a few GSM8K train problems (real rows from ../shared/data)
and answers each prompt kind the synth stage sends, right or wrong by a fixed rule of the problem
index k and the sample index s (the low 16 bits of the request seed), so each test can work out
which records must be kept and which dropped, and why.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedServer:
    def __init__(self, respond) -> None:
        self.respond = respond
        self.requests: list[tuple[str, dict]] = []
        self.headers: list[dict[str, str]] = []
        self.attempts: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                key = json.dumps(body, sort_keys=True)
                with server.lock:
                    server.requests.append((self.path, body))
                    server.headers.append(dict(self.headers))
                    attempt = server.attempts.get(key, 0)
                    server.attempts[key] = attempt + 1
                status, headers, payload, delay = server.respond(self.path, body, attempt)
                if delay:
                    time.sleep(delay)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out first
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(path: str, text: str) -> dict:
    if path.endswith("/chat/completions"):
        return {
            "choices": [{"message": {"role": "assistant", "content": text}}],
            "usage": {"completion_tokens": 3},
        }
    return {"choices": [{"text": text}], "usage": {"completion_tokens": 3}}


def prompt_of(body: dict) -> str:
    return body["messages"][-1]["content"] if "messages" in body else body["prompt"]


NUMBER = re.compile(r"\d+(?:\.\d+)?")


def bump_numbers(text: str) -> str:
    return NUMBER.sub(lambda m: str(int(float(m.group(0))) + 1), text)


class GsmOracle:
    """Scripted answers for the prompts of every synth kind (see the module docstring)."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows
        self.questions = [r["question"] for r in rows]
        self.answers = [r["answer"].rsplit("####", 1)[1].strip().replace(",", "") for r in rows]

    # -- which known problem a text is about -----------------------------------------------------
    def known(self, text: str) -> int | None:
        hits = [k for k, q in enumerate(self.questions) if q in text]
        return max(hits, key=lambda k: len(self.questions[k])) if hits else None

    def masked(self, text: str) -> tuple[int, str] | None:
        """(problem, masked number) when `text` holds a question with one number replaced by x."""
        for k, q in enumerate(self.questions):
            for m in NUMBER.finditer(q):
                masked = q[: m.start()] + "x" + q[m.end() :]
                context = masked.rsplit(". ", 1)[0] if "?" in masked.rsplit(". ", 1)[-1] else masked
                if context in text and "x" in context:
                    return k, m.group(0)
        return None

    def solution(self, k: int, behaviour: int) -> str:
        sol, answer = self.rows[k]["answer"].rsplit("####", 1)
        sol, answer = sol.strip(), answer.strip().replace(",", "")
        if behaviour == 1:  # same equations, other words
            return f"Let me work it out.\n{sol}\nThe answer is {answer}."
        if behaviour == 2:  # wrong final answer
            return f"{sol}\nThe answer is {int(float(answer)) + 1}."
        if behaviour == 3:  # a wrong calculator result, the right final answer
            sol = re.sub(
                r"<<([^=<>]+)=([\d.]+)>>",
                lambda m: f"<<{m.group(1)}={float(m.group(2)) + 1:g}>>",
                sol,
                count=1,
            )
            return f"{sol}\nThe answer is {answer}."
        return f"{sol}\nThe answer is {answer}."

    # -- the scripted model -----------------------------------------------------------------------
    def text(self, prompt: str, seed: int) -> str:
        s = seed & 0xFFFF
        if "Write the text in square brackets." in prompt:  # OPRO optimiser
            return f"[Solve it carefully, variant {(seed >> 16) % 1000}-{s}.]"
        if "Rephrase the above question:" in prompt:
            q = prompt.rsplit("Question: ", 1)[1].split("\nRephrase the above question:")[0]
            k = self.known(q)
            return f" {q}" if k is None or k % 3 == 2 else f" Consider the following. {q}"
        if "\nStatement:" in prompt and "declarative statement" in prompt:  # SV rewrite
            block = prompt.rsplit("Question: ", 1)[1]
            masked_q, answer = block.split("\nAnswer: ")
            answer = answer.split("\nStatement:")[0]
            context = masked_q.rsplit(". ", 1)[0] if "?" in masked_q.rsplit(". ", 1)[-1] else masked_q
            return f" {context}. The total is {answer}."
        if "create a new question by" in prompt:  # AugGSM8K
            q = prompt.rsplit("Original question: ", 1)[1].split("\nNew question:")[0]
            if "changing the specific numbers" in prompt:
                return " " + bump_numbers(q)
            return f" {q} Assume nothing else changes."
        if "#Rewritten Problem#" in prompt:  # Evol-Instruct
            q = prompt.rsplit("#Given Problem#:\n", 1)[1].split("\n\n#Rewritten Problem#")[0]
            k = self.known(q)
            if "more complex version" in prompt:
                return f"{q} Give the answer as a whole number."
            return "What is y?" if k is not None and k % 2 == 0 else bump_numbers(q)
        if prompt.rstrip().endswith("A:") or "\nA: " in prompt.rsplit("Q: ", 1)[-1]:
            return self.solve(prompt, seed)
        return "I do not know."

    def solve(self, prompt: str, seed: int) -> str:
        s = seed & 0xFFFF
        last = prompt.rsplit("Q: ", 1)[1]
        question, _, instruction = last.partition("\nA:")
        instruction = instruction.strip()
        if "unknown variable x" in question:
            found = self.masked(question)
            if found is None:
                return "The value of x is 0."
            k, value = found
            right = (k + s) % 4 != 2
            return f"Solving backwards. The value of x is {value if right else int(float(value)) + 1}."
        if question.strip() == "What is y?":
            return "There is not enough information to answer this question."
        k = self.known(question)
        if k is None:
            return f"The answer is {(seed >> 16) % 997 + 7 * s}."
        if instruction:  # OPRO scorer: right or wrong by the instruction's length
            right = (k + len(instruction)) % 3 != 0
            return self.solution(k, 0 if right else 2)
        return self.solution(k, (k + s) % 4)

    def respond(self, path: str, body: dict, attempt: int):
        return 200, {}, completion(path, self.text(prompt_of(body), int(body.get("seed", 0)))), 0

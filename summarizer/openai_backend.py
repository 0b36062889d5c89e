"""The ``openai`` backend: generations from any OpenAI-compatible server over HTTP.

    summarizer run docs/ out/ --backend openai --api-base http://127.0.0.1:8080/v1 --model NAME

llama.cpp's server, vLLM, TGI, Ollama and hosted APIs all answer ``POST /completions`` and
``POST /chat/completions``. A base-format prompt goes to ``/completions`` as it is; a chat
prompt (``prompt.format = "chat"``, or ``auto`` with an instruction-tuned model's name) is
kept as its list of messages, which the server formats with its own chat template, and goes
to ``/chat/completions``. Greedy (temperature 0), with the pipeline's stops and length limit.

The network is expected to fail: ``generate.concurrency`` requests are in flight at once,
each with ``generate.timeout`` seconds; a 408, 429, 5xx, a timeout or a dropped connection
is retried ``generate.retries`` times with exponential backoff and jitter, honouring the
server's ``Retry-After``. After the last retry the document fails with a message that says
what the server answered. When the server stops answering altogether (connection refused
after every retry, and no answer to a check), the run stops with :class:`ServerDown`: the
documents finished so far are kept, and the same command run again continues from there.

The key comes from ``SUMMARIZER_API_KEY`` or ``OPENAI_API_KEY``: never a setting, so it is
never logged, in the run's fingerprint or in its output.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .backend import BACKENDS, OPENAI, BackendDown
from .errors import ConfigError, ModelError
from .plan import cut_text
from .records import Record
from .segment import estimate_tokens

log = logging.getLogger("summarizer")

KEY_VARIABLES = ("SUMMARIZER_API_KEY", "OPENAI_API_KEY")
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})  # and any other 5xx
# Waits grow 0.5, 1, 2, 4 ... s (times a jitter of 0.5-1), at most this long; a Retry-After
# is honoured up to MAX_RETRY_AFTER.
BACKOFF_BASE, BACKOFF_CAP, MAX_RETRY_AFTER = 0.5, 30.0, 300.0
# OpenAI's API takes at most four stop strings; any others are applied to the text here.
SERVER_STOPS = 4


class ServerDown(BackendDown):
    """The server stopped answering: every document after this one would fail alike, so the
    run stops (what is finished is kept; the same command continues)."""

    def __init__(self, message: str, why: str = ""):
        super().__init__(message)
        self.why = why or message


class RequestFailed(Exception):
    """One request failed for good (after its retries): that document's error."""

    def __init__(self, message: str, why: str = ""):
        super().__init__(message)
        self.why = why or message


@dataclass
class _Retry(Exception):
    why: str
    wait: float | None = None  # the server's Retry-After, in seconds
    connection: bool = False  # no HTTP answer at all (refused, dropped, timed out)


@dataclass
class Client:
    """A small OpenAI-API client: JSON over urllib, with the retry policy above."""

    base: str
    timeout: float = 120.0
    retries: int = 4
    key: str | None = field(default=None, repr=False)
    sleep: Any = field(default=time.sleep, repr=False)  # tests pass a recorder

    def get(self, path: str) -> dict:
        return self.request("GET", path)

    def post(self, path: str, body: dict) -> dict:
        return self.request("POST", path, body)

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        url = self.base + path
        for attempt in range(self.retries + 1):
            try:
                return self._once(method, url, body)
            except _Retry as retry:
                if attempt == self.retries:
                    tries = f"{self.retries + 1} tries" if self.retries else "1 try"
                    why = f"{retry.why}, {tries}"
                    if retry.connection and not self.alive():
                        raise ServerDown(
                            f"the server at {self.base} stopped answering ({why}); the documents finished so far "
                            "are kept: start the server again and run the same command to continue.", why) from None
                    raise RequestFailed(f"{method} {url}: {retry.why} ({tries})", why) from None
                wait = retry.wait if retry.wait is not None else backoff(attempt)
                log.debug("%s %s: %s; retrying in %.1f s", method, url, retry.why, wait)
                self.sleep(wait)
        raise AssertionError("unreachable")

    def alive(self) -> bool:
        """Whether the server answers anything at all now (one quick try, no retries)."""
        try:
            self._once("GET", self.base + "/models", None, timeout=min(self.timeout, 5.0))
            return True
        except (_Retry, RequestFailed):
            return False

    def _once(self, method: str, url: str, body: dict | None, timeout: float | None = None) -> dict:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                raw = response.read()
        except ValueError as exc:  # http.client refuses a header value; its message would show the key
            if "header" not in str(exc).lower():
                raise
            raise ConfigError(f"the API key in ${' or $'.join(KEY_VARIABLES)} holds characters that cannot be "
                              "sent in an HTTP header (a line break, a control character); set it to the key "
                              "alone.") from None
        except urllib.error.HTTPError as exc:
            message = _server_message(exc)
            status = f"HTTP {exc.code} {message}".strip()
            if exc.code in RETRY_STATUS or exc.code >= 500:
                raise _Retry(status, retry_after(exc.headers.get("Retry-After"))) from None
            raise RequestFailed(f"{method} {url}: {status}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise _Retry(f"no answer within {timeout or self.timeout:g} s", connection=True) from None
            raise _Retry(f"{type(reason).__name__}: {reason}", connection=True) from None
        except (TimeoutError, socket.timeout):
            raise _Retry(f"no answer within {timeout or self.timeout:g} s", connection=True) from None
        except (http.client.HTTPException, ConnectionError) as exc:  # dropped mid-answer
            raise _Retry(f"{type(exc).__name__}: {exc}", connection=True) from None
        try:
            return json.loads(raw)
        except ValueError:
            raise RequestFailed(f"{method} {url}: the answer is not JSON: {raw[:200]!r}") from None


def backoff(attempt: int) -> float:
    """The wait before retry ``attempt + 1``: exponential, capped, with jitter (so that many
    workers refused at once do not come back at once)."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt) * random.uniform(0.5, 1.0)


def retry_after(value: str | None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) in seconds; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def _server_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read()[:2000].decode("utf-8", errors="replace")
    except Exception:  # noqa: BLE001 - the status alone still says enough
        return exc.reason or ""
    try:
        detail = json.loads(body)
        error = detail.get("error", detail) if isinstance(detail, dict) else detail
        message = error.get("message", error) if isinstance(error, dict) else error
        return str(message)[:300]
    except ValueError:
        return body.strip()[:300] or (exc.reason or "")


def api_key() -> str | None:
    # stripped: a key read from a secret file ends in a line break
    return next((os.environ[name].strip() for name in KEY_VARIABLES if os.environ.get(name, "").strip()), None)


def client_for(gen: Any) -> Client:
    if not gen.api_base:
        raise ConfigError("the openai backend needs the server's address: --api-base URL "
                          "(e.g. http://127.0.0.1:8080/v1), or --set generate.api_base=\"URL\".")
    base = gen.api_base.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ConfigError(f"generate.api_base {gen.api_base!r} is not an http(s) URL; give e.g. "
                          "http://127.0.0.1:8080/v1 (the server's OpenAI-compatible root, usually ending in /v1).")
    return Client(base, timeout=gen.timeout, retries=gen.retries, key=api_key())


@lru_cache(maxsize=None)
def served_models(base: str, timeout: float) -> tuple[str, ...]:
    """The ids ``GET /models`` lists (the pre-flight check: the first request of a run)."""
    client = Client(base, timeout=timeout, retries=1, key=api_key())
    try:
        answer = client.get("/models")
    except (RequestFailed, ServerDown) as exc:
        raise ModelError(f"the openai backend's server at {base} did not answer the check GET {base}/models "
                         f"({exc.why}). Start the server (e.g. python -m llama_cpp.server --model FILE.gguf "
                         "--port 8080), or give its address with --api-base.") from None
    data = answer.get("data") if isinstance(answer, dict) else None
    return tuple(str(m.get("id")) for m in data or [] if isinstance(m, dict) and m.get("id"))


def model_name(gen: Any) -> str:
    """The served model's name: ``--model``, or for ``default`` the server's first model."""
    if gen.model != "default":
        return gen.model
    served = served_models(gen.api_base.rstrip("/"), gen.timeout)
    if not served:
        raise ModelError(f"the server at {gen.api_base} lists no model; give the served model's name with --model.")
    return served[0]


# Steering that the fast decoder applies to the scores, which neither a server nor
# llama.cpp's sampler is asked for here.
_STEERING = {"copy_bias": 0.0, "no_repeat_ngram": 0, "min_new_tokens": 0}


def unsupported_settings(gen: Any, backend: str) -> list[str]:
    """Warn (once per check) about the decoding settings that change the output on the
    transformers backend but that ``backend`` does not apply; the speed settings of the fast
    decoder (head_vocab, lookup_tokens, share_prefix) are simply not used. Returns them."""
    ignored = [f"{name} = {getattr(gen, name)!r}" for name, off in _STEERING.items() if getattr(gen, name) != off]
    if ignored:
        log.warning("%s does not apply generate.%s (the transformers backend does); its summaries may differ.",
                    backend, ", generate.".join(ignored))
    return ignored


class ServerTokenizer:
    """``ctx.tokenizer`` on the openai backend. The OpenAI API does not expose the server's
    tokenizer, so token counts are the model-free estimate (``estimates``), and a chat prompt
    is its list of messages as JSON, which the server formats with its own chat template."""

    estimates = True
    chat_template = "the server's own"
    bos_token = eos_token = pad_token = None

    def __init__(self, name: str):
        self.name_or_path = name

    def count(self, texts: list[str]) -> list[int]:
        return [estimate_tokens(t) for t in texts]

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True) -> str:
        return json.dumps({"messages": list(messages)}, ensure_ascii=False)


def chat_messages(prompt: str) -> list[dict] | None:
    """The messages of a chat prompt made by :class:`ServerTokenizer`; None for a plain prompt."""
    if not prompt.startswith('{"messages": ['):
        return None
    try:
        parsed = json.loads(prompt)
    except ValueError:
        return None
    messages = parsed.get("messages") if isinstance(parsed, dict) and len(parsed) == 1 else None
    return messages if isinstance(messages, list) else None


class OpenAIBackend:
    def check(self, gen: Any) -> None:
        unsupported_settings(gen, "the openai backend")
        if gen.adapter and gen.adapter != "builtin":
            raise ConfigError(f"--adapter {gen.adapter!r}: the openai backend cannot apply an adapter (the server "
                              "runs its own model); serve the merged model, or use --backend transformers.")
        client = client_for(gen)
        served = served_models(client.base, gen.timeout)
        name = model_name(gen)
        if served and name not in served:
            raise ModelError(f"--model {name!r} is not served by {client.base}; it serves: {', '.join(served)}. "
                             "Give one of those (or 'default' for the first).")
        log.info("openai backend: %s answered, serving %s; model %s", client.base, ", ".join(served) or "(no list)",
                 name)

    def tokenizer(self, gen: Any) -> ServerTokenizer:
        return ServerTokenizer(gen.model if gen.model != "default" else model_name(gen))

    def model(self, gen: Any) -> Client:
        return client_for(gen)

    def generate(self, records: list[Record], ctx: Any) -> None:
        gen = ctx.config.generate
        client = ctx.model
        name = model_name(gen)
        stop = list(gen.stop)
        stopped = threading.Event()  # set once the server is down: the rest are not asked

        def one(record: Record) -> tuple[Record, Any]:
            if stopped.is_set():
                return record, None
            try:
                return record, _complete(client, name, record.prompt, gen, stop)
            except ServerDown as exc:
                stopped.set()
                return record, exc
            except RequestFailed as exc:
                return record, exc

        with ThreadPoolExecutor(max_workers=max(1, gen.concurrency), thread_name_prefix="summarizer-openai") as pool:
            results = list(pool.map(one, records))
        down = next((outcome for _, outcome in results if isinstance(outcome, ServerDown)), None)
        for record, outcome in results:
            if outcome is None or isinstance(outcome, ServerDown):
                continue  # not asked, or not answered: computed by the next run
            if isinstance(outcome, RequestFailed):
                record.error = f"generate: {outcome}"
                continue
            text, details = outcome
            record.generation = text
            record.add_trace("generate", details.pop("seconds"), backend=OPENAI, **details)
        if down is not None:
            raise down  # after the answers that came: the stage passes those records on first


def _complete(client: Client, name: str, prompt: str, gen: Any, stop: list[str]) -> tuple[str, dict]:
    body: dict[str, Any] = {"model": name, "max_tokens": gen.max_new_tokens, "temperature": 0.0, "n": 1,
                            **gen.extra_body}
    if stop:
        body["stop"] = stop[:SERVER_STOPS]
    messages = chat_messages(prompt)
    start = time.perf_counter()
    if messages is not None:
        answer = client.post("/chat/completions", body | {"messages": messages})
        choice = _first_choice(answer, client)
        text = (choice.get("message") or {}).get("content") or ""
    else:
        answer = client.post("/completions", body | {"prompt": prompt})
        choice = _first_choice(answer, client)
        text = choice.get("text") or ""
    seconds = time.perf_counter() - start
    text = cut_text(text, stop, gen.max_sentences, gen.loop_ngram)
    usage = answer.get("usage") or {}
    details = {"seconds": seconds, "endpoint": "chat/completions" if messages is not None else "completions",
               "finish_reason": choice.get("finish_reason")}
    for ours, theirs in (("prompt_tokens", "prompt_tokens"), ("new_tokens", "completion_tokens")):
        if isinstance(usage.get(theirs), int):
            details[ours] = usage[theirs]
    return text, details


def _first_choice(answer: Any, client: Client) -> dict:
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not choices or not isinstance(choices[0], dict):
        raise RequestFailed(f"{client.base}: the answer has no choices: {json.dumps(answer)[:200]}")
    return choices[0]


BACKENDS.register(OPENAI)(OpenAIBackend())

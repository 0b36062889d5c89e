"""The openai backend against a fake OpenAI-compatible server started here on 127.0.0.1.

The fake server (:class:`FakeServer`) answers ``GET /v1/models`` and ``POST /v1/completions``
and ``/v1/chat/completions`` with a completion made from the prompt (the first sentence of the
prompt's last article, then a blank line and a tail that the pipeline's stop must cut off). A
test can script faults on the next POST requests (an HTTP status with headers and a message,
a hang, a dropped connection), a delay for every completion, and a number of completions after
which it stops listening. It records every request it receives.

No model is loaded anywhere here (``no_model_loads``); retries wait a few milliseconds at most.
"""

from __future__ import annotations

import email.utils
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from summarizer import models
from summarizer import openai_backend as ob
from summarizer.cli import main
from summarizer.errors import ModelError
from summarizer.openai_backend import (BACKOFF_BASE, BACKOFF_CAP, MAX_RETRY_AFTER, Client, RequestFailed, ServerDown,
                                       retry_after, served_models)
from summarizer.pipeline import Pipeline
from summarizer.plan import cut_text

from .conftest import read_jsonl

TAIL = "TAIL-AFTER-THE-STOP"
COMPLETIONS = ("/v1/completions", "/v1/chat/completions")


# --------------------------------------------------------------------------- the fake server


def article_of(body: dict) -> str:
    """The last article in a request's prompt: after the last example separator and before
    the template's tail (base format), or after the instruction in the last user message (chat)."""
    if "messages" in body:
        last = [m for m in body["messages"] if m.get("role") == "user"][-1]["content"]
        return last.split("\n\n", 1)[-1].strip()
    last = body["prompt"].rsplit("\n\n\n", 1)[-1]
    return last.split("\n\nStory highlights:")[0].strip()


def fake_completion(body: dict) -> str:
    first = re.split(r"(?<=[.!?])\s+", article_of(body), maxsplit=1)[0]
    return f"{first}\n\n{TAIL} more words that the stop string cuts off."


class FakeServer:
    """A scriptable OpenAI-compatible server on 127.0.0.1 (port 0: any free port)."""

    def __init__(self, port: int = 0, models_served=("fake",)):
        self.models = list(models_served)
        self.requests: list[dict] = []  # {"method", "path", "body", "headers"} in arrival order
        self.faults: list[tuple[str, dict]] = []  # applied to the next POST requests, one each
        self.delay = 0.0  # seconds every completion takes
        self.answer_limit: int | None = None  # stop listening after this many completions answered
        self.answered = 0  # completions answered with 200
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.stopped = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                server.record(self, None)
                if self.path.rstrip("/") == "/v1/models":
                    self.answer(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]})
                else:
                    self.answer(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                server.record(self, body)
                with server.lock:
                    fault = server.faults.pop(0) if server.faults else None
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    self.counted = True
                try:
                    self.serve_post(body, fault)
                finally:
                    self.uncount()

            def uncount(self):
                # A request is in flight until its answer starts to leave: counted until the
                # handler returned, the client's next request (sent as soon as this answer is
                # read) could arrive first and be counted with it (4 of --concurrency 3 seen).
                with server.lock:
                    if getattr(self, "counted", False):
                        server.in_flight -= 1
                        self.counted = False

            def serve_post(self, body, fault):
                if fault is not None:
                    kind, options = fault
                    if kind == "drop":  # no answer at all: the socket is closed
                        self.close_connection = True
                        try:
                            self.connection.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                        return
                    if kind == "status":
                        self.answer(options["code"], {"error": {"message": options.get("message", "fake fault"),
                                                                "type": "fake"}},
                                    headers=options.get("headers"))
                        return
                    if kind == "hang":  # longer than the client waits, then an answer nobody reads
                        server.stopping.wait(options["seconds"])
                if self.path not in COMPLETIONS or not isinstance(body, dict):
                    self.answer(404, {"error": {"message": f"no route {self.path}"}})
                    return
                if server.delay:
                    server.stopping.wait(server.delay)
                text = fake_completion(body)
                usage = {"prompt_tokens": len(json.dumps(body).split()), "completion_tokens": len(text.split())}
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                if self.path == "/v1/chat/completions":
                    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                else:
                    choice = {"index": 0, "text": text, "finish_reason": "stop"}
                with server.lock:
                    server.answered += 1
                    last = server.answer_limit is not None and server.answered >= server.answer_limit
                if last:
                    server.stop()  # no longer listening before this answer leaves: the next request is refused
                self.answer(200, {"id": f"cmpl-{server.answered}", "object": "text_completion",
                                  "model": body.get("model"), "choices": [choice], "usage": usage})

            def answer(self, code, payload, headers=None):
                self.uncount()
                data = json.dumps(payload).encode("utf-8")
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Connection", "close")
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                except OSError:  # the client gave up (a hang)
                    pass
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)  # SO_REUSEADDR: allow_reuse_address
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True, name=f"fake-openai-{self.port}")
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def record(self, handler, body) -> None:
        with self.lock:
            self.requests.append({"method": handler.command, "path": handler.path, "body": body,
                                  "headers": {k.lower(): v for k, v in handler.headers.items()}})

    def inject(self, kind: str, times: int = 1, **options) -> None:
        """Fault the next ``times`` POST requests: "status" (code, message, headers), "hang"
        (seconds), "drop"."""
        self.faults.extend([(kind, options)] * times)

    def posts(self, paths=COMPLETIONS) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] in paths]

    def stop(self) -> None:
        with self.lock:
            if self.stopped:
                return
            self.stopped = True
        self.stopping.set()
        self.httpd.shutdown()  # from a handler thread too: serve_forever runs in its own thread
        self.httpd.server_close()  # the listening socket is closed: connections are refused


@pytest.fixture
def start_server():
    """Start fake servers (``start_server(port=0)``); all stopped after the test."""
    served_models.cache_clear()
    started: list[FakeServer] = []

    def start(port: int = 0, **kwargs) -> FakeServer:
        started.append(FakeServer(port, **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.stop()
    served_models.cache_clear()


@pytest.fixture
def server(start_server) -> FakeServer:
    return start_server()


@pytest.fixture
def no_model_loads(monkeypatch):
    def no(*args, **kwargs):
        raise AssertionError("the openai backend loaded a model")

    monkeypatch.setattr(models, "load_tokenizer", no)
    monkeypatch.setattr(models, "load_model", no)


@pytest.fixture
def quick_retries(monkeypatch):
    """Retries without a Retry-After wait 10 ms (the CLI's Client sleeps with time.sleep)."""
    monkeypatch.setattr(ob, "backoff", lambda attempt: 0.01)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- the corpus and the CLI

TOPICS = [
    ("ferry", "The island ferry resumed service on Friday after a week of storms. Harbour staff repaired the "
              "damaged loading ramp overnight. Captain Mira Voss said the first crossing carried ninety "
              "passengers. Tickets bought during the closure will be honoured until June."),
    ("orchard", "A school in Redfield planted an orchard of forty apple trees behind its gym. Pupils chose the "
                "varieties after tasting samples from local growers. The first fruit is expected in three "
                "years."),
    ("library", "The county library opened a tool lending shelf in its main branch. Members can borrow drills, "
                "ladders and sewing machines for a week at a time. The librarian, Tom Reyes, said demand "
                "surprised the staff. More tools will be added in the autumn."),
    ("bakery", "A bakery on Mill Street won the regional bread prize for its rye loaf. The owners, two "
               "sisters, started the shop in a garage six years ago. They plan to hire three more bakers "
               "this summer."),
    ("comet", "Amateur astronomers in Belmont spotted a faint comet on Tuesday night. The object was seen "
              "low in the western sky just after sunset. Observers will need binoculars to find it next "
              "week."),
    ("river", "Volunteers cleared two tonnes of rubbish from the banks of the Ashby river on Sunday. The "
              "cleanup was organised by a local rowing club. Most of the waste was plastic bottles and "
              "old tyres. The council will collect the bags on Monday."),
]


def write_docs(folder: Path, count: int) -> Path:
    folder.mkdir()
    for name, text in TOPICS[:count]:
        (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    return folder


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]


def run_cli(docs: Path, out: Path, api_base: str, *extra: str):
    args = ["run", str(docs), "-o", str(out), "--pipeline", "abstractive", "--backend", "openai",
            "--api-base", api_base, "--set", "generate.timeout=5", *extra]
    return CliRunner().invoke(main, args, catch_exceptions=False)


# --------------------------------------------------------------------------- the client's retry policy


def test_429_with_retry_after_is_retried_after_the_servers_wait(server):
    waits: list[float] = []
    server.inject("status", code=429, message="slow down", headers={"Retry-After": "2"})
    client = Client(server.url, timeout=5, retries=3, sleep=waits.append)
    answer = client.post("/completions", {"model": "fake", "prompt": "One two three. Four."})
    assert answer["choices"][0]["text"].startswith("One two three.")
    assert waits == [2.0]
    assert len(server.posts()) == 2


def test_500_twice_then_success_waits_by_exponential_backoff(server):
    waits: list[float] = []
    server.inject("status", times=2, code=500, message="overloaded")
    client = Client(server.url, timeout=5, retries=4, sleep=waits.append)
    answer = client.post("/completions", {"model": "fake", "prompt": "Alpha beta. Gamma."})
    assert answer["choices"][0]["text"].startswith("Alpha beta.")
    assert len(server.posts()) == 3
    assert len(waits) == 2
    for attempt, wait in enumerate(waits):
        full = BACKOFF_BASE * 2 ** attempt
        assert 0.5 * full <= wait <= full, (attempt, wait)


def test_backoff_grows_with_jitter_and_is_capped(monkeypatch):
    monkeypatch.setattr(ob.random, "uniform", lambda low, high: high)
    assert [ob.backoff(a) for a in range(4)] == [BACKOFF_BASE * 2 ** a for a in range(4)]
    assert ob.backoff(30) == BACKOFF_CAP
    monkeypatch.setattr(ob.random, "uniform", lambda low, high: low)
    assert ob.backoff(1) == 0.5 * BACKOFF_BASE * 2
    assert ob.backoff(30) == 0.5 * BACKOFF_CAP


def test_a_hang_past_the_timeout_is_retried_and_without_retries_fails(server):
    waits: list[float] = []
    server.inject("hang", seconds=1.5)
    client = Client(server.url, timeout=0.3, retries=2, sleep=waits.append)
    start = time.monotonic()
    answer = client.post("/completions", {"model": "fake", "prompt": "Late answer here. Then more."})
    assert answer["choices"][0]["text"].startswith("Late answer here.")
    assert time.monotonic() - start < 1.4  # the client gave up on the hang, it did not wait it out
    assert len(server.posts()) == 2 and len(waits) == 1

    server.inject("hang", seconds=1.5)
    once = Client(server.url, timeout=0.3, retries=0, sleep=waits.append)
    with pytest.raises(RequestFailed) as caught:
        once.post("/completions", {"model": "fake", "prompt": "Never answered. In time."})
    assert "no answer within" in str(caught.value) and "0.3 s" in str(caught.value)
    assert "1 try" in str(caught.value)
    assert len(server.posts()) == 3 and len(waits) == 1  # retries=0: no wait, no second request


def test_a_dropped_connection_is_retried(server):
    waits: list[float] = []
    server.inject("drop")
    client = Client(server.url, timeout=5, retries=2, sleep=waits.append)
    answer = client.post("/completions", {"model": "fake", "prompt": "Dropped once. Then fine."})
    assert answer["choices"][0]["text"].startswith("Dropped once.")
    assert len(server.posts()) == 2 and len(waits) == 1


def test_connections_dropped_every_time_by_a_live_server_fail_one_request_not_the_run(server):
    server.inject("drop", times=2)
    client = Client(server.url, timeout=5, retries=1, sleep=lambda s: None)
    with pytest.raises(RequestFailed) as caught:  # the server still answers GET /models: not ServerDown
        client.post("/completions", {"model": "fake", "prompt": "x"})
    assert not isinstance(caught.value, ServerDown)
    assert "2 tries" in str(caught.value)
    assert len(server.posts()) == 2


def test_http_400_is_not_retried_and_names_the_status_and_the_servers_message(server):
    waits: list[float] = []
    server.inject("status", code=400, message="the prompt is longer than the context window")
    client = Client(server.url, timeout=5, retries=4, sleep=waits.append)
    with pytest.raises(RequestFailed) as caught:
        client.post("/completions", {"model": "fake", "prompt": "too long"})
    message = str(caught.value)
    assert "HTTP 400" in message and "the prompt is longer than the context window" in message
    assert len(server.posts()) == 1 and waits == []


def test_retries_exhausted_on_500(server):
    waits: list[float] = []
    server.inject("status", times=100, code=500, message="always broken")
    client = Client(server.url, timeout=5, retries=2, sleep=waits.append)
    with pytest.raises(RequestFailed) as caught:
        client.post("/completions", {"model": "fake", "prompt": "x"})
    message = str(caught.value)
    assert "HTTP 500" in message and "always broken" in message and "3 tries" in message
    assert not isinstance(caught.value, ServerDown)
    assert len(server.posts()) == 3 and len(waits) == 2


def test_nothing_listening_is_server_down():
    base = f"http://127.0.0.1:{closed_port()}/v1"
    waits: list[float] = []
    client = Client(base, timeout=2, retries=2, sleep=waits.append)
    with pytest.raises(ServerDown) as caught:
        client.post("/completions", {"model": "fake", "prompt": "x"})
    assert isinstance(caught.value, ModelError)
    message = str(caught.value)
    assert base in message and "run the same command" in message and "3 tries" in message
    assert len(waits) == 2


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after("3") == 3.0
    assert retry_after(" 1.5 ") == 1.5
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8.0 <= retry_after(in_ten) <= 10.5
    assert retry_after(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0  # past: no wait
    assert retry_after("soon, probably") is None
    assert retry_after("") is None and retry_after(None) is None
    assert retry_after("86400") == MAX_RETRY_AFTER
    assert retry_after(email.utils.formatdate(time.time() + 86400, usegmt=True)) == MAX_RETRY_AFTER
    assert retry_after("-5") == 0.0


def test_the_api_key_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("SUMMARIZER_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert ob.api_key() is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    assert ob.api_key() == "sk-openai"
    monkeypatch.setenv("SUMMARIZER_API_KEY", "sk-ours")
    assert ob.api_key() == "sk-ours"  # ours first
    assert "sk-ours" not in repr(Client("http://127.0.0.1:9/v1", key="sk-ours"))


def test_chat_messages_round_trip_through_the_server_tokenizer():
    tokenizer = ob.ServerTokenizer("fake")
    messages = [{"role": "user", "content": "Summarize.\n\nA \"quoted\" article, ünïcode."}]
    prompt = tokenizer.apply_chat_template(messages)
    assert ob.chat_messages(prompt) == messages
    assert ob.chat_messages("A plain prompt.\n\nStory highlights:\n") is None
    assert ob.chat_messages('{"messages": [') is None  # not JSON
    assert tokenizer.count(["one two three", ""]) == [ob.estimate_tokens("one two three"), ob.estimate_tokens("")]


def settings(*overrides: str):
    return Pipeline.load("abstractive", overrides=list(overrides)).config.generate


def test_a_completion_sends_four_stops_applies_the_rest_here_and_adds_extra_body(server):
    gen = settings('generate.stop=["<a>", "<b>", "<c>", "<d>", " beta"]', "generate.max_sentences=0",
                   "generate.loop_ngram=0", "generate.extra_body={repeat_penalty = 1.0}")
    client = Client(server.url, timeout=5, retries=0, sleep=lambda s: None)
    text, details = ob._complete(client, "fake", "Alpha beta gamma. Delta.", gen, list(gen.stop))
    body = server.posts()[0]["body"]
    assert body["stop"] == ["<a>", "<b>", "<c>", "<d>"]  # the OpenAI API takes at most four
    assert body["repeat_penalty"] == 1.0 and body["n"] == 1 and body["prompt"] == "Alpha beta gamma. Delta."
    assert text == "Alpha beta"  # the fifth stop, applied to the answer here (and kept, as a stop id is)
    assert details["endpoint"] == "completions" and details["finish_reason"] == "stop"
    assert details["new_tokens"] > 0 and details["prompt_tokens"] > 0 and details["seconds"] >= 0


def test_an_answer_without_choices_fails_the_request(server, monkeypatch):
    client = Client(server.url, timeout=5, retries=0, sleep=lambda s: None)
    monkeypatch.setattr(client, "post", lambda path, body: {"object": "text_completion", "choices": []})
    with pytest.raises(RequestFailed, match="no choices"):
        ob._complete(client, "fake", "x", settings(), ["\n\n"])


def test_once_the_server_is_down_the_rest_of_the_window_is_not_tried(start_server):
    from types import SimpleNamespace

    from summarizer.records import Record

    server = start_server()
    server.answer_limit = 1  # one answer, then nothing listens
    gen = settings(f'generate.api_base="{server.url}"', "generate.concurrency=1", "generate.retries=1")
    waits: list[float] = []
    client = Client(server.url, timeout=2, retries=1, sleep=waits.append)
    ctx = SimpleNamespace(config=SimpleNamespace(generate=gen), model=client)
    records = [Record(id=f"d{i}", text="x", prompt=f"Document {i} starts. It ends.") for i in range(5)]
    with pytest.raises(ServerDown) as caught:
        ob.OpenAIBackend().generate(records, ctx)
    assert server.url in str(caught.value)
    assert len(server.posts()) == 1
    assert len(waits) == 1  # the second document's one retry; documents 3-5 were not tried at all
    assert all(r.generation is None and r.error is None for r in records[1:])  # not failed one by one


# --------------------------------------------------------------------------- cut_text


def test_cut_text_stop_strings_keep_the_earliest_stop():
    assert cut_text("First line.\n\nSecond part.", ["\n\n"]) == "First line.\n\n"
    assert cut_text("a END b STOP c", ["STOP", "END"]) == "a END"  # the earliest stop, whichever listed first
    assert cut_text("no stop here", ["\n\n"]) == "no stop here"
    assert cut_text("unchanged", []) == "unchanged"


def test_cut_text_max_sentences():
    text = "One is here. Two is here. Three is here. Four is here."
    assert cut_text(text, [], max_sentences=2) == "One is here. Two is here. "  # cut at the space ending it
    assert cut_text(text, [], max_sentences=0) == text
    assert cut_text("Only one. And an unfinished", [], max_sentences=3) == "Only one. And an unfinished"


def test_cut_text_loop_ngram_cuts_at_the_word_completing_a_repeat():
    looping = "the cat sat on the mat the cat sat on the mat"
    assert cut_text(looping, [], loop_ngram=3) == "the cat sat on the mat the cat sat"
    assert cut_text("a b c d e f", [], loop_ngram=2) == "a b c d e f"
    assert cut_text("a b a b", [], loop_ngram=0) == "a b a b"
    assert cut_text("x y x y z z", [], loop_ngram=2) == "x y x y"  # cut after the word completing "x y" again
    # stops first, then the loop check on what is left
    assert cut_text("p q r\n\np q r", ["\n\n"], loop_ngram=3) == "p q r\n\n"


# --------------------------------------------------------------------------- end to end through the CLI


def test_a_run_through_the_cli(server, tmp_path, no_model_loads):
    docs = write_docs(tmp_path / "docs", 4)
    out = tmp_path / "out"
    result = run_cli(docs, out, server.url)
    assert result.exit_code == 0, result.output
    records = read_jsonl(out / "summaries.jsonl")
    texts = {name: text for name, text in TOPICS}
    assert sorted(r["id"] for r in records) == sorted(name for name, _ in TOPICS[:4])
    generate = Pipeline.load("abstractive").config.generate
    for record in records:
        assert record["error"] is None, record["error"]
        assert record["summary"]
        # the server's answer, cut after the stop string (which it did not apply itself)
        assert record["generation"].strip() == first_sentence(texts[record["id"]])
        assert TAIL not in record["generation"] and TAIL not in record["summary"]
        entries = [t for t in record["trace"] if t["stage"] == "generate"]
        assert len(entries) == 1 and entries[0]["backend"] == "openai"
        assert entries[0]["endpoint"] == "completions" and entries[0]["new_tokens"] > 0
    assert [r["path"] for r in server.requests if r["method"] == "GET"] == ["/v1/models"]  # the pre-flight check
    posts = server.posts()
    assert len(posts) == 4 and {p["path"] for p in posts} == {"/v1/completions"}
    for post in posts:
        body = post["body"]
        assert body["temperature"] == 0
        assert body["max_tokens"] == generate.max_new_tokens == 80
        assert body["model"] == "fake"  # "default": the first model the server lists
        assert body["stop"] == list(generate.stop)[: ob.SERVER_STOPS] and "\n\n" in body["stop"]
        assert "Story highlights:" in body["prompt"] and "messages" not in body
    assert sorted(article_of(p["body"]).split(".")[0] for p in posts) == sorted(
        first_sentence(t).split(".")[0] for _, t in TOPICS[:4])


def test_the_key_is_sent_and_never_written(server, tmp_path, monkeypatch, no_model_loads):
    key = "sk-test-7f3a9c1e5b2d"
    monkeypatch.setenv("SUMMARIZER_API_KEY", key)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    docs = write_docs(tmp_path / "docs", 2)
    out = tmp_path / "out"
    result = run_cli(docs, out, server.url)
    assert result.exit_code == 0, result.output
    assert server.requests and all(r["headers"].get("authorization") == f"Bearer {key}" for r in server.requests)
    assert key not in result.output
    assert (out / "summaries.jsonl").is_file() and (out / ".summarizer-run").is_file()
    for path in [out / "summaries.jsonl", out / ".summarizer-run", *out.rglob("*")]:
        if path.is_file():
            assert key not in path.read_text(encoding="utf-8", errors="replace"), path


def test_chat_format_sends_messages_to_chat_completions(server, tmp_path, no_model_loads):
    docs = write_docs(tmp_path / "docs", 2)
    out = tmp_path / "out"
    result = run_cli(docs, out, server.url, "--set", 'prompt.format="chat"')
    assert result.exit_code == 0, result.output
    posts = server.posts()
    assert len(posts) == 2 and {p["path"] for p in posts} == {"/v1/chat/completions"}
    texts = dict(TOPICS)
    seen = set()
    for post in posts:
        body = post["body"]
        assert "prompt" not in body and isinstance(body["messages"], list)
        last = body["messages"][-1]
        assert last["role"] == "user"
        name = next(n for n, t in texts.items() if first_sentence(t) in last["content"])
        seen.add(name)
        assert body["temperature"] == 0 and body["model"] == "fake"
    assert seen == {name for name, _ in TOPICS[:2]}
    for record in read_jsonl(out / "summaries.jsonl"):
        assert record["error"] is None
        entry = next(t for t in record["trace"] if t["stage"] == "generate")
        assert entry["backend"] == "openai" and entry["endpoint"] == "chat/completions"
        assert record["generation"].strip() == first_sentence(texts[record["id"]])


def test_the_preflight_check_stops_the_run_before_any_output(start_server, tmp_path, no_model_loads, quick_retries):
    docs = write_docs(tmp_path / "docs", 2)
    base = f"http://127.0.0.1:{closed_port()}/v1"
    out = tmp_path / "down"
    result = run_cli(docs, out, base)
    assert result.exit_code != 0
    assert base in result.output and "/models" in result.output
    assert not (out / "summaries.jsonl").exists() and not (out / "summaries.jsonl.partial").exists()

    server = start_server()
    out = tmp_path / "unserved"
    result = run_cli(docs, out, server.url, "--model", "not-served")
    assert result.exit_code != 0
    assert "not-served" in result.output and "fake" in result.output
    assert not (out / "summaries.jsonl").exists() and not (out / "summaries.jsonl.partial").exists()
    assert server.posts() == []


def test_a_failed_request_fails_its_document_only(server, tmp_path, no_model_loads, quick_retries):
    docs = write_docs(tmp_path / "docs", 3)
    out = tmp_path / "out"
    server.inject("status", code=400, message="rejected by the fake")
    result = run_cli(docs, out, server.url, "--concurrency", "1", "--set", "generate.window=1")
    assert result.exit_code == 3, result.output  # finished, one failed
    records = read_jsonl(out / "summaries.jsonl")
    failed = [r for r in records if r["error"]]
    assert len(records) == 3 and len(failed) == 1
    assert failed[0]["error"].startswith("generate: ") and "HTTP 400" in failed[0]["error"]
    assert "rejected by the fake" in failed[0]["error"]


def test_the_server_dies_mid_run_and_the_same_command_continues(start_server, tmp_path, no_model_loads,
                                                                quick_retries):
    docs = write_docs(tmp_path / "docs", 6)
    out = tmp_path / "out"
    first = start_server()
    first.answer_limit = 3  # then it stops listening
    port = first.port
    extra = ["--concurrency", "1", "--set", "generate.window=1", "--set", "generate.retries=1"]
    result = run_cli(docs, out, first.url, *extra)
    assert result.exit_code != 0, result.output
    assert "stopped answering" in result.output and "run the same command" in result.output
    assert first.url in result.output
    assert not (out / "summaries.jsonl").exists()
    kept = read_jsonl(out / "summaries.jsonl.partial")
    finished_before = {r["id"] for r in kept if r["error"] is None}
    assert len(finished_before) == 3 and len(kept) == 3  # the document in flight is not written as failed
    assert len(first.posts()) == 3  # the 4th request was refused: it never arrived

    served_models.cache_clear()
    try:
        second = start_server(port)  # the same address again (SO_REUSEADDR)
    except OSError:
        second = start_server()  # the port was taken meanwhile: api_base is not in the fingerprint
    again = run_cli(docs, out, second.url, *extra)
    assert again.exit_code == 0, again.output
    assert "(3 reused from an earlier run)" in again.output
    records = read_jsonl(out / "summaries.jsonl")
    assert sorted(r["id"] for r in records) == sorted(name for name, _ in TOPICS[:6])  # every one, once
    assert all(r["error"] is None and r["summary"] for r in records)
    assert len(second.posts()) == 3
    # nothing summarized twice: the second server saw only the documents not finished before
    asked_again = {article_of(p["body"]).split(".")[0] for p in second.posts()}
    assert asked_again == {first_sentence(t).split(".")[0] for n, t in TOPICS[:6] if n not in finished_before}
    assert len(first.posts()) + len(second.posts()) == 6


def test_requests_run_concurrently(server, tmp_path, no_model_loads):
    server.delay = 0.3
    docs = write_docs(tmp_path / "docs", 6)
    out = tmp_path / "out"
    result = run_cli(docs, out, server.url, "--concurrency", "3", "--set", "generate.window=6")
    assert result.exit_code == 0, result.output
    assert len(server.posts()) == 6
    assert server.max_in_flight > 1
    assert server.max_in_flight <= 3  # never more than --concurrency
    assert all(r["error"] is None for r in read_jsonl(out / "summaries.jsonl"))


def test_a_key_with_a_trailing_newline_is_neither_a_crash_nor_printed(server, tmp_path, monkeypatch, no_model_loads):
    key = "sk-test-newline-4d2e8a"
    monkeypatch.setenv("SUMMARIZER_API_KEY", key + "\n")  # as read from a secret file
    docs = write_docs(tmp_path / "docs", 1)
    result = CliRunner().invoke(main, ["run", str(docs), "-o", str(tmp_path / "out"), "--pipeline", "abstractive",
                                       "--backend", "openai", "--api-base", server.url], catch_exceptions=True)
    # either the key is used without its line end, or the run stops with a message, never with a traceback
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert key not in result.output
    if result.exit_code == 0:
        assert all(r["headers"].get("authorization") == f"Bearer {key}" for r in server.requests)


def test_a_key_that_cannot_be_a_header_is_a_message_without_the_key(server, tmp_path, monkeypatch, no_model_loads):
    key = "sk-test-inner\nline-77aa"
    monkeypatch.setenv("SUMMARIZER_API_KEY", key)
    docs = write_docs(tmp_path / "docs", 1)
    result = CliRunner().invoke(main, ["run", str(docs), "-o", str(tmp_path / "out"), "--pipeline", "abstractive",
                                       "--backend", "openai", "--api-base", server.url], catch_exceptions=True)
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), repr(result.exception)
    assert "cannot be sent in an HTTP header" in result.output
    assert "sk-test-inner" not in result.output and "77aa" not in result.output


def test_answers_received_before_the_server_died_are_kept_within_a_window(start_server, tmp_path, no_model_loads,
                                                                        quick_retries):
    docs = write_docs(tmp_path / "docs", 6)
    out = tmp_path / "out"
    first = start_server()
    first.answer_limit = 3
    # one window of all six documents, asked one at a time: three answered, then the server is gone
    extra = ["--concurrency", "1", "--set", "generate.window=6", "--set", "generate.retries=1"]
    result = run_cli(docs, out, first.url, *extra)
    assert result.exit_code != 0 and "stopped answering" in result.output
    kept = read_jsonl(out / "summaries.jsonl.partial")
    assert len(kept) == 3 and all(r["error"] is None and r["summary"] for r in kept)
    served_models.cache_clear()
    second = start_server()
    again = run_cli(docs, out, second.url, *extra)
    assert again.exit_code == 0, again.output
    assert "(3 reused from an earlier run)" in again.output
    assert len(second.posts()) == 3
    assert len(read_jsonl(out / "summaries.jsonl")) == 6

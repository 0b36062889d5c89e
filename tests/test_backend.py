"""The backend registry and what holds for every backend, without llama.cpp or a server:
which backend ``auto`` picks, the settings that do and do not change a run's fingerprint,
the messages for a backend that cannot run, and the llama.cpp steering on a stand-in model."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from summarizer import backend, models
from summarizer.backend import LLAMA_CPP, OPENAI, TRANSFORMERS, backend_name
from summarizer.errors import ConfigError, ModelError
from summarizer.pipeline import Pipeline
from summarizer.records import Record
from summarizer.stages import Context


def gen(**overrides):
    return Pipeline.load("abstractive", overrides=[f"generate.{k}={v}" for k, v in overrides.items()]).config.generate


def test_auto_picks_openai_for_an_api_base_llama_cpp_for_a_gguf_and_transformers_otherwise(monkeypatch, tmp_path):
    assert backend_name(gen()) == TRANSFORMERS
    assert backend_name(gen(api_base='"http://127.0.0.1:9/v1"')) == OPENAI
    model = f'"{tmp_path / "m.gguf"}"'
    monkeypatch.setattr(backend, "has_llama_cpp", lambda: True)
    assert backend_name(gen(model=model)) == LLAMA_CPP
    monkeypatch.setattr(backend, "has_llama_cpp", lambda: False)
    assert backend_name(gen(model=model)) == TRANSFORMERS  # converted as before when llama.cpp is absent
    assert backend_name(gen(model=model, backend='"openai"')) == OPENAI  # an explicit choice wins


def test_an_unknown_backend_names_the_choices():
    with pytest.raises(ConfigError) as caught:
        Pipeline.load("abstractive", overrides=['generate.backend="vllm"'])
    message = str(caught.value)
    assert "vllm" in message and all(name in message for name in ("transformers", "llama.cpp", "openai"))


def test_server_settings_do_not_change_the_fingerprint_but_the_backend_does():
    plain = Pipeline.load("abstractive", overrides=['generate.backend="openai"']).config
    moved = Pipeline.load("abstractive", overrides=[
        'generate.backend="openai"', 'generate.api_base="http://10.0.0.7:8000/v1"', "generate.concurrency=16",
        "generate.timeout=5.0", "generate.retries=0"]).config
    assert plain.fingerprint() == moved.fingerprint()  # a resumed run may move to another server
    assert plain.fingerprint() != Pipeline.load("abstractive").config.fingerprint()


def test_the_builtin_adapter_counts_only_where_it_is_applied():
    local = Pipeline.load("default").config
    served = Pipeline.load("default", overrides=['generate.backend="openai"']).config
    unadapted = Pipeline.load("default", overrides=['generate.backend="openai"'], adapter="").config
    assert served.fingerprint() == unadapted.fingerprint()  # a server runs no adapter of ours
    assert local.fingerprint() != Pipeline.load("default", adapter="").config.fingerprint()


def test_llama_cpp_without_llama_cpp_python_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import fails as if not installed
    monkeypatch.setattr(models, "embedded_gguf", lambda: __file__)
    with pytest.raises(ModelError, match=r"pip install 'summarizer\[llamacpp\]'"):
        backend.check_backend(gen(backend='"llama.cpp"'))


def test_llama_cpp_refuses_what_it_cannot_run(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    with pytest.raises(ModelError, match="runs a .gguf file"):
        backend.check_backend(gen(backend='"llama.cpp"', model=f'"{folder}"'))
    with pytest.raises(ModelError, match="does not exist"):
        backend.check_backend(gen(backend='"llama.cpp"', model=f'"{tmp_path / "missing.gguf"}"'))
    with pytest.raises(ConfigError, match="does not apply this package's adapters"):
        backend.check_backend(gen(backend='"llama.cpp"', adapter=f'"{folder}"'))
    with pytest.raises(ConfigError, match="--api-base is the openai backend's setting"):
        backend.check_backend(gen(backend='"llama.cpp"', api_base='"http://127.0.0.1:9/v1"'))


def test_openai_needs_an_http_address():
    with pytest.raises(ConfigError, match="--api-base URL"):
        backend.check_backend(gen(backend='"openai"'))
    with pytest.raises(ConfigError, match="not an http"):
        backend.check_backend(gen(api_base='"127.0.0.1:8080"'))


def test_the_openai_backend_loads_no_model_for_token_counts(monkeypatch):
    def no(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(models, "load_tokenizer", no)
    monkeypatch.setattr(models, "load_model", no)
    pipe = Pipeline.load("abstractive", model="served-model", overrides=['generate.api_base="http://127.0.0.1:9/v1"'])
    assert pipe.config.chunk.tokenizer == "model"
    ctx = Context(pipe.config)
    from summarizer.chunk import count_tokens
    from summarizer.segment import estimate_tokens

    texts = ["The bridge, built in 1887, carries 4,000 cars a day.", "Short one."]
    assert count_tokens(texts, ctx) == [estimate_tokens(t) for t in texts]


class StandInLlama:
    """Just what the llama.cpp tokenizer wrapper asks of llama_cpp.Llama: one token per word."""

    metadata: dict = {}

    def __init__(self):
        self.vocab = ["<pad>", "<eos>", "<bos>", "\n\n"]

    def token_bos(self):
        return 2

    def token_eos(self):
        return 1

    def _id(self, word):
        if word not in self.vocab:
            self.vocab.append(word)
        return self.vocab.index(word)

    def tokenize(self, text: bytes, add_bos=True, special=False):
        text = text.decode()
        if text in ("<eos>", "\n\n"):
            return [self._id(text)]
        return ([2] if add_bos else []) + [self._id(w) for w in text.split()]

    def detokenize(self, tokens, special=False):
        return " ".join(self.vocab[t] for t in tokens).encode()


def test_llama_cpp_steering_biases_the_extract_bans_early_stops_and_repeats():
    from summarizer.llamacpp import LlamaTokenizer, _steering

    tokenizer = LlamaTokenizer(StandInLlama(), "stand-in")
    record = Record(id="a", text="Cats sleep. Dogs bark loudly.", sentences=[[0, 11], [12, 29]], extract=[1])
    prompt = tokenizer.encode("Cats sleep. Dogs bark loudly. TL;DR:")
    settings = gen(copy_bias=2.0, min_new_tokens=2, no_repeat_ngram=2, stop='["\\n\\n"]')
    process = _steering(record, prompt, tokenizer, settings)
    size = len(tokenizer.llm.vocab) + 4
    bark = tokenizer.encode("bark", add_special_tokens=False)[0]
    cats = tokenizer.encode("Cats", add_special_tokens=False)[0]
    scores = process(np.array(prompt), np.zeros(size, dtype=np.float32))
    assert scores[bark] == 2.0 and scores[cats] == 0.0  # the extract's words, not the whole prompt's
    assert scores[1] == -np.inf and scores[3] == -np.inf  # no end (<eos>, the blank line) before 2 new tokens
    generated = prompt + [bark, cats, bark]  # "bark Cats bark": "bark Cats" may not come again
    scores = process(np.array(generated), np.zeros(size, dtype=np.float32))
    assert scores[cats] == -np.inf and scores[bark] == 2.0 and scores[1] == 2.0  # stops share the bias
    assert _steering(record, prompt, tokenizer, gen(copy_bias=0.0)) is None

"""Every setting is checked when a pipeline loads (issue #16): ranges, choices, patterns,
templates, list entries, and pipeline files that cannot be read as UTF-8 TOML files."""

import dataclasses
import os
import threading

import pytest

from summarizer.config import PipelineConfig, builtin_pipelines, load_pipeline, sections, validate
from summarizer.errors import ConfigError


def refused(*overrides, pipeline="lead3"):
    with pytest.raises(ConfigError) as info:
        load_pipeline(pipeline, list(overrides))
    return str(info.value)


@pytest.mark.parametrize("value", [0, -5])
def test_max_sentence_chars_below_one_is_refused(value):
    # 0 used to loop forever in the chunk stage, its memory growing without bound
    message = refused(f"chunk.max_sentence_chars={value}")
    assert f"chunk.max_sentence_chars = {value}" in message and ">= 1" in message
    assert "--set chunk.max_sentence_chars=" in message


def test_negative_max_sentences_is_refused_with_its_meaning():
    message = refused("extract.max_sentences=-1")
    assert "extract.max_sentences = -1" in message and ">= 0 (0 = no limit, or the learned length)" in message
    assert "(from --set)" in message and "--set extract.max_sentences=0" in message


def test_unknown_tokenizer_is_refused():
    message = refused("chunk.tokenizer=bogus")
    assert "chunk.tokenizer = 'bogus'" in message and "valid choices: model, words" in message


def test_unknown_device_is_refused():
    message = refused("generate.device=gpu9")
    assert "generate.device = 'gpu9'" in message and "cuda:N" in message and "auto" in message


@pytest.mark.parametrize("override, shown, choices", [
    ("generate.dtype=float64", "generate.dtype = 'float64'", ["float32", "bfloat16"]),
    ("generate.decoder=beam", "generate.decoder = 'beam'", ["valid choices: fast, transformers"]),
    ("extract.strategy=bogus", "extract.strategy = 'bogus'", ["centrality, embedding, lead, learned, position"]),
    ("prompt.format=bogus", "prompt.format = 'bogus'", ["valid choices: auto, base, chat"]),
])
def test_an_unknown_choice_is_refused_at_load_listing_the_valid_ones(override, shown, choices):
    message = refused(override)
    assert shown in message and all(choice in message for choice in choices)


def test_unknown_filter_step_is_refused():
    message = refused('filter.steps=["dedupe", "bogus"]')
    assert "filter.steps" in message and "'bogus' as entry 2" in message
    assert "dedupe" in message and "strip_echo" in message and "unsupported_facts" in message


def test_an_empty_stop_string_is_refused():
    message = refused('generate.stop=["\\n", ""]')
    assert "generate.stop" in message and "entry 2" in message and "non-empty" in message


def test_a_template_without_text_is_refused():
    message = refused('prompt.template="Summarize: TL;DR:"', pipeline="abstractive")
    assert "prompt.template = 'Summarize: TL;DR:'" in message and "no {text} placeholder" in message


def test_a_template_with_an_unknown_placeholder_is_refused():
    message = refused('prompt.template="{text} in {sentence} sentences"', pipeline="abstractive")
    assert "prompt.template" in message and "{sentence}" in message and "{sentences}" in message


def test_template_braces_that_are_not_placeholders_are_kept():
    # prompt._fill replaces rather than str.format, so a literal brace is harmless
    config = load_pipeline("abstractive", ['prompt.template="{text}\\n{\\"summary\\": "'])
    assert config.prompt.template == '{text}\n{"summary": '


def test_a_share_out_of_range_is_refused():
    message = refused("extract.position_weight=1.5")
    assert "extract.position_weight = 1.5" in message and "between 0 and 1" in message


def test_a_float_that_is_not_finite_is_refused():
    message = refused("generate.copy_bias=nan")
    assert "generate.copy_bias = nan" in message and "finite" in message


def test_a_malformed_example_is_refused_at_load():
    message = refused('prompt.examples=[{article = "A."}]', pipeline="abstractive")
    assert "prompt.examples" in message and 'summary = "..."' in message


def test_bad_values_in_a_file_name_the_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('stages = ["chunk", "extract", "filter"]\n[chunk]\ntokenizer = "words"\n'
                    "[extract]\nmax_sentences = -1\n", encoding="utf-8")
    message = refused(pipeline=str(path))
    assert "extract.max_sentences = -1" in message and f"Fix it in {path} or with --set" in message


def test_every_problem_is_reported_at_once():
    message = refused("chunk.max_chunk_tokens=0", "generate.window=0")
    assert "2 settings are invalid" in message
    assert "chunk.max_chunk_tokens = 0" in message and "generate.window = 0" in message


def test_a_later_override_fixes_an_earlier_one():
    assert load_pipeline("lead3", ["extract.max_sentences=-1", "extract.max_sentences=2"]).extract.max_sentences == 2


@pytest.mark.parametrize("name", sorted(builtin_pipelines()))
def test_builtin_pipelines_load_and_validate(name):
    config = load_pipeline(name)
    validate(config)


def test_defaults_are_valid():
    # the defaults are what every fix message suggests
    validate(PipelineConfig(name="plain"))


def _extremes():
    """(key, value) for every declared bound: each is a valid setting."""
    for section, cls in sections().items():
        for spec in dataclasses.fields(cls):
            for bound in ("min", "max"):
                if bound in spec.metadata:
                    yield f"{section}.{spec.name}", spec.metadata[bound]


@pytest.mark.parametrize("key, value", list(_extremes()))
def test_valid_extremes_are_accepted(key, value):
    config = load_pipeline("abstractive", [f"{key}={value}"])
    section, name = key.split(".")
    assert getattr(getattr(config, section), name) == value


@pytest.mark.parametrize("override", ["generate.device=cuda:1", "generate.device=mps", "chunk.language=zh",
                                      "chunk.language=pt-BR", "generate.dtype=mixed", "prompt.format=chat",
                                      'filter.steps=["max_length"]', "filter.steps=[]",
                                      'prompt.instruction="Summarize in {sentences} sentences."'])
def test_valid_choices_are_accepted(override):
    load_pipeline("abstractive", [override])


def test_the_smallest_sentence_length_still_segments():
    from summarizer.pipeline import Pipeline
    from summarizer.records import Record

    record = next(Pipeline(load_pipeline("lead3", ["chunk.max_sentence_chars=1"])).run(
        [Record(id="a", text="no punctuation at all here")]))
    assert record.error is None and len(record.sentences) == len("nopunctuationatallhere")


def test_a_latin1_file_is_a_clear_error(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes('description = "caf\xe9"\n'.encode("latin-1"))
    message = refused(pipeline=str(path))
    assert str(path) in message and "not UTF-8" in message
    assert "offset 18" in message and "line 1" in message and "save it as UTF-8" in message


def test_a_folder_is_not_a_file(tmp_path):
    folder = tmp_path / "pipe.toml"
    folder.mkdir()
    message = refused(pipeline=str(folder))
    assert "is not a file" in message and "a folder" in message and "does not exist" not in message
    message = refused(pipeline=str(tmp_path))
    assert "is not a file" in message and "a folder" in message


def test_a_fifo_is_not_a_file_and_is_not_opened(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    outcome = []

    def load():
        try:
            load_pipeline(str(fifo))
        except ConfigError as exc:
            outcome.append(str(exc))

    worker = threading.Thread(target=load, daemon=True)  # daemon: a blocked open must not hang pytest
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "load_pipeline opened the FIFO and waits for a writer"
    assert outcome and "is not a file" in outcome[0] and "FIFO" in outcome[0]


def test_a_missing_file_still_does_not_exist(tmp_path):
    assert "does not exist" in refused(pipeline=str(tmp_path / "none.toml"))


def test_a_broken_link_names_its_target(tmp_path):
    link = tmp_path / "link.toml"
    link.symlink_to(tmp_path / "gone.toml")
    message = refused(pipeline=str(link))
    assert "is a link to" in message and "gone.toml" in message


def test_an_unreadable_file_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "secret.toml"
    path.write_text('stages = ["chunk"]\n', encoding="utf-8")

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    # chmod 0 would not stop a test run as root, so the refusal is simulated
    monkeypatch.setattr(type(path), "read_bytes", denied)
    message = refused(pipeline=str(path))
    assert str(path) in message and "cannot be read (Permission denied)" in message and "chmod" in message


def test_a_folder_named_like_a_builtin_does_not_hide_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lead3").mkdir()
    assert load_pipeline("lead3").name == "lead3"


def test_every_suggested_fix_is_an_override_that_loads():
    from summarizer.config import _as_override

    for section, cls in sections().items():
        defaults = cls()
        for spec in dataclasses.fields(cls):
            value = getattr(defaults, spec.name)
            config = load_pipeline("abstractive", [f"{section}.{spec.name}={_as_override(value)}"])
            assert getattr(getattr(config, section), spec.name) == value, spec.name

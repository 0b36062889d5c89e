import logging
from pathlib import Path

import pytest

from summarizer.config import builtin_pipelines, load_pipeline
from summarizer.errors import ConfigError
from summarizer.length import TOKENS_PER_WORD, length_settings
from summarizer.pipeline import Pipeline
from summarizer.segment import segment

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples" / "articles").glob("*.txt"))
MAX_LENGTH_20 = {"name": "max_length", "max_words": 20, "cut": True}


def test_every_builtin_pipeline_gets_the_settings_that_cap_its_length():
    expected = {
        # the extract is the summary
        "lead3": {"extract.max_sentences": 2},
        "extractive": {"extract.max_sentences": 2},
        # one rewrite per extracted sentence
        "compress": {"extract.max_sentences": 2},
        # the model writes it: asked for 2, stopped after 2
        "default": {"prompt.sentences": 2, "generate.max_sentences": 2},
        "abstractive": {"prompt.sentences": 2, "generate.max_sentences": 2},
        "long": {"prompt.sentences": 2, "generate.max_sentences": 2},
    }
    assert set(expected) == set(builtin_pipelines())
    for name, wanted in expected.items():
        config = load_pipeline(name)
        found = length_settings(config, sentences=2, max_words=20)
        steps = found.pop("filter.steps")
        assert steps == [*config.filter.steps, MAX_LENGTH_20], name
        # only what changes: some pipelines fall back to two sentences already
        assert found.pop("filter.fallback_sentences", config.filter.fallback_sentences) == 2, name
        assert found == wanted, name


def test_budgets_are_raised_to_hold_the_words_never_lowered():
    words = 100
    tokens = int(words * TOKENS_PER_WORD)
    assert length_settings(load_pipeline("extractive"), max_words=words)["extract.budget_tokens"] == tokens
    assert "extract.budget_tokens" not in length_settings(load_pipeline("extractive"), max_words=20)
    assert "extract.budget_tokens" not in length_settings(load_pipeline("lead3"), max_words=words)  # 0: no budget
    default = length_settings(load_pipeline("default"), max_words=words)
    # the model's input stays what the shipped adapter was trained on; its output may grow
    assert "extract.budget_tokens" not in default and default["generate.max_new_tokens"] == tokens
    # the model is given at least as many sentences as it is asked to write
    assert length_settings(load_pipeline("default"), sentences=6)["extract.max_sentences"] == 6
    assert "extract.max_sentences" not in length_settings(load_pipeline("long"), sentences=6)  # 0: no cap


def test_a_max_length_step_already_there_is_updated_not_repeated():
    config = load_pipeline("lead3", ["filter.steps=['dedupe', {name = 'max_length', max_words = 50}, 'redact_pii']"])
    assert length_settings(config, max_words=20)["filter.steps"] == ["dedupe", MAX_LENGTH_20, "redact_pii"]
    config = load_pipeline("lead3", ["filter.steps=['max_length']"])
    assert length_settings(config, max_words=20)["filter.steps"] == [MAX_LENGTH_20]
    assert length_settings(load_pipeline("lead3", ["extract.max_sentences=2"]), sentences=2) == {
        "filter.fallback_sentences": 2}  # only what changes


@pytest.mark.parametrize("name", sorted(builtin_pipelines()))
def test_every_builtin_pipeline_loads_with_both_options(name, caplog):
    with caplog.at_level(logging.WARNING):
        pipe = Pipeline.load(name, sentences=1, max_words=20)
    assert pipe.config.filter.steps[-1] == MAX_LENGTH_20
    assert not caplog.records  # nothing the shipped adapter was trained on changes


def test_the_options_win_over_overrides():
    pipe = Pipeline.load("lead3", overrides=["extract.max_sentences=3"], sentences=1)
    assert pipe.config.extract.max_sentences == 1


@pytest.mark.parametrize("bad", [0, -1, "2", 2.0, True])
def test_bad_lengths_are_refused_naming_the_value(bad):
    with pytest.raises(ConfigError, match=f"sentences={bad!r} is not a valid length"):
        Pipeline.load("lead3", sentences=bad)
    with pytest.raises(ConfigError, match=f"max_words={bad!r} is not a valid length"):
        Pipeline.load("lead3", max_words=bad)


@pytest.mark.parametrize("name", ["lead3", "extractive"])
def test_real_runs_on_the_examples(name):
    texts = [path.read_text(encoding="utf-8") for path in EXAMPLES]
    assert texts
    for summary in Pipeline.load(name, sentences=1)(texts):
        assert len(segment(summary)) == 1
    plain = Pipeline.load(name)(texts)
    for before, summary in zip(plain, Pipeline.load(name, max_words=20)(texts)):
        # a hard cap: whole sentences, or the first one's first 20 words and an ellipsis
        assert len(summary.split()) <= 20
        assert before.startswith(summary) or (summary.endswith("…") and before.startswith(summary[:-1]))


def test_sentences_change_the_prompt_of_the_default_pipeline(tiny_model):
    texts = [EXAMPLES[0].read_text(encoding="utf-8")]
    options = {"model": tiny_model, "overrides": ["generate.max_new_tokens=4"]}
    (record,) = Pipeline.load("default", sentences=2, **options).run_texts(texts)
    assert record.error is None and record.prompt.endswith("Summary in 2 sentences:")
    (record,) = Pipeline.load("default", **options).run_texts(texts)
    assert record.prompt.endswith("Summary in 3 sentences:")


def test_a_long_documents_extract_follows_the_length_options_too():
    config = load_pipeline("extractive", ["extract.long_tokens=100", "extract.long_max_sentences=5",
                                          "extract.long_budget_tokens=50"])
    found = length_settings(config, sentences=2, max_words=100)
    # the extract is the summary: the length asked for, long document or not
    assert found["extract.max_sentences"] == 2 and found["extract.long_max_sentences"] == 0
    assert found["extract.long_budget_tokens"] == int(100 * TOKENS_PER_WORD)
    # the model writes it: a long document's extract holds at least the sentences asked for
    default = load_pipeline("default")
    assert default.extract.long_tokens and default.extract.long_max_sentences < 6
    assert length_settings(default, sentences=6)["extract.long_max_sentences"] == 6
    assert "extract.long_max_sentences" not in length_settings(default, sentences=2)

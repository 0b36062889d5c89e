import pytest

import summarizer
from summarizer import summarize
from summarizer.errors import SummarizerError


def test_summarize_string_and_list_with_lead3():
    text = "First point here. Second point here. Third point. Fourth point."
    assert summarize(text, pipeline="lead3") == "First point here. Second point here. Third point."
    assert summarize([text, "Only one."], pipeline="lead3") == [
        "First point here. Second point here. Third point.", "Only one."]


def test_settings_override():
    text = "First point here. Second point here. Third point. Fourth point."
    assert summarize(text, pipeline="lead3", settings={"extract.max_sentences": 1}) == "First point here."


def test_empty_text_raises_naming_it():
    with pytest.raises(SummarizerError, match="text 1: ingest: empty document"):
        summarize(["Fine text.", "  "], pipeline="lead3")
    with pytest.raises(SummarizerError, match="a string or a list of strings"):
        summarize([1, 2], pipeline="lead3")


def test_model_is_loaded_once_and_reused(tiny_model, monkeypatch):
    from summarizer import models

    summarize("A first text. It has two sentences.", model=tiny_model, settings={"generate.max_new_tokens": 4})
    calls = []
    monkeypatch.setattr(models.AutoModelForCausalLM if hasattr(models, "AutoModelForCausalLM") else
                        __import__("transformers").AutoModelForCausalLM, "from_pretrained",
                        lambda *a, **k: calls.append(a))
    out = summarize(["Another text. Two sentences.", "Third text here."], model=tiny_model,
                    settings={"generate.max_new_tokens": 4})
    assert len(out) == 2 and all(out) and calls == []


def test_package_exports_are_lazy():
    assert summarizer.Pipeline.__name__ == "Pipeline"
    with pytest.raises(AttributeError):
        summarizer.nothing_here

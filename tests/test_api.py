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
    with pytest.raises(SummarizerError, match=r"^1 of 1 text\(s\) could not be summarized \(text 0: ingest: empty"):
        summarize("", pipeline="lead3")


def test_one_bad_text_in_a_list_fails_alone():
    texts = ["Fine text. More.", "", "Other text.", 7, None]
    with pytest.raises(SummarizerError) as raised:
        summarize(texts, pipeline="lead3")
    message = str(raised.value)
    assert message.startswith("3 of 5 text(s) could not be summarized (text 1: ingest: empty document, "
                              "text 3: ingest: not a string but int, text 4: ingest: not a string but NoneType)")
    assert "errors='return'" in message
    out = summarize(texts, pipeline="lead3", errors="return")
    assert out[0] == "Fine text. More." and out[2] == "Other text."
    assert [type(x) for x in out] == [str, SummarizerError, str, SummarizerError, SummarizerError]
    assert str(out[3]) == "text 3: ingest: not a string but int"
    assert isinstance(summarize("  ", pipeline="lead3", errors="return"), SummarizerError)
    assert summarize((t for t in ["A b c.", "D e f."]), pipeline="lead3") == ["A b c.", "D e f."]  # any iterable


def test_what_is_not_text_at_all_is_a_type_error():
    with pytest.raises(TypeError, match="not bytes; decode it first"):
        summarize(b"Some text.", pipeline="lead3")
    with pytest.raises(TypeError, match="not int"):
        summarize(5, pipeline="lead3")
    with pytest.raises(TypeError, match="not dict"):
        summarize({"text": "A."}, pipeline="lead3")
    with pytest.raises(ValueError, match="errors='raise'.*errors='return'"):
        summarize("A.", pipeline="lead3", errors="ignore")


def test_length_keywords():
    text = "First point here. Second point here. Third point. Fourth point."
    assert summarize(text, pipeline="lead3", sentences=1) == "First point here."
    assert summarize(text, pipeline="lead3", max_words=7) == "First point here. Second point here."
    # max_words caps whatever the strategy picks: two sentences asked for, but only one of them
    # fits in three words (which one is the scorer's choice).
    capped = summarize(text, pipeline="extractive", sentences=2, max_words=3)
    assert capped in {"First point here.", "Second point here.", "Third point.", "Fourth point."}
    assert summarize(text, pipeline="extractive", sentences=2) not in {capped, ""}
    with pytest.raises(TypeError, match="max_sentences"):
        summarize(text, pipeline="lead3", max_sentences=1)
    with pytest.raises(SummarizerError, match="sentences=0 is not a valid length"):
        summarize(text, pipeline="lead3", sentences=0)


def test_pipeline_call_and_repr(tiny_model):
    from summarizer import Pipeline

    pipe = Pipeline.load("lead3", sentences=2)
    assert repr(pipe) == "<Pipeline lead3: chunk -> extract -> filter>"
    assert pipe("One. Two. Three.") == "One. Two."
    assert pipe(["One. Two. Three.", "Four."]) == ["One. Two.", "Four."]
    assert isinstance(pipe(["", "Five."], errors="return")[0], SummarizerError)
    assert repr(Pipeline.load("default")) == ("<Pipeline default: chunk -> extract -> prompt -> generate -> filter; "
                                              "model 'default', adapter 'builtin'>")
    assert repr(Pipeline.load("default", adapter="")) == ("<Pipeline default: chunk -> extract -> prompt -> generate "
                                                          "-> filter; model 'default'>")
    assert repr(Pipeline.load("compress", model=tiny_model)) == (
        f"<Pipeline compress: chunk -> extract -> rewrite -> filter; model {tiny_model!r}>")


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

import pytest

from summarizer.config import load_pipeline
from summarizer.postfilter import cut_unfinished, dedupe, filter_stage, strip_echo
from summarizer.records import Record
from summarizer.segment import segment
from summarizer.stages import Context

ARTICLE = "The council approved a bridge on Monday. It will cost 4.5 million crowns. Work starts in May."


@pytest.fixture
def ctx():
    return Context(load_pipeline("default"))


def record_with(generation):
    spans = segment(ARTICLE)
    assert len(spans) == 3
    return Record(id="x", text=ARTICLE, sentences=spans, sentence_tokens=[8, 7, 5], extract=[0, 1, 2],
                  generation=generation)


def test_strip_echo_cuts_a_new_article_and_template_words(ctx):
    text, note = strip_echo(" TL;DR: The council approved a bridge.\n\nArticle: Something else entirely.", None, ctx)
    assert text == "The council approved a bridge."
    assert note
    assert strip_echo("Article: a whole new story.", None, ctx)[0] == ""
    assert strip_echo("Clean summary.", None, ctx) == ("Clean summary.", None)


def test_cut_unfinished(ctx):
    assert cut_unfinished("The bridge is approved. Work will start in", None, ctx)[0] == "The bridge is approved."
    assert cut_unfinished('He said "yes." It ends.', None, ctx) == ('He said "yes." It ends.', None)
    assert cut_unfinished("never finished", None, ctx)[0] == ""


def test_dedupe_removes_loops(ctx):
    text = "It is a microcosm. It is a microcosm. It is a microcosm! Something new."
    assert dedupe(text, None, ctx)[0] == "It is a microcosm. Something new."
    near = ("It is a major water source for the town, which lies in the county. "
            "The river is a major water source for the town, which lies in the county. A different point.")
    assert dedupe(near, None, ctx)[0] == (
        "It is a major water source for the town, which lies in the county. A different point.")
    distinct = "The council approved the bridge. The council rejected the tunnel plan."
    assert dedupe(distinct, None, ctx) == (distinct, None)


def run_filter(record, pipeline="default"):
    ctx = Context(load_pipeline(pipeline, ["filter.fallback_sentences=2"]))
    return next(filter_stage([record], ctx))


def test_filter_stage_keeps_a_good_generation_and_records_decisions():
    record = run_filter(record_with(" The council approved a bridge. It will cost 4.5 million crowns. The"))
    assert record.summary == "The council approved a bridge. It will cost 4.5 million crowns."
    assert not record.fallback
    decisions = record.trace[-1]["decisions"]
    assert [d["filter"] for d in decisions] == ["strip_echo", "cut_unfinished"]


@pytest.mark.parametrize("generation", ["", "   ", "\n\nArticle: next", "and then the", "TL;DR:"])
def test_nothing_left_falls_back_to_the_extract(generation):
    record = run_filter(record_with(generation))
    assert record.fallback is True
    assert record.summary == "The council approved a bridge on Monday. It will cost 4.5 million crowns."
    assert record.trace[-1]["decisions"][-1]["filter"] == "fallback"


def test_extractive_pipeline_uses_the_extract():
    record = record_with(None)
    record = run_filter(record, "lead3")
    assert record.summary == ARTICLE and not record.fallback

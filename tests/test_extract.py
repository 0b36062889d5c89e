import pytest

from summarizer.config import load_pipeline
from summarizer.extract import STRATEGIES, is_headline, select, tfidf_vectors
from summarizer.pipeline import Pipeline
from summarizer.records import Record

STRATEGY_NAMES = ["lead", "centrality", "position", "embedding"]


def extract(text, *overrides, strategy="centrality"):
    pipe = Pipeline(load_pipeline("extractive", [f"extract.strategy={strategy}", *overrides]))
    return next(pipe.run([Record(id="x", text=text)]))


def test_all_strategies_are_registered():
    assert set(STRATEGY_NAMES) <= set(STRATEGIES.names())


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize(
    "text",
    [
        "Only one sentence here.",
        "a line without any punctuation at all and no end",
        "北京今天下了大雪。交通受到严重影响。市民出行请注意安全。气象台发布了预警。",
        "Short. Also short. A third one here. And the fourth one.",
    ],
)
def test_every_strategy_on_small_and_unusual_documents(strategy, text):
    record = extract(text, strategy=strategy)
    assert record.error is None
    assert record.extract and record.summary
    assert record.summary in text or all(record.sentence_text(i) in text for i in record.extract)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_every_strategy_reports_an_empty_document(strategy):
    record = extract("   ", strategy=strategy)
    assert record.error and "no text" in record.error


def test_centrality_prefers_the_sentence_that_shares_most():
    text = ("Cats sleep all day. The storm hit the coast. "
            "The storm hit the coast and cats sleep all day near the harbour. Harbour boats were lost.")
    record = extract(text, "extract.max_sentences=1", "extract.budget_tokens=0")
    assert record.extract == [2]


def test_position_weight_one_is_lead_order():
    text = "Alpha one here. Beta two there. Gamma three again. Beta two there again."
    record = extract(text, "extract.position_weight=1.0", "extract.max_sentences=2", "extract.budget_tokens=0",
                     strategy="position")
    assert record.extract == [0, 1]


def test_chinese_centrality_uses_characters():
    text = "北京下雪。北京交通因下雪受影响。交通拥堵。上海天晴。"
    record = extract(text, "extract.max_sentences=1", "extract.budget_tokens=0")
    assert record.extract == [1]


def test_redundancy_control_skips_near_copies():
    scores = [1.0, 0.99, 0.9, 0.1]
    sentences = ["The bridge opens on Monday.", "The bridge opens on Monday, officials said.", "Rain is expected.",
                 "Filler."]
    vectors = tfidf_vectors(sentences)
    assert select(scores, [5] * 4, budget=0, max_sentences=2) == [0, 1]
    assert select(scores, [5] * 4, budget=0, max_sentences=2, redundancy=0.8, vectors=vectors) == [0, 2]


def test_headline_is_detected_and_can_be_skipped():
    text = "Council backs new bridge\n\nThe council approved the bridge. Work starts in May. It costs a lot."
    record = extract(text, "extract.max_sentences=1", "extract.budget_tokens=0", "extract.skip_headline=false",
                     strategy="lead")
    assert is_headline(record) and record.extract == [0]
    record = extract(text, "extract.max_sentences=1", "extract.budget_tokens=0", "extract.skip_headline=true",
                     strategy="lead")
    assert record.extract == [1]
    assert not is_headline(extract("The council approved it.\nWork starts in May.", strategy="lead"))


def test_min_sentence_tokens_drops_fragments_but_never_everything():
    record = extract("Yes. The council approved the new bridge today.", "extract.min_sentence_tokens=4",
                     strategy="lead", )
    assert record.extract == [1]
    record = extract("Yes. No.", "extract.min_sentence_tokens=4", strategy="lead")
    assert record.extract


def test_a_long_document_gets_the_long_extract_and_a_short_one_the_usual():
    sentences = [f"Report {i} on the harbour gives figure {i} for the new ferry line." for i in range(12)]
    long_text, short_text = " ".join(sentences), " ".join(sentences[:3])
    fixed = ["extract.max_sentences=2", "extract.budget_tokens=0", "extract.long_max_sentences=4"]
    assert len(extract(long_text, *fixed, "extract.long_tokens=60", strategy="lead").extract) == 4
    assert len(extract(short_text, *fixed, "extract.long_tokens=60", strategy="lead").extract) == 2
    assert len(extract(long_text, *fixed, strategy="lead").extract) == 2  # long_tokens 0: off
    budget = ["extract.max_sentences=0", "extract.budget_tokens=25", "extract.long_tokens=60"]
    usual = extract(long_text, *budget, strategy="lead")
    longer = extract(long_text, *budget, "extract.long_budget_tokens=60", strategy="lead")
    assert len(longer.extract) > len(usual.extract)
    assert sum(longer.sentence_tokens[i] for i in longer.extract) <= 60
    # long_budget_tokens 0 keeps budget_tokens; a long max_sentences of 0 keeps max_sentences
    assert usual.extract == extract(long_text, *budget, "extract.long_max_sentences=0", strategy="lead").extract

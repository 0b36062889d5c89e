import random

from summarizer.config import load_pipeline
from summarizer.pipeline import Pipeline
from summarizer.records import Record

NOUNS = "council harbour bridge market school river budget station library garden".split()
VERBS = "discussed approved delayed inspected funded reopened".split()


def long_document(n_sentences: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return " ".join(
        f"The {rng.choice(NOUNS)} board {rng.choice(VERBS)} plan {rng.randrange(1000)} for the {rng.choice(NOUNS)}."
        for _ in range(n_sentences)
    )


def test_long_pipeline_summarizes_every_group_of_a_long_document(tiny_model):
    text = long_document(400) + " Section ZULU ends here. The zulu committee met the zulu board at dusk."
    overrides = [f"generate.model={tiny_model!r}", "generate.max_new_tokens=6", "map_reduce.group_tokens=1200",
                 "extract.budget_tokens=60", "chunk.max_chunk_tokens=300"]
    record = next(Pipeline(load_pipeline("long", overrides)).run([Record(id="book", text=text)]))
    assert record.error is None and record.summary
    levels = record.meta["partial_summaries"]
    total_tokens = sum(record.sentence_tokens)
    assert len(levels[0]) >= total_tokens // 1200  # one partial summary per group
    # the last group, the end of the document, has its own partial summary; the tiny model's
    # noise is filtered out, so it is that group's own extract: text from the document's end
    last_sentence = levels[0][-1].split(". ")[0]
    assert text.rfind(last_sentence) > len(text) * 0.75
    trace = [t for t in record.trace if t["stage"] == "map_reduce"][0]
    assert trace["levels"] == len(levels) >= 1


def test_long_pipeline_on_a_short_document_is_a_plain_summary(tiny_model):
    overrides = [f"generate.model={tiny_model!r}", "generate.max_new_tokens=6"]
    record = next(Pipeline(load_pipeline("long", overrides)).run(
        [Record(id="s", text="A short note. It has two sentences.")]))
    assert record.error is None and record.summary
    assert record.meta["partial_summaries"] == []
    assert record.prompt.endswith("TL;DR:")


def test_a_fact_only_at_the_end_of_a_long_document_can_be_selected():
    fact = "The board approved the plan for the council, the harbour, the bridge, the market and the school."
    text = long_document(3000) + " " + fact
    record = next(Pipeline(load_pipeline("extractive", ["extract.strategy=centrality"])).run(
        [Record(id="long", text=text)]))
    assert len(record.sentences) > 3000
    assert len(record.sentences) - 1 in record.extract
    assert fact in record.summary

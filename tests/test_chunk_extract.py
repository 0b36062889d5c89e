import pytest

from summarizer.chunk import pack_chunks
from summarizer.config import load_pipeline
from summarizer.extract import select
from summarizer.pipeline import Pipeline
from summarizer.records import Record


def test_pack_chunks_keeps_sentences_whole():
    assert pack_chunks([3, 4, 5, 9], max_tokens=8) == [[0, 2, 7], [2, 3, 5], [3, 4, 9]]
    assert pack_chunks([], max_tokens=8) == []
    assert pack_chunks([20], max_tokens=8) == [[0, 1, 20]]


def test_select_fills_budget_in_document_order():
    assert select([0.5, 0.1, 0.9], [5, 5, 5], budget=10, max_sentences=0) == [0, 2]
    assert select([4, 3, 2, 1], [5, 20, 5, 5], budget=12, max_sentences=0) == [0, 2]
    assert select([3, 2, 1], [5, 5, 5], budget=0, max_sentences=2) == [0, 1]


def test_select_always_takes_the_best_sentence():
    assert select([0.0, 1.0], [5, 50], budget=10, max_sentences=0) == [1]


def test_select_ties_go_to_the_earlier_sentence():
    assert select([1.0, 1.0, 1.0], [1, 1, 1], budget=0, max_sentences=2) == [0, 1]


def run_stages(text, pipeline="lead3", overrides=()):
    pipe = Pipeline(load_pipeline(pipeline, list(overrides)))
    return next(pipe.run([Record(id="x", text=text)]))


def test_chunk_records_sentences_tokens_and_chunks():
    record = run_stages("One two three. Four five. Six.", overrides=["chunk.max_chunk_tokens=5"])
    assert [record.sentence_text(i) for i in range(3)] == ["One two three.", "Four five.", "Six."]
    assert record.sentence_tokens == [4, 3, 2]
    assert record.chunks == [[0, 1, 4], [1, 3, 5]]
    assert [t["stage"] for t in record.trace] == ["chunk", "extract", "filter"]


def test_lead3_takes_first_three_sentences():
    record = run_stages("A one. B two. C three. D four.")
    assert record.extract == [0, 1, 2]
    assert record.summary == "A one. B two. C three."


@pytest.mark.parametrize("text", ["Just one sentence here", "北京下雪。交通受影响。"])
def test_short_and_chinese_documents(text):
    record = run_stages(text)
    assert record.error is None and record.summary


def test_token_counts_come_from_the_model_tokenizer(tiny_model):
    from transformers import AutoTokenizer

    text = "The council approved the new bridge on Monday. Rain flooded the harbour."
    record = run_stages(text, "extractive", ["chunk.tokenizer=model", f"generate.model={tiny_model!r}"])
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    expected = [len(tokenizer(record.sentence_text(i), add_special_tokens=False)["input_ids"]) for i in range(2)]
    assert record.sentence_tokens == expected

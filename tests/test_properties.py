"""Property-based tests: ingest's decoding and normalization, segmentation and the post-filter
must hold their contracts on any input, not just on the examples we thought of."""

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from summarizer.config import load_pipeline
from summarizer.filetext import bytes_to_text
from summarizer.ingest import ingest, normalize
from summarizer.filter import filter_record, resolve_step
from summarizer.records import Record
from summarizer.segment import segment
from summarizer.stages import Context

# Text that looks like prose often enough to reach the segmenter's rules: words, sentence
# punctuation, abbreviations, quotes, CJK, line and paragraph breaks, odd whitespace.
PIECES = st.sampled_from([
    "The council", "voted", "Dr.", "U.S.", "4.5", "million", ".", "!", "?", "...", "\u2026", "\"", "'", ")",
    "\u201cQuote.\u201d", "\u4eca\u5929", "\u3002", "\uff01", "\u041c\u043e\u0441\u043a\u0432\u0430", "\u061f",
    "\n", "\n\n", " ", "  ", "\t", "\u00a0", "\u2028", "\u3000", "\r\n", "TL;DR:", "Summary:", "#", "-", "\u200b",
])
PROSE = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=40).map(" ".join)
ANY_TEXT = st.one_of(st.text(max_size=300), PROSE)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.binary(max_size=400))
@example(b"\xff\xfe\x00\xd8")  # UTF-16 BOM, then a lone surrogate
@example("caf\u00e9 cr\u00e8me".encode() + b"\xff")
def test_decode_never_crashes_and_gives_writable_text(data):
    try:
        text, encoding, note = bytes_to_text(data)
    except ValueError as exc:  # binary: refused with a message, the only allowed failure
        assert str(exc)
        return
    assert isinstance(text, str) and encoding
    normalize(text).encode("utf-8")  # what ingest stores must be writable as UTF-8


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.binary(max_size=300), ANY_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))),
       st.sampled_from([".txt", ".html", ".jsonl", ".json", ".csv", ".parquet"]))
@example(b'{"text": "a\\ud800b", "id": "\\udfff"}', ".jsonl")
@example(b"text\n\"unclosed", ".csv")
def test_ingest_turns_any_file_in_a_folder_into_writable_records(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / f"doc{suffix}").write_bytes(data)
        records = list(ingest([folder]))
    assert records
    for record in records:
        assert (record.error is None) == bool(record.text)
        record.to_json().encode("utf-8")


@SETTINGS
@given(ANY_TEXT)
@example("a\ud800b")  # a lone surrogate, as JSON "\ud800" gives
@example("x\r\n\r\n\r\n\ry\x00\x1b\u0085z\ufeff")
def test_normalize_is_clean_and_idempotent(text):
    once = normalize(text)
    once.encode("utf-8")
    assert once == once.strip()
    assert "\r" not in once and "\n\n\n" not in once
    assert normalize(once) == once
    assert json.loads(json.dumps(once, ensure_ascii=False)) == once


@SETTINGS
@given(ANY_TEXT, st.sampled_from([5, 40, 1500]), st.sampled_from(["auto", "en", "zh"]))
@example("aaa  bbb  ccc", 5, "en")
@example("x" * 50, 7, "en")
def test_segment_spans_are_ordered_disjoint_nonempty_and_stripped(text, max_chars, language):
    spans = segment(text, language, max_chars)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip() and piece
        previous_end = end
    # Nothing but whitespace is lost between the spans.
    covered = "".join(text[s:e] for s, e in spans)
    assert "".join(covered.split()) == "".join(text.split())


@pytest.fixture(scope="module")
def ctx():
    return Context(load_pipeline("default"))


def _record(source: str, generation: str | None) -> Record:
    text = normalize(source) or "Fallback sentence."
    spans = segment(text)
    return Record(id="p", text=text, sentences=spans, sentence_tokens=[1] * len(spans),
                  extract=list(range(min(3, len(spans)))), generation=generation)


@settings(max_examples=150, deadline=None)
@given(source=ANY_TEXT, generation=st.one_of(st.none(), ANY_TEXT))
@example(source="One. Two.", generation="TL;DR:")
@example(source="One. Two.", generation="\u2028\u3000")
@example(source="\u3001 \u3001", generation=None)  # a CJK sentence with a space inside: the fallback keeps it
def test_filters_never_crash_and_never_leave_an_empty_summary(ctx, source, generation):
    record = _record(source, generation)
    for step in ctx.config.filter.steps:
        _, function, options = resolve_step(step)
        text, note = function(generation or "", record, ctx, options)
        assert isinstance(text, str) and (note is None or isinstance(note, str))
    filter_record(record, ctx)
    assert record.summary and record.summary == record.summary.strip()
    if record.fallback:
        assert record.summary.startswith(record.sentence_text(record.extract[0]))

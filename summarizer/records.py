"""One record per document: the unit every stage reads and writes.

A record starts as a :class:`Record` made by ingest (``id``, ``text``, ``reference``,
``meta``) and each later stage fills its own fields and appends one ``trace`` entry.
On disk a record is one JSON object per line (JSONL); sentences are stored as character
spans into ``text`` so nothing is duplicated and every field can be checked against the
source.

    >>> r = Record(id="a", text="One. Two.")
    >>> r.sentences = [[0, 4], [5, 9]]
    >>> r.sentence_text(1)
    'Two.'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import IO, Any, Iterable, Iterator

from .errors import InputError


@dataclass
class Record:
    id: str
    text: str
    reference: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # Why this document failed (None when it did not). A failed record still flows through
    # every stage untouched, so the output has exactly one record per input document.
    error: str | None = None
    # What was doubtful but not fatal ("ingest: not UTF-8; the encoding was guessed as cp1252 ...").
    warnings: list[str] = field(default_factory=list)
    # chunk: [start, end) character spans of sentences, their token counts, and chunks as
    # [first_sentence, end_sentence, n_tokens].
    sentences: list[list[int]] | None = None
    sentence_tokens: list[int] | None = None
    chunks: list[list[int]] | None = None
    # extract: indices of the selected sentences, in document order.
    extract: list[int] | None = None
    # prompt / generate / filter.
    prompt: str | None = None
    generation: str | None = None
    summary: str | None = None
    fallback: bool = False
    trace: list[dict[str, Any]] = field(default_factory=list)
    # summarizer run: what this record was computed from, so a rerun can tell whether it can
    # be reused ({"content_hash", "fingerprint", "run_id"}; see summarizer/store.py).
    run: dict[str, Any] | None = None

    def sentence_text(self, i: int) -> str:
        start, end = self.sentences[i]
        return self.text[start:end]

    def extract_sentences(self) -> list[str]:
        return [self.sentence_text(i) for i in (self.extract or [])]

    def extract_text(self) -> str:
        return " ".join(self.extract_sentences())

    def add_trace(self, stage: str, seconds: float, **details: Any) -> None:
        self.trace.append({"stage": stage, "seconds": round(seconds, 4), **details})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        # Not asdict(): it deep-copies every span list first, which took half the time of a
        # lead3 run on a 50 MB document.
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)}, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Record":
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or "id" not in data or "text" not in data:
            raise InputError(
                "a record needs at least 'id' and 'text'; got "
                f"{sorted(data) if isinstance(data, dict) else type(data).__name__}. "
                "Produce records with 'summarizer ingest' first."
            )
        values = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        record = cls(**values)
        record.id = str(record.id)
        if extra:
            # Fields this version does not know are kept, not dropped.
            record.meta = {**record.meta, **{f"extra.{k}": v for k, v in extra.items()}}
        return record


def json_lines(stream: IO[str], where: str) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for each non-blank JSONL line; a malformed line is an
    :class:`InputError` naming ``where`` and the line."""
    for lineno, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}, line {lineno}: not valid JSON ({exc}).") from exc


def read_records(stream: IO[str]) -> Iterator[Record]:
    """Read JSONL records lazily; a malformed line is an error naming its line number."""
    for _, data in json_lines(stream, "the record stream"):
        yield Record.from_dict(data)


def write_records(records: Iterable[Record], stream: IO[str]) -> Iterator[Record]:
    """Write each record as one JSON line as it arrives, and pass it on."""
    for record in records:
        stream.write(record.to_json() + "\n")
        stream.flush()
        yield record

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

# One record line read back from a stage's input. A record holds its document's text (at most
# ingest's 256 MB file limit) plus spans, prompt and summary, so a real line stays well under
# this; a longer one is a runaway or binary stream (`cat /dev/zero | summarizer chunk`), which
# would otherwise be read until memory runs out.
MAX_RECORD_LINE_CHARS = 2**30


def loads_json(text: str | bytes) -> Any:
    """``json.loads``, except that nesting too deep to parse is a ``ValueError`` too.

    ``json.loads('[' * 100000)`` raises RecursionError, which is no ValueError, so a caller
    that reports a malformed document by catching ValueError would end the whole run on it
    instead. Use this for every JSON value that comes from a user's file or stream, and catch
    ValueError (``json.JSONDecodeError`` is one).
    """
    try:
        return json.loads(text)
    except RecursionError:
        # Raised from inside the C parser with the stack already unwound: safe to go on.
        raise ValueError(
            "nested too deeply to read (arrays or objects inside one another, beyond the "
            "parser's limit of about a thousand levels)"
        ) from None


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
    # chunk: the document's language by its script (zh, ja, ko, en, und; summarizer/language.py),
    # or chunk.language when set; what every language-dependent step reads.
    language: str | None = None
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
        from .language import join_sentences  # no space between CJK sentences

        return join_sentences(self.extract_sentences())

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
        """A record from its JSON object; a missing or mistyped field is an :class:`InputError`
        naming it (a later stage would otherwise fail on it with a traceback)."""
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or "id" not in data or "text" not in data:
            raise InputError(
                "a record needs at least 'id' and 'text'; got "
                f"{sorted(data) if isinstance(data, dict) else type(data).__name__}. "
                "Produce records with 'summarizer ingest' first."
            )
        _check_fields(data)
        values = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        record = cls(**values)
        record.id = str(record.id)
        if extra:
            # Fields this version does not know are kept, not dropped.
            record.meta = {**record.meta, **{f"extra.{k}": v for k, v in extra.items()}}
        return record


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# What each field may hold, as (test, what to say it must be). The stages index into these
# (record.meta[...], " ".join(record.warnings), entry["stage"] for entry in record.trace), so
# a wrong type is refused here, where the message can still name the field and the record.
def _optional(kind: type):
    return lambda value: value is None or isinstance(value, kind)


def _list_of(kind: type):
    return lambda value: isinstance(value, list) and all(isinstance(item, kind) for item in value)


_FIELD_TYPES: dict[str, tuple[Any, str]] = {
    # A number is taken as its text, as before (a table's numeric id column).
    "id": (lambda value: isinstance(value, (str, int, float)) and not isinstance(value, bool), "a string"),
    "text": (lambda value: isinstance(value, str), "a string"),
    "reference": (_optional(str), "a string or null"),
    "meta": (lambda value: isinstance(value, dict), "an object"),
    "error": (_optional(str), "a string or null"),
    "warnings": (_list_of(str), "a list of strings"),
    "language": (_optional(str), "a string or null"),
    "sentences": (_optional(list), "a list or null"),
    "sentence_tokens": (_optional(list), "a list or null"),
    "chunks": (_optional(list), "a list or null"),
    "extract": (_optional(list), "a list or null"),
    "prompt": (_optional(str), "a string or null"),
    "generation": (_optional(str), "a string or null"),
    "summary": (_optional(str), "a string or null"),
    "fallback": (lambda value: isinstance(value, bool), "true or false"),
    "trace": (_list_of(dict), "a list of objects"),
    "run": (_optional(dict), "an object or null"),
}


def _check_fields(data: dict[str, Any]) -> None:
    for name, value in data.items():
        check = _FIELD_TYPES.get(name)
        if check is None or check[0](value):
            continue
        if isinstance(value, list) and check[0]([]):  # a list, but of the wrong things
            wrong = next(item for item in value if not check[0]([item]))
            received = f"a list holding {_type_name(wrong)}"
        else:
            received = _type_name(value)
        doc_id = data.get("id")
        which = f"record {str(doc_id)!r}" if name != "id" else "a record"
        raise InputError(
            f"{which}: field {name!r} is {received}, but it must be {check[1]}. Fix the field, or "
            "produce the records with 'summarizer ingest' (and the stages after it) rather than by hand."
        )


def json_lines(stream: IO[str] | Iterable[str], where: str) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for each non-blank JSONL line; a malformed line (bad or too
    deeply nested JSON, or one over :data:`MAX_RECORD_LINE_CHARS`) is an :class:`InputError`
    naming ``where`` and the line. ``stream`` is a text file, or any iterable of lines."""
    for lineno, line in enumerate(_bounded_lines(stream), 1):
        if len(line) > MAX_RECORD_LINE_CHARS and not line.endswith("\n"):
            raise InputError(
                f"{where}, line {lineno}: over {MAX_RECORD_LINE_CHARS} characters without a line end, "
                "so not a record (binary data, or a stream that never ends?). Give it JSONL records, "
                "one per line, as 'summarizer ingest' writes them."
            )
        if not line.strip():
            continue
        try:
            value = loads_json(line)
        except ValueError as exc:
            raise InputError(f"{where}, line {lineno}: not valid JSON ({exc}).") from exc
        yield lineno, value


def _bounded_lines(stream: IO[str] | Iterable[str]) -> Iterator[str]:
    """The lines of ``stream``, none longer than MAX_RECORD_LINE_CHARS + 1: iterating a file
    would hold a line without an end whole, however long it grows."""
    readline = getattr(stream, "readline", None)
    if readline is None:  # lines the caller has split already
        yield from stream
        return
    while True:
        line = readline(MAX_RECORD_LINE_CHARS + 1)
        if not line:
            return
        yield line


def read_records(stream: IO[str]) -> Iterator[Record]:
    """Read JSONL records lazily; a malformed line is an error naming its line number."""
    for _, data in json_lines(stream, "the record stream"):
        yield Record.from_dict(data)

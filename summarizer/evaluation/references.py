"""The reference summaries ``summarizer eval`` scores against, from wherever users keep them.

    >>> refs = read_references("shared/data/bbc/summaries", systems)  # doctest: +SKIP
    >>> refs.kind, len(refs.references)                                # doctest: +SKIP
    ('folder', 1314)

- No path: the systems' own ``reference`` fields (``summarizer run`` copies them from its input).
- A JSONL file: one object per line with ``id``; the reference is its ``summary``,
  ``reference`` or ``highlights``, the source text its ``text``, ``article`` or ``document``.
- A CSV or Parquet table (read by :mod:`summarizer.tables`, as ``summarizer run`` reads it):
  the same columns, found in any case; rows without an ``id`` column are ``<file stem>:<row>``.
- A folder (listed by :mod:`summarizer.sources`, as ``summarizer run`` lists it): each text
  file (.txt, .md, .html) is the reference of the document whose id is its path relative to
  the folder without the suffix (``summaries/business_001.txt`` -> ``business_001``), tables
  in it give their rows, and a folder laid out as ``articles/`` + ``summaries/`` gives the
  summaries, with the articles as the source texts, when ``summarizer.sources`` recognises it.

Reading through the same planner, readers and id renaming as ``summarizer run`` is what makes
the ids equal: a folder summarized with ``summarizer run DIR`` and its references folder read
here name every document alike. A file or row that gives no reference (unreadable, empty) is
listed in ``unread``, never dropped silently.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from ..filetext import text_and_encoding
from ..ingest import IdRenamer, read_source
from ..records import Record
from ..sources import DOCUMENT_SUFFIXES, TABLE_SUFFIXES, Source, plan
from .data import REFERENCE_FIELDS, SOURCE_FIELDS, Reference, SystemOutput, first_by_id, first_text, read_jsonl

# Read as tables when named directly; any other file is read as JSONL, as it always was.
TABLE_FILES = (".csv", ".parquet")
# The first bytes of a CSV file, enough for its header row.
_HEADER_BYTES = 1 << 16


@dataclass
class ReferenceSet:
    references: dict[str, Reference]  # by id, in reading order
    kind: str  # "records", "jsonl", "table" or "folder"
    duplicates: list[str] = field(default_factory=list)  # JSONL ids after their first line
    unread: dict[str, str] = field(default_factory=dict)  # id -> why it gave no reference


def read_references(path: str | Path | None, systems: list[SystemOutput]) -> ReferenceSet:
    """The references in ``path`` (JSONL, CSV, Parquet or a folder), or without ``path`` the
    systems' own ``reference`` fields. Where the references carry no source text, the systems'
    records supply it (their ``text``)."""
    if path is None:
        return _from_records(systems)
    path = Path(path)
    if not path.exists():
        raise InputError(f"references {str(path)!r} do not exist; give a .jsonl, .csv or .parquet file, or a "
                         "folder of text files with one reference summary each (--references).")
    if path.is_dir() or path.suffix.lower() in TABLE_FILES:
        refs = _from_planned(path)
    elif path.suffix.lower() in DOCUMENT_SUFFIXES:
        raise InputError(f"references {str(path)!r} is one text file; give the folder that holds it and the "
                         "other references (one file per document, named like its article), or a .jsonl, "
                         ".csv or .parquet table with an 'id' column.")
    else:
        refs = _from_jsonl(path)
    _fill_sources(refs.references, systems)
    return refs


def _from_records(systems: list[SystemOutput]) -> ReferenceSet:
    references: dict[str, Reference] = {}
    for system in systems:
        for key, row in system.records.items():
            reference = first_text(row, ("reference",))
            if key not in references and reference is not None:
                references[key] = Reference(key, reference, first_text(row, ("text",)))
    if not references:
        raise InputError(
            "no reference summaries: the records have no 'reference' field. Give the references "
            "with --references: a JSONL, CSV or Parquet file with 'id' and 'summary', 'reference' or "
            "'highlights', or a folder of text files named like the documents."
        )
    return ReferenceSet(references, "records")


def _from_jsonl(path: Path) -> ReferenceSet:
    rows = read_jsonl(path)
    by_id, duplicates = first_by_id(rows)
    references = {}
    for key, row in by_id.items():
        reference = first_text(row, REFERENCE_FIELDS)
        if reference is not None:
            references[key] = Reference(key, reference, first_text(row, SOURCE_FIELDS))
    if rows and not references:
        raise InputError(f"references file {path} has no reference text in any line; "
                         f"looked for {', '.join(REFERENCE_FIELDS)} (fields: {sorted(rows[0])}).")
    return ReferenceSet(references, "jsonl", duplicates=duplicates)


def _from_planned(path: Path) -> ReferenceSet:
    """The references of a folder or a CSV/Parquet table, read as ``summarizer run`` reads it."""
    refs = ReferenceSet({}, "folder" if path.is_dir() else "table")
    for key, reference, source, why in _planned(path):
        if reference is not None and reference.strip():
            refs.references[key] = Reference(key, reference, source)
        else:
            refs.unread[key] = why or "the reference is empty"
    if refs.references:
        return refs
    first = ""
    if refs.unread:
        key, why = next(iter(refs.unread.items()))
        first = f" ({len(refs.unread)} file(s) or row(s) gave none; the first, {key!r}: {why})"
    if refs.kind == "table":
        raise InputError(f"references table {str(path)!r} has no reference text in any row{first}; it needs a "
                         f"column {', '.join(REFERENCE_FIELDS)} with text.")
    raise InputError(f"references folder {str(path)!r} gave no reference text{first}. Give the folder of reference "
                     "summaries: one text file per document, named like its article (summaries/business_001.txt "
                     "for business_001.txt).")


def _planned(path: Path) -> Iterator[tuple[str, str | None, str | None, str | None]]:
    """``(id, reference, source, why not)`` for every file or row under ``path``, ids as
    ``summarizer run`` gives them (renamed with ``~2`` where one repeats)."""
    try:
        sources = plan([path])
    except InputError as exc:
        # The planner's advice is about articles to summarize; say what references need.
        reason = str(exc).split(". Give ", 1)[0].rstrip(".")
        raise InputError(f"references: {reason}. Give a folder of reference summaries (one text file per "
                         "document, named like its article), or a .jsonl, .csv or .parquet table.") from exc
    rename = IdRenamer()
    for source in sources:
        if source.dataset or source.path.suffix.lower() in TABLE_SUFFIXES:
            rows = _table_rows(source)
        else:
            rows = ((record, "document") for record in read_source(source))
        for record, kind in rows:
            rename(record)
            yield _reference_of(record, kind)


def _table_rows(source: Source) -> Iterator[tuple[Record, str]]:
    """The records of a table and what their text is: ``"table"`` (a source text),
    ``"reference-only"`` (the reference again: the readers need a text column) or ``"rows"``
    (JSON, JSONL, a datasets folder: each row names its own fields)."""
    columns = _columns(source.path)
    if columns is None:
        yield from ((record, "rows") for record in read_source(source))
        return
    reference = _pick(columns, REFERENCE_FIELDS)
    if reference is None:
        message = (f"table {str(source.path)!r} has no reference column (any of {', '.join(REFERENCE_FIELDS)}); "
                   f"its columns are {columns}. Rename the reference column to 'summary'.")
        if not source.in_folder:
            raise InputError(message)
        yield Record(id=source.doc_id, text="", error=message), "table"
        return
    text = _pick(columns, SOURCE_FIELDS)
    kind = "table" if text else "reference-only"
    for record in read_source(source, text or reference, reference):
        yield record, kind


def _reference_of(record: Record, kind: str) -> tuple[str, str | None, str | None, str | None]:
    """``(id, reference, source, why not)`` of one record read as ``kind`` (see _table_rows)."""
    why = record.error.removeprefix("ingest: ") if record.error else None
    if kind == "document" and record.reference is None:
        return record.id, None if why else record.text, None, why  # a text file: its text is the reference
    if record.reference is None:
        return record.id, None, None, why or f"no reference in it (any of {', '.join(REFERENCE_FIELDS)})"
    # A document of an articles/ + summaries/ folder, or a table row: the text is the source.
    source = None if why or kind == "reference-only" else (record.text or None)
    return record.id, record.reference, source, None


def _columns(path: Path) -> list[str] | None:
    """The columns of a CSV or Parquet table, or None for other tables or when they cannot be
    read (the table reader then says why)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return [name for name in pq.read_schema(path).names if not name.startswith("__index_level_")]
        if suffix == ".csv":
            with path.open("rb") as handle:
                head = handle.read(_HEADER_BYTES)
            return next(csv.reader(io.StringIO(text_and_encoding(head)[0])), [])
    except (OSError, ValueError, csv.Error):  # pyarrow's errors are both; its reader says what is wrong
        return None
    return None


def _pick(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lowered = {column.lower(): column for column in columns if isinstance(column, str)}
    return next((lowered[name] for name in candidates if name in lowered), None)


def _fill_sources(references: dict[str, Reference], systems: list[SystemOutput]) -> None:
    # References without source text still let the systems' records supply it.
    for ref in references.values():
        if ref.source is None:
            texts = (first_text(s.records.get(ref.id, {}), ("text",)) for s in systems)
            ref.source = next((text for text in texts if text is not None), None)

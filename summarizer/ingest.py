"""Ingest: paths, folders and tables in, one :class:`Record` per document out.

    >>> records = list(ingest(["examples/articles"]))  # doctest: +SKIP

- A folder is read recursively (files sorted by path; symbolic links followed, loops
  skipped; with ``follow_links=False`` a link that leads out of the input folder is a failed
  record instead): ``.txt``, ``.md``, ``.html``/``.htm`` are one document each; ``.json`` (an
  object or a list of objects), ``.jsonl``, ``.csv`` and ``.parquet`` are tables with one
  document per row. A folder saved by ``datasets.Dataset.save_to_disk`` is a table too.
  ``.pdf`` and word-processor files in a folder become failed records that say how to
  convert them; other files are skipped, and the skipped types are logged. A folder that
  holds only ``articles/`` and ``summaries/`` is read as its articles, each with the summary
  of the same relative path as its ``reference`` (ids relative to ``articles/``).
- In a table the text column is the first of ``text, article, document, content, body``
  that exists, and a reference summary is taken from ``summary, reference, highlights``;
  ``text_field`` / ``reference_field`` override. An ``id`` column gives the record's id,
  else it is ``<file id>:<row>`` (rows counted from 1).
- A document's id is its path relative to the input folder, without the suffix (or the
  file name's stem for a file given directly); files of one folder that differ only in
  their suffix (``a.md``, ``a.txt``) keep it (``a.md``, ``a.txt``). An id already handed out
  is renamed with the first of ``~2``, ``~3``, ... that is still free, so ``a``, ``a``, ``a~2``
  become ``a``, ``a~2``, ``a~2~2``. Ids are therefore unique and the same on every run.
- Per-document problems (binary or unreadable files, broken links, empty text, a
  malformed or too deeply nested JSON line, a missing text field, a document over the size
  limits below) become that record's ``error``; doubtful
  ones (a guessed encoding, replaced bytes) are noted in its ``warnings``. Only a path
  that cannot be used at all (it does not exist, a folder with nothing to read, a table
  given by name without any text column) raises :class:`InputError`, and the paths are
  all checked before the first record is made.
- Memory is bounded per document, whatever the input claims: a file or stream read whole
  stops at :data:`MAX_FILE_BYTES`, a JSONL line at :data:`MAX_LINE_BYTES`, and a Parquet
  table is read row group by row group, each first checked against :data:`MAX_ROW_GROUP_BYTES`.

This module runs the stage over the sources: :mod:`summarizer.sources` finds them,
:mod:`summarizer.tables` reads the tables, :mod:`summarizer.filetext` turns bytes into text.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable, Iterator

from .filetext import bytes_to_text, clean, document_record, normalize, read_bytes
from .htmltext import html_to_text
from .records import Record
from .sources import CONVERT_SUFFIXES, TABLE_SUFFIXES, Source, plan, unreadable
from .tables import Limits, read_dataset_folder, read_table

__all__ = ["ingest", "plan", "read_planned", "read_source", "normalize", "IdRenamer", "MAX_FILE_BYTES",
           "MAX_LINE_BYTES", "MAX_ROW_GROUP_BYTES"]

log = logging.getLogger("summarizer")

# The limits live here and are handed to the readers at each read, so that setting
# ``summarizer.ingest.MAX_FILE_BYTES`` changes what they enforce.
# A single document is held in memory several times over while it is processed (about 7x
# its size at peak: 330 MB for 50 MB); above this it is refused with a message instead.
MAX_FILE_BYTES = 256 * 2**20
# A JSONL line is one document, so it gets the same limit as a file: a line is read with a
# bounded readline, and a longer one is skipped in chunks, so it is never held whole.
MAX_LINE_BYTES = MAX_FILE_BYTES
# A Parquet row group is read only when the columns used (id, text, reference) take at most
# this uncompressed (the file's metadata says so before anything is read), so that no cell,
# and no dictionary page of repeated values, can be larger than a file may be.
MAX_ROW_GROUP_BYTES = MAX_FILE_BYTES


def ingest(
    inputs: Iterable[str | Path],
    text_field: str | None = None,
    reference_field: str | None = None,
    limit: int | None = None,
    exclude: Iterable[str | Path] = (),
    follow_links: bool = True,
) -> Iterator[Record]:
    """Return an iterator of one record per document found in ``inputs``, in a stable order.

    Every path is checked and every folder listed now, so a missing path or an empty folder
    raises :class:`InputError` before any document is read. Files and folders in
    ``exclude`` (``summarizer run``'s own output) are never read. With ``follow_links=False``
    (``--no-follow-links``) a symbolic link inside a folder that leads out of that folder is
    a failed record, not read; links named in ``inputs`` are always followed.
    """
    return read_planned(plan(inputs, exclude, follow_links), text_field, reference_field, limit)


def read_planned(sources: list[Source], text_field: str | None = None, reference_field: str | None = None,
                 limit: int | None = None) -> Iterator[Record]:
    """The records of planned sources in order, at most ``limit``, ids renamed to be unique."""
    rename = IdRenamer()
    count = 0
    for source in sources:
        for record in _ingest_source(source, text_field, reference_field):
            if limit is not None and count >= limit:
                return
            rename(record)
            count += 1
            yield record


def read_source(source: Source, text_field: str | None = None, reference_field: str | None = None) -> Iterator[Record]:
    """The records of one planned source (ids as the source gives them, not yet renamed)."""
    return _ingest_source(source, text_field, reference_field)


class IdRenamer:
    """Gives an id that was handed out before the first free one of ``id~2``, ``id~3``, ...,
    in reading order, so that every record of a run has its own id (the Ray engine renames
    on its driver the same way): ``a``, ``a``, ``a~2`` become ``a``, ``a~2``, ``a~2~2``."""

    def __init__(self):
        # Every id handed out, renamed or not: a row's own id can be one made up for an
        # earlier row (``a~2``), and must then be renamed in turn.
        self.taken: set[str] = set()
        # Where the search for a free ``id~n`` resumes, so n copies of one id cost O(n), not O(n²).
        self.next_suffix: dict[str, int] = {}

    def __call__(self, record: Record) -> None:
        if record.id not in self.taken:
            self.taken.add(record.id)
            return
        n = self.next_suffix.get(record.id, 2)
        while f"{record.id}~{n}" in self.taken:
            n += 1
        self.next_suffix[record.id] = n + 1
        new_id = f"{record.id}~{n}"
        log.warning("id %r occurs more than once; this one is renamed %r", record.id, new_id)
        self.taken.add(new_id)
        record.id = new_id


def _ingest_source(source: Source, text_field: str | None, reference_field: str | None) -> Iterator[Record]:
    path = source.path
    meta: dict[str, Any] = {"source": clean(str(path))}
    if source.dataset:
        yield from read_dataset_folder(path, text_field, reference_field)
        return
    problem = source.problem or unreadable(path, source.in_folder)
    suffix = path.suffix.lower()
    if problem is None and suffix in CONVERT_SUFFIXES:
        problem = CONVERT_SUFFIXES[suffix]
    if problem:
        yield Record(id=source.doc_id, text="", meta=meta, error=f"ingest: {problem}")
        return
    if suffix in TABLE_SUFFIXES:
        limits = Limits(MAX_FILE_BYTES, MAX_LINE_BYTES, MAX_ROW_GROUP_BYTES)
        yield from read_table(path, source.doc_id, text_field, reference_field, source.in_folder, limits)
        return
    warnings = []
    try:
        text, encoding, note = bytes_to_text(read_bytes(path, MAX_FILE_BYTES))
        if encoding != "utf-8":
            meta["encoding"] = encoding
        if note:
            warnings.append(f"ingest: {note}")
        if suffix in (".html", ".htm"):
            text = html_to_text(text)
    except ValueError as exc:
        yield Record(id=source.doc_id, text="", meta=meta, error=f"ingest: {exc}")
        return
    reference = None
    if source.reference is not None:
        reference, note = _read_reference(source.reference)
        if note:
            warnings.append(f"ingest: reference {clean(str(source.reference))}: {note}")
    record = document_record(source.doc_id, text, reference, meta)
    record.warnings = warnings + record.warnings
    yield record


def _read_reference(path: Path) -> tuple[str | None, str | None]:
    """The reference summary in ``path`` (normalized; None when empty) and what was doubtful
    about it; a reference that cannot be read is a warning, not a failed document."""
    problem = unreadable(path, in_folder=True)
    if problem:
        return None, problem
    try:
        text, _, note = bytes_to_text(read_bytes(path, MAX_FILE_BYTES))
    except ValueError as exc:
        return None, f"{exc}; the document has no reference"
    return normalize(text) or None, note

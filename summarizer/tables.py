"""Tables: the rows of JSONL, JSON, CSV and Parquet files and of saved ``datasets`` folders as records.

    >>> list(read_table(Path("news.jsonl"), "news", None, None, False, Limits(2**28, 2**28, 2**28)))  # doctest: +SKIP

The text column is the first of :data:`TEXT_FIELDS` that exists, the reference the first
of :data:`REFERENCE_FIELDS`; a row's ``id`` is its record's id, else ``<base>:<row>``. A
bad row is that row's failed record, and memory stays bounded by :class:`Limits`.
"""

from __future__ import annotations

import io
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import InputError
from .filetext import (CHUNK_BYTES, binary_kind, byte_limit, clean, document_record, os_reason, read_bytes,
                       signature_kind, text_and_encoding)
from .records import Record, loads_json

TEXT_FIELDS = ("text", "article", "document", "content", "body")
REFERENCE_FIELDS = ("summary", "reference", "highlights")
# Parquet rows are read this many at a time at most (fewer where values are long), so that
# `--limit 1` reads one small batch.
_PARQUET_BATCH_ROWS = 64
# The column pandas adds for a DataFrame's index; pandas itself hides it again when reading.
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")


@dataclass(frozen=True)
class Limits:
    """The most one document may take, in bytes (the values are :mod:`summarizer.ingest`'s)."""

    file_bytes: int  # a JSON or CSV table, read whole
    line_bytes: int  # a JSONL line
    row_group_bytes: int  # the columns read of a Parquet row group, uncompressed


def read_table(path: Path, base: str, text_field: str | None, reference_field: str | None,
               in_folder: bool, limits: Limits) -> Iterator[Record]:
    """One record per row of the table file ``path``, ids ``<base>:<row>`` where a row has none;
    a table named by the user (not ``in_folder``) without a text column raises InputError."""
    meta = {"source": clean(str(path))}
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl(path, base, meta, text_field, reference_field, limits.line_bytes)
        return
    if suffix == ".parquet":
        yield from _parquet(path, base, meta, text_field, reference_field, in_folder, limits.row_group_bytes)
        return
    try:
        rows = _read_rows(path, suffix, limits.file_bytes)
    except (OSError, ValueError) as exc:
        yield Record(id=base, text="", meta=meta, error=f"ingest: cannot read table {path.name}: {exc}")
        return
    if not rows:
        yield Record(id=base, text="", meta=meta, error=f"ingest: table {path.name} has no rows")
        return
    if suffix == ".csv" and _pick_field(rows[0], text_field, TEXT_FIELDS) is None:
        yield _no_text_column(path, base, meta, list(rows[0]), text_field, in_folder)
        return
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            yield Record(id=f"{base}:{n}", text="", meta={**meta, "row": n},
                         error=f"ingest: row {n} is {_type_name(row)}, not an object")
            continue
        yield _row_record(row, base, n, meta, text_field, reference_field)


def _no_text_column(path: Path, base: str, meta: dict, columns: list, text_field: str | None,
                    in_folder: bool) -> Record:
    wanted = repr(text_field) if text_field else f"any of {', '.join(TEXT_FIELDS)}"
    message = (f"table {clean(str(path))!r} has no text column ({wanted}); its columns are {columns}. "
               "Name the text column with --text-field.")
    if not in_folder:  # the user named this table: the setting is wrong, say so at once
        raise InputError(message)
    return Record(id=base, text="", meta=meta, error=f"ingest: {message}")


def _read_rows(path: Path, suffix: str, max_bytes: int) -> list:
    if suffix == ".json":
        text, _ = text_and_encoding(read_bytes(path, max_bytes))
        data = loads_json(text)
        return data if isinstance(data, list) else [data]
    import pandas as pd

    # Decoded here so that a cp1252 or UTF-16 table reads like a text file does.
    text, _ = text_and_encoding(read_bytes(path, max_bytes))
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return frame.to_dict(orient="records")


def _parquet(path: Path, base: str, meta: dict, text_field: str | None, reference_field: str | None,
             in_folder: bool, max_group_bytes: int) -> Iterator[Record]:
    """The rows of a Parquet table, read lazily, in small batches and only the columns used;
    a row group that would take more than ``max_group_bytes`` is one failed record.

    Not pandas.read_parquet: it expands the whole table at once, and a 172 KB file can hold
    1.5 GB of text (a long value repeated is stored once, in a dictionary page).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    errors = (OSError, ValueError, pa.ArrowException)
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            # Opening a pipe nobody writes to would wait forever, and one that is written to
            # cannot be read from its end, where a Parquet file keeps its index.
            raise ValueError("a Parquet file is read from its end, so it must be a regular file, "
                             "not a pipe or device; save it to a file first")
        metadata = pq.read_metadata(path)
        schema = metadata.schema.to_arrow_schema()
        columns = [name for name in schema.names if not _PANDAS_INDEX.fullmatch(name)]
    except errors as exc:
        yield Record(id=base, text="", meta=meta, error=f"ingest: cannot read table {path.name}: {exc}")
        return
    if metadata.num_rows == 0:
        yield Record(id=base, text="", meta=meta, error=f"ingest: table {path.name} has no rows")
        return
    tf = _pick_field(columns, text_field, TEXT_FIELDS)
    if tf is None:
        yield _no_text_column(path, base, meta, columns, text_field, in_folder)
        return
    rf = _pick_field(columns, reference_field, REFERENCE_FIELDS)
    used = [name for name in dict.fromkeys(["id", tf, rf]) if name in columns]
    if reference_field is not None:
        rf = reference_field  # named but missing: no reference, as for the other tables
    try:
        parquet = pq.ParquetFile(path, metadata=metadata, pre_buffer=False)
    except errors as exc:
        yield Record(id=base, text="", meta=meta, error=f"ingest: cannot read table {path.name}: {exc}")
        return
    with parquet:
        first = 1
        for group in range(metadata.num_row_groups):
            info = metadata.row_group(group)
            rows = (first, first + info.num_rows - 1)
            first += info.num_rows
            if info.num_rows == 0:
                continue
            size = sum(info.column(j).total_uncompressed_size for j in range(info.num_columns)
                       if _leaf_of(info.column(j).path_in_schema, used))
            span = f"{rows[0]}-{rows[1]}" if rows[0] != rows[1] else str(rows[0])
            if size > max_group_bytes:
                yield Record(
                    id=f"{base}:{span}", text="", meta={**meta, "rows": list(rows)},
                    error=f"ingest: rows {span} of {path.name} (row group {group + 1}) hold {_size(size)} in the "
                    f"columns read, over the limit of {byte_limit(max_group_bytes)} for one row group "
                    "(memory); they were not read. Write the table with smaller row groups, e.g. "
                    "pyarrow.parquet.write_table(table, path, row_group_size=1000), or as .jsonl",
                )
                continue
            # No value is longer than its column's data in the row group (a repeated value is
            # stored once, in the dictionary, but each row that uses it gets its own copy), so
            # a batch of this many rows expands to at most max_group_bytes: fewer rows per
            # batch only where values may be long.
            batch_rows = max(1, min(_PARQUET_BATCH_ROWS, max_group_bytes // max(1, size)))
            n = rows[0]
            try:
                for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[group], columns=used):
                    for row in _arrow_rows(batch):
                        yield _row_record(row, base, n, meta, tf, rf)
                        n += 1
            except errors as exc:
                span = f"{n}-{rows[1]}" if n != rows[1] else str(n)
                yield Record(id=f"{base}:{span}", text="", meta={**meta, "rows": [n, rows[1]]},
                             error=f"ingest: rows {span} of {path.name} cannot be read: {exc}")


def _leaf_of(path_in_schema: str, names: list[str]) -> bool:
    """Whether a Parquet leaf column (``text``, or ``tags.list.element`` of a nested one)
    belongs to one of the columns ``names``; a dotted name may count twice, never less."""
    return any(path_in_schema == name or path_in_schema.startswith(name + ".") for name in names)


def _size(size: int) -> str:
    return f"{size / 2**20:.0f} MB" if size >= 2**20 else f"{size} bytes"


def _arrow_rows(batch) -> Iterator[dict[str, Any]]:
    """The rows of a record batch as dicts."""
    import pyarrow as pa

    columns = []
    for column in batch.columns:
        if pa.types.is_nested(column.type):
            # Never text: only its type is needed, for the message, and a list can hold any
            # number of values. A struct stands in as an object, anything else nested as a list.
            stand_in = {} if pa.types.is_struct(column.type) else []
            columns.append([stand_in if valid else None for valid in column.is_valid().to_pylist()])
        else:
            columns.append(column.to_pylist())
    for values in zip(*columns):
        row = dict(zip(batch.schema.names, values))
        if isinstance(row.get("id"), (list, dict)):
            row["id"] = None  # an id made of a list: use the row number
        yield row


def _jsonl(path: Path, base: str, meta: dict, text_field: str | None, reference_field: str | None,
           max_line_bytes: int) -> Iterator[Record]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Record(id=base, text="", meta=meta, error=f"ingest: cannot read {path.name} ({os_reason(exc)})")
        return
    rows = 0
    with handle:
        # A compressed or binary file named .jsonl: one record that says so, not one "not valid
        # JSON" per stretch of bytes between two newline bytes (millions, each decoded). Only
        # a file signature counts: one line with a NUL byte must not cost the other lines.
        kind = signature_kind(handle.peek(64))
        if kind:
            yield Record(id=base, text="", meta=meta, error=f"ingest: {path.name}: {kind}")
            return
        for n, (raw, binary, over) in enumerate(_jsonl_lines(handle, max_line_bytes), 1):
            if binary or over:
                rows += 1
                row_meta = {**meta, "row": n}
                if binary and over:
                    yield Record(id=f"{base}:{n}", text="", meta=row_meta,
                                 error=f"ingest: line {n} is over {byte_limit(max_line_bytes)} of binary data "
                                 f"({binary}) without a line end; the rest of the file was not read")
                    return
                if over:
                    yield Record(id=f"{base}:{n}", text="", meta=row_meta,
                                 error=f"ingest: line {n} is over {byte_limit(max_line_bytes)}, the limit for one "
                                 "document (memory); it was skipped. Split the document, or check that the file "
                                 "has one JSON object per line")
                else:
                    yield Record(id=f"{base}:{n}", text="", meta=row_meta,
                                 error=f"ingest: line {n} is not valid JSON ({binary})")
                continue
            if not raw.strip():
                continue
            rows += 1
            try:
                row = loads_json(text_and_encoding(raw)[0])
            except (ValueError, UnicodeDecodeError) as exc:
                yield Record(id=f"{base}:{n}", text="", meta={**meta, "row": n},
                             error=f"ingest: line {n} is not valid JSON ({exc})")
                continue
            finally:
                del raw
            if not isinstance(row, dict):
                yield Record(id=f"{base}:{n}", text="", meta={**meta, "row": n},
                             error=f"ingest: line {n} is {_type_name(row)}, not a JSON object")
                continue
            yield _row_record(row, base, n, meta, text_field, reference_field)
    if not rows:
        yield Record(id=base, text="", meta=meta, error=f"ingest: table {path.name} has no rows (empty file)")


def _jsonl_lines(handle: io.BufferedIOBase, max_line_bytes: int) -> Iterator[tuple[bytes, str | None, bool]]:
    """``(line, binary, over)`` for each line of ``handle``: ``binary`` says what kind of
    binary data the line starts with (never JSON, so its bytes are not kept: ``line`` is
    empty), ``over`` that it is longer than ``max_line_bytes`` (not kept either, and skipped to
    its end). The caller stops after a binary line that is over the limit.

    Read a chunk at a time, so no more than ``max_line_bytes`` of a line is ever held, and
    nothing of a binary one. Binary data over the limit ends the file: a sparse file (space
    reserved with truncate()) or a disk image can hold gigabytes of NUL bytes without a line
    end, all of which would have to be read just to find none.
    """
    while True:
        parts: list[bytes] = []
        size, ended, binary = 0, False, None
        while size <= max_line_bytes:
            chunk = handle.readline(min(CHUNK_BYTES, max_line_bytes + 1 - size))
            if not chunk:
                break
            if not size:
                binary = binary_kind(chunk[:8192])
            size += len(chunk)
            ended = chunk.endswith(b"\n")
            if not binary:
                parts.append(chunk)
            if ended:
                break
        if not size:
            return
        over = size > max_line_bytes and not ended
        if over and not binary:
            parts = []
            _skip_line(handle)
        yield b"".join(parts) if len(parts) != 1 else parts[0], binary, over
        if over and binary:
            return


def _skip_line(handle: io.BufferedIOBase) -> None:
    """Read on to the end of the current line, holding one chunk at a time."""
    while True:
        chunk = handle.readline(CHUNK_BYTES)
        if not chunk or chunk.endswith(b"\n"):
            return


def read_dataset_folder(path: Path, text_field: str | None, reference_field: str | None) -> Iterator[Record]:
    """One record per row of a folder saved by ``datasets``' ``save_to_disk``, split by split."""
    from datasets import DatasetDict, load_from_disk

    data = load_from_disk(str(path))
    splits = data.items() if isinstance(data, DatasetDict) else [(path.name, data)]
    for split, dataset in splits:
        meta = {"source": str(path), "split": split}
        for n, row in enumerate(dataset, 1):
            yield _row_record(row, split, n, meta, text_field, reference_field)


def _pick_field(columns: Iterable[str], wanted: str | None, candidates: tuple[str, ...]) -> str | None:
    columns = list(columns)
    if wanted is not None:
        return wanted if wanted in columns else None
    lowered = {c.lower(): c for c in columns if isinstance(c, str)}
    return next((lowered[c] for c in candidates if c in lowered), None)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _row_record(row: dict, base: str, n: int, meta: dict, text_field: str | None, reference_field: str | None) -> Record:
    meta = {**meta, "row": n}
    row_id = row.get("id")
    doc_id = clean(str(row_id)) if row_id not in (None, "") else f"{base}:{n}"
    tf = _pick_field(row, text_field, TEXT_FIELDS)
    rf = _pick_field(row, reference_field, REFERENCE_FIELDS)
    warnings = []
    reference = row.get(rf) if rf else None
    if reference is not None and not isinstance(reference, str):
        warnings.append(f"ingest: reference field {rf!r} is {_type_name(reference)}, not text; ignored")
    reference = clean(reference) if isinstance(reference, str) and reference.strip() else None
    if tf is None:
        wanted = repr(text_field) if text_field else f"any of {', '.join(TEXT_FIELDS)}"
        return Record(
            id=doc_id, text="", reference=reference, meta=meta, warnings=warnings,
            error=f"ingest: no text field ({wanted}) in this row; its fields are {sorted(map(str, row))}. "
            "Name the text field with --text-field.",
        )
    text = row[tf]
    if not isinstance(text, str):
        return Record(
            id=doc_id, text="", reference=reference, meta=meta, warnings=warnings,
            error=f"ingest: field {tf!r} is {_type_name(text)}, not text",
        )
    record = document_record(doc_id, text, reference, meta)
    record.warnings = warnings + record.warnings
    return record

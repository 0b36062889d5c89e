"""Ingest: paths, folders and tables in, one :class:`Record` per document out.

    >>> records = list(ingest(["examples/articles"]))  # doctest: +SKIP

- A folder is read recursively (files sorted by path): ``.txt``, ``.md``, ``.html``/``.htm``
  are one document each; ``.json`` (an object or a list of objects), ``.jsonl``, ``.csv``
  and ``.parquet`` are tables with one document per row. A folder saved by
  ``datasets.Dataset.save_to_disk`` is a table too.
- In a table the text column is the first of ``text, article, document, content, body``
  that exists, and a reference summary is taken from ``summary, reference, highlights``;
  ``text_field`` / ``reference_field`` override. An ``id`` column gives the record's id,
  else it is ``<file id>:<row>`` (rows counted from 1).
- A document's id is its path relative to the input folder, without the suffix (or the
  file name's stem for a file given directly); repeated ids get ``~2``, ``~3`` appended.
- Per-document problems (undecodable bytes, empty text, a malformed JSONL line, a missing
  text field) become that record's ``error``; only a path that cannot be used at all (it
  does not exist, a table without any text column) raises :class:`InputError`.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import InputError
from .records import Record

log = logging.getLogger("summarizer")

DOCUMENT_SUFFIXES = {".txt", ".md", ".html", ".htm"}
TABLE_SUFFIXES = {".json", ".jsonl", ".csv", ".parquet"}
SUPPORTED_SUFFIXES = DOCUMENT_SUFFIXES | TABLE_SUFFIXES
TEXT_FIELDS = ("text", "article", "document", "content", "body")
REFERENCE_FIELDS = ("summary", "reference", "highlights")
_HTML_BLOCKS = (
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "section", "article", "header", "footer", "blockquote", "pre", "title", "figcaption", "dd", "dt",
)


def ingest(
    inputs: Iterable[str | Path],
    text_field: str | None = None,
    reference_field: str | None = None,
    limit: int | None = None,
) -> Iterator[Record]:
    """Yield one record per document found in ``inputs``, in a stable order."""
    seen: Counter[str] = Counter()
    count = 0
    for raw in inputs:
        path = Path(raw)
        if not path.exists():
            raise InputError(
                f"input {str(raw)!r} does not exist; give a folder, a file, or a .jsonl/.csv/.parquet table."
            )
        for record in _ingest_path(path, text_field, reference_field):
            if limit is not None and count >= limit:
                return
            seen[record.id] += 1
            if seen[record.id] > 1:
                new_id = f"{record.id}~{seen[record.id]}"
                log.warning("id %r occurs more than once; this one is renamed %r", record.id, new_id)
                record.id = new_id
            count += 1
            yield record


def _ingest_path(path: Path, text_field: str | None, reference_field: str | None) -> Iterator[Record]:
    if path.is_dir():
        if (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file():
            yield from _dataset_folder(path, text_field, reference_field)
            return
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES and p.is_file())
        if not files:
            raise InputError(
                f"folder {str(path)!r} has no files to summarize (looked for {', '.join(sorted(SUPPORTED_SUFFIXES))})."
            )
        for file in files:
            doc_id = file.relative_to(path).with_suffix("").as_posix()
            yield from _ingest_file(file, doc_id, text_field, reference_field)
    else:
        yield from _ingest_file(path, path.stem, text_field, reference_field)


def _ingest_file(path: Path, doc_id: str, text_field: str | None, reference_field: str | None) -> Iterator[Record]:
    suffix = path.suffix.lower()
    meta: dict[str, Any] = {"source": str(path)}
    if suffix in TABLE_SUFFIXES:
        yield from _table(path, doc_id, text_field, reference_field)
        return
    try:
        text, encoding = decode(path.read_bytes())
        if encoding != "utf-8":
            meta["encoding"] = encoding
        if suffix in (".html", ".htm"):
            text = html_to_text(text)
    except (OSError, ValueError) as exc:
        yield Record(id=doc_id, text="", meta=meta, error=f"ingest: {exc}")
        return
    yield _document(doc_id, text, None, meta)


def _document(doc_id: str, text: str, reference: str | None, meta: dict[str, Any]) -> Record:
    text = normalize(text)
    error = None if text else "ingest: empty document (no text after removing whitespace)"
    return Record(id=doc_id, text=text, reference=reference, meta=meta, error=error)


def decode(data: bytes) -> tuple[str, str]:
    """Decode file bytes: BOMs first, then UTF-8, then the best guess of charset-normalizer.
    Raises ValueError for binary data."""
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding), encoding
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise ValueError("not text in any known encoding (binary file?)")
    best = matches[0]
    # Short texts fit several single-byte code pages equally well; Windows-1252 (a superset
    # of Latin-1) is by far the most common of them, so it wins a tie.
    western = next((m for m in matches if m.encoding == "cp1252" and m.percent_chaos <= best.percent_chaos), None)
    best = western or best
    return str(best), best.encoding


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one block element per line; scripts and styles dropped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "svg", "head"]):
        tag.decompose()
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    return soup.get_text()


def normalize(text: str) -> str:
    """Unify line ends, collapse runs of spaces, keep paragraph breaks (at most one blank line)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _pick_field(columns: Iterable[str], wanted: str | None, candidates: tuple[str, ...]) -> str | None:
    columns = list(columns)
    if wanted is not None:
        return wanted if wanted in columns else None
    lowered = {c.lower(): c for c in columns if isinstance(c, str)}
    return next((lowered[c] for c in candidates if c in lowered), None)


def _row_record(row: dict, base: str, n: int, meta: dict, text_field: str | None, reference_field: str | None) -> Record:
    meta = {**meta, "row": n}
    row_id = row.get("id")
    doc_id = str(row_id) if row_id not in (None, "") else f"{base}:{n}"
    tf = _pick_field(row, text_field, TEXT_FIELDS)
    rf = _pick_field(row, reference_field, REFERENCE_FIELDS)
    reference = row.get(rf) if rf else None
    reference = reference if isinstance(reference, str) and reference.strip() else None
    if tf is None:
        wanted = repr(text_field) if text_field else f"any of {', '.join(TEXT_FIELDS)}"
        return Record(
            id=doc_id, text="", reference=reference, meta=meta,
            error=f"ingest: no text field ({wanted}) in this row; its fields are {sorted(map(str, row))}. "
            "Name the text field with --text-field.",
        )
    text = row[tf]
    if not isinstance(text, str):
        return Record(
            id=doc_id, text="", reference=reference, meta=meta,
            error=f"ingest: field {tf!r} is {type(text).__name__}, not text",
        )
    return _document(doc_id, text, reference, meta)


def _table(path: Path, base: str, text_field: str | None, reference_field: str | None) -> Iterator[Record]:
    meta = {"source": str(path)}
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl(path, base, meta, text_field, reference_field)
        return
    try:
        rows = _read_rows(path, suffix)
    except (OSError, ValueError) as exc:
        yield Record(id=base, text="", meta=meta, error=f"ingest: cannot read table {path.name}: {exc}")
        return
    if rows and suffix in (".csv", ".parquet"):
        columns = list(rows[0])
        if _pick_field(columns, text_field, TEXT_FIELDS) is None:
            wanted = repr(text_field) if text_field else f"any of {', '.join(TEXT_FIELDS)}"
            raise InputError(
                f"table {str(path)!r} has no text column ({wanted}); its columns are {columns}. "
                "Name the text column with --text-field."
            )
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            yield Record(id=f"{base}:{n}", text="", meta={**meta, "row": n},
                         error=f"ingest: row {n} is {type(row).__name__}, not an object")
            continue
        yield _row_record(row, base, n, meta, text_field, reference_field)


def _read_rows(path: Path, suffix: str) -> list:
    if suffix == ".json":
        text, _ = decode(path.read_bytes())
        data = json.loads(text)
        return data if isinstance(data, list) else [data]
    import pandas as pd

    if suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    else:
        frame = pd.read_parquet(path)
    return frame.to_dict(orient="records")


def _jsonl(path: Path, base: str, meta: dict, text_field: str | None, reference_field: str | None) -> Iterator[Record]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Record(id=base, text="", meta=meta, error=f"ingest: cannot read {path.name}: {exc}")
        return
    with handle:
        for n, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(decode(raw)[0])
            except (ValueError, UnicodeDecodeError) as exc:
                yield Record(id=f"{base}:{n}", text="", meta={**meta, "row": n},
                             error=f"ingest: line {n} is not valid JSON ({exc})")
                continue
            if not isinstance(row, dict):
                yield Record(id=f"{base}:{n}", text="", meta={**meta, "row": n},
                             error=f"ingest: line {n} is {type(row).__name__}, not a JSON object")
                continue
            yield _row_record(row, base, n, meta, text_field, reference_field)


def _dataset_folder(path: Path, text_field: str | None, reference_field: str | None) -> Iterator[Record]:
    from datasets import DatasetDict, load_from_disk

    data = load_from_disk(str(path))
    splits = data.items() if isinstance(data, DatasetDict) else [(path.name, data)]
    for split, dataset in splits:
        meta = {"source": str(path), "split": split}
        for n, row in enumerate(dataset, 1):
            yield _row_record(row, split, n, meta, text_field, reference_field)

"""Ingest: paths, folders and tables in, one :class:`Record` per document out.

    >>> records = list(ingest(["examples/articles"]))  # doctest: +SKIP

- A folder is read recursively (files sorted by path; symbolic links followed, loops
  skipped): ``.txt``, ``.md``, ``.html``/``.htm`` are one document each; ``.json`` (an
  object or a list of objects), ``.jsonl``, ``.csv`` and ``.parquet`` are tables with one
  document per row. A folder saved by ``datasets.Dataset.save_to_disk`` is a table too.
  ``.pdf`` and word-processor files in a folder become failed records that say how to
  convert them; other files are skipped, and the skipped types are logged.
- In a table the text column is the first of ``text, article, document, content, body``
  that exists, and a reference summary is taken from ``summary, reference, highlights``;
  ``text_field`` / ``reference_field`` override. An ``id`` column gives the record's id,
  else it is ``<file id>:<row>`` (rows counted from 1).
- A document's id is its path relative to the input folder, without the suffix (or the
  file name's stem for a file given directly); files of one folder that differ only in
  their suffix (``a.md``, ``a.txt``) keep it (``a.md``, ``a.txt``); an id seen again
  gets ``~2``, ``~3`` appended. Ids are therefore unique and the same on every run.
- Per-document problems (binary or unreadable files, broken links, empty text, a
  malformed JSONL line, a missing text field) become that record's ``error``; doubtful
  ones (a guessed encoding, replaced bytes) are noted in its ``warnings``. Only a path
  that cannot be used at all (it does not exist, a folder with nothing to read, a table
  given by name without any text column) raises :class:`InputError`, and the paths are
  all checked before the first record is made.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import InputError
from .records import Record

log = logging.getLogger("summarizer")

DOCUMENT_SUFFIXES = {".txt", ".md", ".html", ".htm"}
TABLE_SUFFIXES = {".json", ".jsonl", ".csv", ".parquet"}
SUPPORTED_SUFFIXES = DOCUMENT_SUFFIXES | TABLE_SUFFIXES
# Documents a user plausibly meant to summarize but that need converting first: in a folder
# they become failed records (counted, and the message says how), not silently skipped files.
CONVERT_SUFFIXES = {
    ".pdf": "PDF file: PDF text extraction is not supported (and a scanned PDF has no text layer at all); "
            "convert it to text first, e.g. `pdftotext FILE.pdf FILE.txt`",
    ".doc": "Word document: convert it to text first, e.g. `libreoffice --convert-to txt FILE.doc`",
    ".docx": "Word document: convert it to text first, e.g. `pandoc FILE.docx -t plain -o FILE.txt`",
    ".odt": "OpenDocument text: convert it to text first, e.g. `pandoc FILE.odt -t plain -o FILE.txt`",
    ".epub": "EPUB book: convert it to text first, e.g. `pandoc FILE.epub -t plain -o FILE.txt`",
}
TEXT_FIELDS = ("text", "article", "document", "content", "body")
REFERENCE_FIELDS = ("summary", "reference", "highlights")
_HTML_BLOCKS = (
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "section", "article", "header", "footer", "blockquote", "pre", "title", "figcaption", "dd", "dt",
)
# File signatures, so a binary file is named for what it is rather than "not text".
_SIGNATURES = (
    (b"%PDF-", CONVERT_SUFFIXES[".pdf"]),
    (b"\x89PNG\r\n\x1a\n", "binary file (PNG image), not text"),
    (b"\xff\xd8\xff", "binary file (JPEG image), not text"),
    (b"GIF87a", "binary file (GIF image), not text"),
    (b"GIF89a", "binary file (GIF image), not text"),
    (b"II*\x00", "binary file (TIFF image), not text"),
    (b"MM\x00*", "binary file (TIFF image), not text"),
    (b"PK\x03\x04", "binary file (ZIP archive: also .docx, .xlsx, .odt, .epub), not text; "
                    "extract or convert it to text first"),
    (b"\x1f\x8b", "binary file (gzip-compressed), not text; decompress it first"),
    (b"\xfd7zXZ\x00", "binary file (xz-compressed), not text; decompress it first"),
    (b"\x28\xb5\x2f\xfd", "binary file (zstd-compressed), not text; decompress it first"),
    (b"\xd0\xcf\x11\xe0", "binary file (old Microsoft Office document), not text; convert it to text first"),
    (b"\x7fELF", "binary file (a program), not text"),
    (b"SQLite format 3\x00", "binary file (SQLite database), not text"),
)
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
)
# A single document is held in memory several times over while it is processed (about 7x
# its size at peak: 330 MB for 50 MB); above this it is refused with a message instead.
MAX_FILE_BYTES = 256 * 2**20
_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 and C1 control characters other than the whitespace ones (tab, line ends, form feed,
# and the separators str.split() already treats as spaces), and stray byte-order marks.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ufeff]")
# Whitespace other than a space or a line end (\s is exactly str.isspace(), what split() uses).
_OTHER_SPACE = re.compile(r"[^\S \n]")
_SPACES = re.compile(" {2,}")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass
class _Source:
    """One file (or dataset folder) to read, found before any record is made."""

    path: Path
    doc_id: str
    in_folder: bool = False  # found by listing a folder, not named by the user
    dataset: bool = False
    problem: str | None = None  # known to be unreadable already (a folder that cannot be listed)


def ingest(
    inputs: Iterable[str | Path],
    text_field: str | None = None,
    reference_field: str | None = None,
    limit: int | None = None,
    exclude: Iterable[str | Path] = (),
) -> Iterator[Record]:
    """Return an iterator of one record per document found in ``inputs``, in a stable order.

    Every path is checked and every folder listed now, so a missing path or an empty folder
    raises :class:`InputError` before any document is read. Files and folders in
    ``exclude`` (``summarizer run``'s own output) are never read.
    """
    return _records(plan(inputs, exclude), text_field, reference_field, limit)


def plan(inputs: Iterable[str | Path], exclude: Iterable[str | Path] = ()) -> list[_Source]:
    """The files (and dataset folders) to read, in reading order; nothing is read yet."""
    excluded = {os.path.realpath(p) for p in exclude}
    return [source for raw in inputs for source in _plan(raw, excluded)]


def read_source(source: _Source, text_field: str | None = None, reference_field: str | None = None) -> Iterator[Record]:
    """The records of one planned source (ids as the source gives them, not yet renamed)."""
    return _ingest_source(source, text_field, reference_field)


def _records(sources: list[_Source], text_field: str | None, reference_field: str | None,
             limit: int | None) -> Iterator[Record]:
    rename = IdRenamer()
    count = 0
    for source in sources:
        for record in _ingest_source(source, text_field, reference_field):
            if limit is not None and count >= limit:
                return
            rename(record)
            count += 1
            yield record


class IdRenamer:
    """Gives an id seen before a new one, in reading order (``a``, ``a~2``, ``a~3``), so that
    every record of a run has its own id (the Ray engine renames on its driver the same way)."""

    def __init__(self):
        self.seen: Counter[str] = Counter()

    def __call__(self, record: Record) -> None:
        self.seen[record.id] += 1
        if self.seen[record.id] > 1:
            new_id = f"{record.id}~{self.seen[record.id]}"
            log.warning("id %r occurs more than once; this one is renamed %r", record.id, new_id)
            record.id = new_id


def _plan(raw: str | Path, excluded: set[str]) -> list[_Source]:
    path = Path(raw)
    if not path.exists():
        if path.is_symlink():
            raise InputError(
                f"input {str(raw)!r} is a symbolic link that cannot be followed (it points to "
                f"{os.readlink(path)!r}, which does not exist or loops back); fix the link or give the file itself."
            )
        raise InputError(
            f"input {str(raw)!r} does not exist; give a folder, a file, or a .jsonl/.csv/.parquet table."
        )
    if not path.is_dir():
        return [_Source(path, clean(path.stem))]
    if (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file():
        return [_Source(path, "", dataset=True)]
    sources, skipped = _list_folder(path, excluded)
    other = ", ".join(f"{suffix} ({n})" for suffix, n in skipped.most_common())
    if not sources:
        raise InputError(
            f"folder {str(raw)!r} has no files to summarize (looked for {', '.join(sorted(SUPPORTED_SUFFIXES))}"
            + (f"; it has only {other}" if other else "; it is empty")
            + "). Give the folder that holds the articles, or convert them to text first."
        )
    if skipped:
        log.warning("%s: skipped %d file(s) of types that are not read: %s", raw, sum(skipped.values()), other)
    return sources


def _list_folder(root: Path, excluded: set[str]) -> tuple[list[_Source], Counter[str]]:
    """Every readable-looking file under ``root``, sorted by relative path, with unique ids.

    os.walk rather than rglob: rglob's is_file() quietly drops broken links, link loops and
    pipes, and they must become failed records instead. Linked folders are followed unless
    the link points back into its own ancestors, which would repeat forever.
    """
    found: list[tuple[tuple[str, ...], Path, str | None]] = []
    skipped: Counter[str] = Counter()
    top = str(root)
    chains = {top: frozenset([os.path.realpath(top)])}
    excluded_names = {os.path.basename(path) for path in excluded}  # spares a realpath per file

    def unlistable(exc: OSError) -> None:
        where = Path(exc.filename or top)
        if os.path.realpath(where) == os.path.realpath(top):
            raise InputError(f"folder {top!r} cannot be read ({_os_reason(exc)}).") from exc
        found.append((where.relative_to(root).parts, where, f"cannot list this folder ({_os_reason(exc)}); "
                      "its files were not read"))

    for dirpath, dirnames, filenames in os.walk(top, onerror=unlistable, followlinks=True):
        chain = chains.pop(dirpath, frozenset())
        kept = []
        for name in sorted(dirnames):
            full = os.path.join(dirpath, name)
            real = os.path.realpath(full)
            if real in excluded:
                continue
            if real in chain:
                log.warning("skipped %s: a symbolic link to one of its own parent folders (a loop)", full)
                continue
            kept.append(name)
            chains[full] = chain | {real}
        dirnames[:] = kept
        for name in filenames:
            file = Path(dirpath, name)
            suffix = file.suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES and suffix not in CONVERT_SUFFIXES:
                skipped[suffix or "(no suffix)"] += 1
            elif name not in excluded_names or os.path.realpath(file) not in excluded:
                found.append((file.relative_to(root).parts, file, None))
    found.sort(key=lambda item: item[0])
    stems = Counter(Path(*parts).with_suffix("").as_posix() for parts, _, problem in found if problem is None)
    sources = []
    for parts, file, problem in found:
        relative = Path(*parts)
        doc_id = relative.with_suffix("").as_posix() if problem is None else relative.as_posix()
        if problem is None and stems[doc_id] > 1:
            doc_id = relative.as_posix()  # a.md and a.txt: say which is which
        sources.append(_Source(file, clean(doc_id), in_folder=True, problem=problem))
    return sources, skipped


def _ingest_source(source: _Source, text_field: str | None, reference_field: str | None) -> Iterator[Record]:
    path = source.path
    meta: dict[str, Any] = {"source": clean(str(path))}
    if source.dataset:
        yield from _dataset_folder(path, text_field, reference_field)
        return
    problem = source.problem or _unreadable(path, source.in_folder)
    suffix = path.suffix.lower()
    if problem is None and suffix in CONVERT_SUFFIXES:
        problem = CONVERT_SUFFIXES[suffix]
    if problem:
        yield Record(id=source.doc_id, text="", meta=meta, error=f"ingest: {problem}")
        return
    if suffix in TABLE_SUFFIXES:
        yield from _table(path, source.doc_id, text_field, reference_field, source.in_folder)
        return
    warnings = []
    try:
        text, encoding, note = decode_text(_read(path))
        if encoding != "utf-8":
            meta["encoding"] = encoding
        if note:
            warnings.append(f"ingest: {note}")
        if suffix in (".html", ".htm"):
            text = html_to_text(text)
    except ValueError as exc:
        yield Record(id=source.doc_id, text="", meta=meta, error=f"ingest: {exc}")
        return
    record = _document(source.doc_id, text, None, meta)
    record.warnings = warnings + record.warnings
    yield record


def _unreadable(path: Path, in_folder: bool) -> str | None:
    """Why ``path`` must not be read, or None. Only files found in a folder are refused for
    not being regular files: opening a named pipe nobody writes to waits forever, while a
    pipe the user names (``summarizer run <(zcat a.txt.gz)``) is meant to be read."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if path.is_symlink():
            target = os.readlink(path)
            if exc.errno == errno.ELOOP:
                return f"symbolic link loop ({path.name} -> {target} leads back to itself); fix or remove the link"
            return f"broken symbolic link (it points to {target!r}, which does not exist); fix or remove the link"
        return f"cannot read the file ({_os_reason(exc)})"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if in_folder and not stat.S_ISREG(mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        return f"not a regular file but {kind}; it was not opened (reading it could wait forever)"
    return None


def _read(path: Path) -> bytes:
    """The file's bytes; a binary file its first bytes give away, or a file too large to hold
    in memory, is refused before the rest is read (a 4 GB video named .txt is not loaded)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
            kind = _binary_kind(head)
            if kind:
                raise ValueError(kind)
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise ValueError(
                    f"file is {size / 2**20:.0f} MB; files over {MAX_FILE_BYTES // 2**20} MB are not read whole "
                    "(memory): split it into documents, or give a table as .jsonl, which is read line by line"
                )
            return head + handle.read()
    except OSError as exc:
        raise ValueError(f"cannot read the file ({_os_reason(exc)})") from exc


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied: check the file's permissions and owner"
    return exc.strerror or str(exc)


def _document(doc_id: str, text: str, reference: str | None, meta: dict[str, Any]) -> Record:
    warnings = []
    bad = len(_SURROGATES.findall(text))
    if bad:  # only JSON can carry them ("\ud800"): they cannot be written as UTF-8
        warnings.append(f"ingest: {bad} invalid character(s) (unpaired surrogates) replaced by U+FFFD")
    text = normalize(text)
    error = None if text else "ingest: empty document (no text after removing whitespace and markup)"
    return Record(id=doc_id, text=text, reference=reference, meta=meta, error=error, warnings=warnings)


def decode(data: bytes) -> tuple[str, str]:
    """Decode file bytes into ``(text, encoding)``; see :func:`decode_text`."""
    text, encoding, _ = decode_text(data)
    return text, encoding


def decode_text(data: bytes) -> tuple[str, str, str | None]:
    """Decode file bytes: BOMs first, then UTF-8, then the best guess of charset-normalizer.

    Returns ``(text, encoding, note)``; ``note`` says what was doubtful (a guessed encoding,
    invalid bytes replaced) or is None. Raises ValueError for binary data, naming the kind
    of file when its signature is known (PDF, images, archives).
    """
    kind = _binary_kind(data[:8192])
    if kind:
        raise ValueError(kind)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data.decode(encoding, errors="replace")
            bad = text.count("\ufffd")
            return text, encoding, f"{bad} invalid {encoding} sequence(s) replaced by U+FFFD" if bad else None
    head = data[:8192]
    if b"\x00" in head:
        utf16 = _utf16_without_bom(data)
        if utf16:
            return utf16
        raise ValueError("binary file (contains NUL bytes), not text")
    try:
        text, encoding, note = data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        text, encoding, note = _mostly_utf8(data) or _guess(data)
    if _looks_binary(text):
        raise ValueError("binary file (mostly control characters), not text")
    return text, encoding, note


def _binary_kind(head: bytes) -> str | None:
    """Why a file starting with ``head`` is not text, when its first bytes tell (a signature,
    or NUL bytes that are not UTF-16); None otherwise."""
    for signature, message in _SIGNATURES:
        if head.startswith(signature):
            return message
    if b"\x00" in head and not any(head.startswith(bom) for bom, _ in _BOMS) and not _utf16_order(head):
        return "binary file (contains NUL bytes), not text"
    return None


def _mostly_utf8(data: bytes) -> tuple[str, str, str] | None:
    """UTF-8 text with a few stray bytes (a cut download, one Latin-1 byte pasted in) is still
    UTF-8: a single-byte guess would garble every accented letter to fix one byte."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    wide = len(text) - len(text.encode("ascii", errors="ignore")) - bad  # valid multi-byte sequences
    if wide > 0 and bad <= max(1, wide // 10):
        return text, "utf-8", f"{bad} invalid UTF-8 byte sequence(s) replaced by U+FFFD"
    return None


def _guess(data: bytes) -> tuple[str, str, str]:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise ValueError("not text in any known encoding (binary file?)")
    best = matches[0]
    # Short texts fit several single-byte code pages equally well; Windows-1252 (a superset
    # of Latin-1) is by far the most common of them, so it wins a tie.
    western = next((m for m in matches if m.encoding == "cp1252" and m.percent_chaos <= best.percent_chaos), None)
    best = western or best
    return str(best), best.encoding, (
        f"not UTF-8; the encoding was guessed as {best.encoding}: check accented letters, "
        "or save the file as UTF-8"
    )


def _utf16_without_bom(data: bytes) -> tuple[str, str, str] | None:
    """UTF-16 text without a BOM has a NUL in every other byte (for Latin letters)."""
    encoding = _utf16_order(data[:8192])
    if len(data) % 2 or not encoding:
        return None
    text = data.decode(encoding, errors="replace")
    if _looks_binary(text):
        return None
    return text, encoding, f"no byte-order mark; decoded as {encoding} (a guess)"


def _utf16_order(sample: bytes) -> str | None:
    """'utf-16-le' or '-be' when every other byte is NUL and the others are not."""
    sample = sample[: len(sample) // 2 * 2]
    half = len(sample) // 2
    for encoding, zeros, letters in (("utf-16-le", sample[1::2], sample[0::2]),
                                     ("utf-16-be", sample[0::2], sample[1::2])):
        if half and zeros.count(0) >= 0.9 * half and letters.count(0) <= 0.1 * half:
            return encoding
    return None


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    return bool(sample) and len(_CONTROL.findall(sample)) > 0.1 * len(sample)


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
    """Unify line ends, drop control characters, collapse runs of spaces, keep paragraph
    breaks (at most one blank line). The result always encodes as UTF-8."""
    if not text.isascii():
        text = _SURROGATES.sub("\ufffd", text)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    # Not split/join per line: a 50 MB file on one line would become a list of millions of
    # words (700 MB at peak). Each step below only touches what it changes, and after the
    # first two no line has more than one space at either end.
    text = _SPACES.sub(" ", _OTHER_SPACE.sub(" ", text))
    text = text.replace(" \n", "\n").replace("\n ", "\n")
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def clean(value: str) -> str:
    """``value`` with unpaired surrogates (from undecodable file names, JSON ``"\\ud800"``)
    replaced, so that it can be written as UTF-8."""
    return _SURROGATES.sub("\ufffd", value)


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
    record = _document(doc_id, text, reference, meta)
    record.warnings = warnings + record.warnings
    return record


def _table(path: Path, base: str, text_field: str | None, reference_field: str | None,
           in_folder: bool) -> Iterator[Record]:
    meta = {"source": clean(str(path))}
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl(path, base, meta, text_field, reference_field)
        return
    try:
        rows = _read_rows(path, suffix)
    except (OSError, ValueError) as exc:
        yield Record(id=base, text="", meta=meta, error=f"ingest: cannot read table {path.name}: {exc}")
        return
    if not rows:
        yield Record(id=base, text="", meta=meta, error=f"ingest: table {path.name} has no rows")
        return
    if suffix in (".csv", ".parquet"):
        columns = list(rows[0])
        if _pick_field(columns, text_field, TEXT_FIELDS) is None:
            wanted = repr(text_field) if text_field else f"any of {', '.join(TEXT_FIELDS)}"
            message = (f"table {clean(str(path))!r} has no text column ({wanted}); its columns are {columns}. "
                       "Name the text column with --text-field.")
            if not in_folder:  # the user named this table: the setting is wrong, say so at once
                raise InputError(message)
            yield Record(id=base, text="", meta=meta, error=f"ingest: {message}")
            return
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            yield Record(id=f"{base}:{n}", text="", meta={**meta, "row": n},
                         error=f"ingest: row {n} is {_type_name(row)}, not an object")
            continue
        yield _row_record(row, base, n, meta, text_field, reference_field)


def _read_rows(path: Path, suffix: str) -> list:
    if suffix == ".json":
        text, _ = decode(_read(path))
        data = json.loads(text)
        return data if isinstance(data, list) else [data]
    import pandas as pd

    if suffix == ".csv":
        # Decoded here so that a cp1252 or UTF-16 table reads like a text file does.
        text, _ = decode(_read(path))
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    else:
        frame = pd.read_parquet(path)
    return frame.to_dict(orient="records")


def _jsonl(path: Path, base: str, meta: dict, text_field: str | None, reference_field: str | None) -> Iterator[Record]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Record(id=base, text="", meta=meta, error=f"ingest: cannot read {path.name} ({_os_reason(exc)})")
        return
    rows = 0
    with handle:
        for n, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            rows += 1
            try:
                row = json.loads(decode(raw)[0])
            except (ValueError, UnicodeDecodeError) as exc:
                yield Record(id=f"{base}:{n}", text="", meta={**meta, "row": n},
                             error=f"ingest: line {n} is not valid JSON ({exc})")
                continue
            if not isinstance(row, dict):
                yield Record(id=f"{base}:{n}", text="", meta={**meta, "row": n},
                             error=f"ingest: line {n} is {_type_name(row)}, not a JSON object")
                continue
            yield _row_record(row, base, n, meta, text_field, reference_field)
    if not rows:
        yield Record(id=base, text="", meta=meta, error=f"ingest: table {path.name} has no rows (empty file)")


def _dataset_folder(path: Path, text_field: str | None, reference_field: str | None) -> Iterator[Record]:
    from datasets import DatasetDict, load_from_disk

    data = load_from_disk(str(path))
    splits = data.items() if isinstance(data, DatasetDict) else [(path.name, data)]
    for split, dataset in splits:
        meta = {"source": str(path), "split": split}
        for n, row in enumerate(dataset, 1):
            yield _row_record(row, split, n, meta, text_field, reference_field)

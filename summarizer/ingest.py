"""Ingest: paths, folders and tables in, one :class:`Record` per document out.

    >>> records = list(ingest(["examples/articles"]))  # doctest: +SKIP

- A folder is read recursively (files sorted by path; symbolic links followed, loops
  skipped; with ``follow_links=False`` a link that leads out of the input folder is a failed
  record instead): ``.txt``, ``.md``, ``.html``/``.htm`` are one document each; ``.json`` (an
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
"""

from __future__ import annotations

import errno
import io
import logging
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import InputError
from .htmltext import html_to_text
from .records import Record, loads_json

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
# A JSONL line is one document, so it gets the same limit as a file: a line is read with a
# bounded readline, and a longer one is skipped in chunks, so it is never held whole.
MAX_LINE_BYTES = MAX_FILE_BYTES
# A Parquet row group is read only when the columns used (id, text, reference) take at most
# this uncompressed (the file's metadata says so before anything is read), so that no cell,
# and no dictionary page of repeated values, can be larger than a file may be.
MAX_ROW_GROUP_BYTES = MAX_FILE_BYTES
# Parquet rows are read this many at a time at most (fewer where values are long), so that
# `--limit 1` reads one small batch.
_PARQUET_BATCH_ROWS = 64
# What is read at a time when reading on to a limit, or skipping what is over it.
_CHUNK_BYTES = 2**20
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
    follow_links: bool = True,
) -> Iterator[Record]:
    """Return an iterator of one record per document found in ``inputs``, in a stable order.

    Every path is checked and every folder listed now, so a missing path or an empty folder
    raises :class:`InputError` before any document is read. Files and folders in
    ``exclude`` (``summarizer run``'s own output) are never read. With ``follow_links=False``
    (``--no-follow-links``) a symbolic link inside a folder that leads out of that folder is
    a failed record, not read; links named in ``inputs`` are always followed.
    """
    return _records(plan(inputs, exclude, follow_links), text_field, reference_field, limit)


def plan(inputs: Iterable[str | Path], exclude: Iterable[str | Path] = (),
         follow_links: bool = True) -> list[_Source]:
    """The files (and dataset folders) to read, in reading order; nothing is read yet."""
    excluded = {os.path.realpath(p) for p in exclude}
    return [source for raw in inputs for source in _plan(raw, excluded, follow_links)]


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


def _plan(raw: str | Path, excluded: set[str], follow_links: bool = True) -> list[_Source]:
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
    sources, skipped = _list_folder(path, excluded, follow_links)
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


def _list_folder(root: Path, excluded: set[str], follow_links: bool = True) -> tuple[list[_Source], Counter[str]]:
    """Every readable-looking file under ``root``, sorted by relative path, with unique ids.

    A walk of its own rather than rglob, whose is_file() quietly drops broken links, link
    loops and pipes (they must become failed records instead), and rather than os.walk,
    which recurses once per level on Python < 3.12 (RecursionError in a tree 1000 deep).
    Linked folders are followed unless the link points back into its own ancestors, which
    would repeat forever, or, with ``follow_links=False``, leads out of ``root``.
    """
    found: list[tuple[tuple[str, ...], Path, str | None]] = []
    skipped: Counter[str] = Counter()
    top = str(root)
    top_real = os.path.realpath(top)
    excluded_names = {os.path.basename(path) for path in excluded}  # spares a realpath per file

    def outside(link: str) -> str | None:
        """Why the link ``link`` is not followed, or None when it may be."""
        if follow_links:
            return None
        real = os.path.realpath(link)
        if real == top_real or real.startswith(top_real.rstrip(os.sep) + os.sep):
            return None
        return (f"symbolic link to {real!r}, outside the input folder {top!r}; not read (--no-follow-links: "
                "links that lead out of the folder are not followed)")

    # (folder, its real path, the real paths of it and its ancestors): the real path of an
    # entry that is no link is its folder's real path joined with its name, which spares a
    # realpath (one lstat per level) for all but the links.
    stack = [(top, top_real, frozenset([top_real]))]
    while stack:
        dirpath, dir_real, chain = stack.pop()
        try:
            with os.scandir(dirpath) as listing:
                entries = list(listing)
        except OSError as exc:
            if dirpath == top:
                raise InputError(f"folder {top!r} cannot be read ({_os_reason(exc)}).") from exc
            where = Path(dirpath)
            found.append((where.relative_to(root).parts, where, f"cannot list this folder ({_os_reason(exc)}); "
                          "its files were not read"))
            continue
        subfolders = []
        for entry in entries:
            full = os.path.join(dirpath, entry.name)
            try:
                link = entry.is_symlink()
            except OSError:  # gone since it was listed: reading it will say so
                link = False
            try:
                is_dir = entry.is_dir()  # follows a link; False for a broken one, which is a file here
            except OSError:
                is_dir = False
            if is_dir:
                real = os.path.realpath(full) if link else os.path.join(dir_real, entry.name)
                if real in excluded:
                    continue
                if real in chain:
                    log.warning("skipped %s: a symbolic link to one of its own parent folders (a loop)", full)
                    continue
                problem = outside(full) if link else None
                if problem:
                    found.append((Path(full).relative_to(root).parts, Path(full), problem))
                    continue
                subfolders.append((full, real, chain | {real}))
                continue
            file = Path(full)
            suffix = file.suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES and suffix not in CONVERT_SUFFIXES:
                skipped[suffix or "(no suffix)"] += 1
            elif entry.name not in excluded_names or os.path.realpath(file) not in excluded:
                found.append((file.relative_to(root).parts, file, outside(full) if link else None))
        # Taken in name order, depth first, as os.walk went: only the log's order depends on it.
        stack.extend(sorted(subfolders, reverse=True))
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


def _read(path: Path) -> bytearray:
    """The file's bytes; a binary file its first bytes give away, or a file too large to hold
    in memory, is refused before the rest is read (a 4 GB video named .txt is not loaded).
    At most MAX_FILE_BYTES + 1 bytes are ever read, whatever the size the system reports: a
    pipe, /dev/stdin or a /proc file says 0, and `yes | summarizer run /dev/stdin` never ends."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
            kind = _binary_kind(head)
            if kind:
                raise ValueError(kind)
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise ValueError(
                    f"file is {size / 2**20:.0f} MB; files over {_limit(MAX_FILE_BYTES)} are not read whole "
                    "(memory): split it into documents, or give a table as .jsonl, which is read line by line"
                )
            # Grown in place a chunk at a time: `head + handle.read()` held the file twice.
            data = bytearray(head)
            while len(data) <= MAX_FILE_BYTES:
                chunk = handle.read(min(_CHUNK_BYTES, MAX_FILE_BYTES + 1 - len(data)))
                if not chunk:
                    break
                data += chunk
            if len(data) > MAX_FILE_BYTES:
                raise ValueError(
                    f"input is over {_limit(MAX_FILE_BYTES)} (a stream, or a file that grew while read); "
                    "inputs over the limit are not read whole (memory): split it into documents, "
                    "or give a table as .jsonl, which is read line by line"
                )
            return data
    except OSError as exc:
        raise ValueError(f"cannot read the file ({_os_reason(exc)})") from exc


def _limit(size: int) -> str:
    """A byte limit for a message: in MB when it is a round number of them (the real limits),
    else in bytes (the small ones tests set)."""
    return f"{size // 2**20} MB" if size >= 2**20 and size % 2**20 == 0 else f"{size} bytes"


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
    kind = _signature(head)
    if kind:
        return kind
    if b"\x00" in head and not any(head.startswith(bom) for bom, _ in _BOMS) and not _utf16_order(head):
        return "binary file (contains NUL bytes), not text"
    return None


def _signature(head: bytes) -> str | None:
    """What kind of binary file starts with ``head``, when it starts with a known signature."""
    return next((message for signature, message in _SIGNATURES if head.startswith(signature)), None)


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
    if suffix == ".parquet":
        yield from _parquet(path, base, meta, text_field, reference_field, in_folder)
        return
    try:
        rows = _read_rows(path, suffix)
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


def _read_rows(path: Path, suffix: str) -> list:
    if suffix == ".json":
        text, _ = decode(_read(path))
        data = loads_json(text)
        return data if isinstance(data, list) else [data]
    import pandas as pd

    # Decoded here so that a cp1252 or UTF-16 table reads like a text file does.
    text, _ = decode(_read(path))
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return frame.to_dict(orient="records")


# The column pandas adds for a DataFrame's index; pandas itself hides it again when reading.
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")


def _parquet(path: Path, base: str, meta: dict, text_field: str | None, reference_field: str | None,
             in_folder: bool) -> Iterator[Record]:
    """The rows of a Parquet table, read lazily, in small batches and only the columns used;
    a row group that would take more than MAX_ROW_GROUP_BYTES is one failed record.

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
            if size > MAX_ROW_GROUP_BYTES:
                yield Record(
                    id=f"{base}:{span}", text="", meta={**meta, "rows": list(rows)},
                    error=f"ingest: rows {span} of {path.name} (row group {group + 1}) hold {_size(size)} in the "
                    f"columns read, over the limit of {_limit(MAX_ROW_GROUP_BYTES)} for one row group "
                    "(memory); they were not read. Write the table with smaller row groups, e.g. "
                    "pyarrow.parquet.write_table(table, path, row_group_size=1000), or as .jsonl",
                )
                continue
            # No value is longer than its column's data in the row group (a repeated value is
            # stored once, in the dictionary, but each row that uses it gets its own copy), so
            # a batch of this many rows expands to at most MAX_ROW_GROUP_BYTES: fewer rows per
            # batch only where values may be long.
            batch_rows = max(1, min(_PARQUET_BATCH_ROWS, MAX_ROW_GROUP_BYTES // max(1, size)))
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


def _jsonl(path: Path, base: str, meta: dict, text_field: str | None, reference_field: str | None) -> Iterator[Record]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Record(id=base, text="", meta=meta, error=f"ingest: cannot read {path.name} ({_os_reason(exc)})")
        return
    rows = 0
    with handle:
        # A compressed or binary file named .jsonl: one record that says so, not one "not valid
        # JSON" per stretch of bytes between two newline bytes (millions, each decoded). Only
        # a file signature counts: one line with a NUL byte must not cost the other lines.
        kind = _signature(handle.peek(64))
        if kind:
            yield Record(id=base, text="", meta=meta, error=f"ingest: {path.name}: {kind}")
            return
        for n, (raw, binary, over) in enumerate(_jsonl_lines(handle), 1):
            if binary or over:
                rows += 1
                row_meta = {**meta, "row": n}
                if binary and over:
                    yield Record(id=f"{base}:{n}", text="", meta=row_meta,
                                 error=f"ingest: line {n} is over {_limit(MAX_LINE_BYTES)} of binary data ({binary}) "
                                 "without a line end; the rest of the file was not read")
                    return
                if over:
                    yield Record(id=f"{base}:{n}", text="", meta=row_meta,
                                 error=f"ingest: line {n} is over {_limit(MAX_LINE_BYTES)}, the limit for one "
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
                row = loads_json(decode(raw)[0])
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


def _jsonl_lines(handle: io.BufferedIOBase) -> Iterator[tuple[bytes, str | None, bool]]:
    """``(line, binary, over)`` for each line of ``handle``: ``binary`` says what kind of
    binary data the line starts with (never JSON, so its bytes are not kept: ``line`` is
    empty), ``over`` that it is longer than MAX_LINE_BYTES (not kept either, and skipped to
    its end). The caller stops after a binary line that is over the limit.

    Read a chunk at a time, so no more than MAX_LINE_BYTES of a line is ever held, and
    nothing of a binary one. Binary data over the limit ends the file: a sparse file (space
    reserved with truncate()) or a disk image can hold gigabytes of NUL bytes without a line
    end, all of which would have to be read just to find none.
    """
    while True:
        parts: list[bytes] = []
        size, ended, binary = 0, False, None
        while size <= MAX_LINE_BYTES:
            chunk = handle.readline(min(_CHUNK_BYTES, MAX_LINE_BYTES + 1 - size))
            if not chunk:
                break
            if not size:
                binary = _binary_kind(chunk[:8192])
            size += len(chunk)
            ended = chunk.endswith(b"\n")
            if not binary:
                parts.append(chunk)
            if ended:
                break
        if not size:
            return
        over = size > MAX_LINE_BYTES and not ended
        if over and not binary:
            parts = []
            _skip_line(handle)
        yield b"".join(parts) if len(parts) != 1 else parts[0], binary, over
        if over and binary:
            return


def _skip_line(handle: io.BufferedIOBase) -> None:
    """Read on to the end of the current line, holding one chunk at a time."""
    while True:
        chunk = handle.readline(_CHUNK_BYTES)
        if not chunk or chunk.endswith(b"\n"):
            return


def _dataset_folder(path: Path, text_field: str | None, reference_field: str | None) -> Iterator[Record]:
    from datasets import DatasetDict, load_from_disk

    data = load_from_disk(str(path))
    splits = data.items() if isinstance(data, DatasetDict) else [(path.name, data)]
    for split, dataset in splits:
        meta = {"source": str(path), "split": split}
        for n, row in enumerate(dataset, 1):
            yield _row_record(row, split, n, meta, text_field, reference_field)

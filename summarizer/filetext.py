"""File bytes to clean text: bounded reads, binary detection, encoding detection, normalization.

    >>> bytes_to_text("Café".encode("utf-16"))
    ('Café', 'utf-16', None)
    >>> normalize("  Two   spaces\tand a tab. ")
    'Two spaces and a tab.'

Byte-order marks come first, then UTF-8 (also with a few stray bytes), UTF-16 without a
BOM, and last the best guess of charset-normalizer. Binary data raises ValueError naming the
kind of file where its first bytes tell. (Token decoding is :mod:`summarizer.decode`.)
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .records import Record

# Shared with the folder listing's list of files to convert, so a PDF gets the same advice
# whether its suffix or its first bytes give it away.
PDF_ADVICE = ("PDF file: PDF text extraction is not supported (and a scanned PDF has no text layer at all); "
              "convert it to text first, e.g. `pdftotext FILE.pdf FILE.txt`")
# File signatures, so a binary file is named for what it is rather than "not text".
_SIGNATURES = (
    (b"%PDF-", PDF_ADVICE),
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
# What is read at a time when reading on to a limit, or skipping what is over it.
CHUNK_BYTES = 2**20
_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 and C1 control characters other than the whitespace ones (tab, line ends, form feed,
# and the separators str.split() already treats as spaces), and stray byte-order marks.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ufeff]")
# Whitespace other than a space or a line end (\s is exactly str.isspace(), what split() uses).
_OTHER_SPACE = re.compile(r"[^\S \n]")
_SPACES = re.compile(" {2,}")
_BLANK_LINES = re.compile(r"\n{3,}")


def read_bytes(path: Path, max_bytes: int) -> bytearray:
    """The file's bytes; a binary file its first bytes give away, or a file too large to hold
    in memory, is refused before the rest is read (a 4 GB video named .txt is not loaded).
    At most ``max_bytes + 1`` bytes are ever read, whatever the size the system reports: a
    pipe, /dev/stdin or a /proc file says 0, and `yes | summarizer run /dev/stdin` never ends."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
            kind = binary_kind(head)
            if kind:
                raise ValueError(kind)
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise ValueError(
                    f"file is {size / 2**20:.0f} MB; files over {byte_limit(max_bytes)} are not read whole "
                    "(memory): split it into documents, or give a table as .jsonl, which is read line by line"
                )
            # Grown in place a chunk at a time: `head + handle.read()` held the file twice.
            data = bytearray(head)
            while len(data) <= max_bytes:
                chunk = handle.read(min(CHUNK_BYTES, max_bytes + 1 - len(data)))
                if not chunk:
                    break
                data += chunk
            if len(data) > max_bytes:
                raise ValueError(
                    f"input is over {byte_limit(max_bytes)} (a stream, or a file that grew while read); "
                    "inputs over the limit are not read whole (memory): split it into documents, "
                    "or give a table as .jsonl, which is read line by line"
                )
            return data
    except OSError as exc:
        raise ValueError(f"cannot read the file ({os_reason(exc)})") from exc


def byte_limit(size: int) -> str:
    """A byte limit for a message: in MB when it is a round number of them (the real limits),
    else in bytes (the small ones tests set)."""
    return f"{size // 2**20} MB" if size >= 2**20 and size % 2**20 == 0 else f"{size} bytes"


def os_reason(exc: OSError) -> str:
    """Why a file could not be opened or listed, for a message."""
    if isinstance(exc, PermissionError):
        return "permission denied: check the file's permissions and owner"
    return exc.strerror or str(exc)


def document_record(doc_id: str, text: str, reference: str | None, meta: dict[str, Any]) -> Record:
    """The record of one document's text: normalized, and failed when nothing is left."""
    warnings = []
    bad = len(_SURROGATES.findall(text))
    if bad:  # only JSON can carry them ("\ud800"): they cannot be written as UTF-8
        warnings.append(f"ingest: {bad} invalid character(s) (unpaired surrogates) replaced by U+FFFD")
    text = normalize(text)
    error = None if text else "ingest: empty document (no text after removing whitespace and markup)"
    return Record(id=doc_id, text=text, reference=reference, meta=meta, error=error, warnings=warnings)


def text_and_encoding(data: bytes) -> tuple[str, str]:
    """File bytes as ``(text, encoding)``; see :func:`bytes_to_text`."""
    text, encoding, _ = bytes_to_text(data)
    return text, encoding


def bytes_to_text(data: bytes) -> tuple[str, str, str | None]:
    """File bytes as text: BOMs first, then UTF-8, then the best guess of charset-normalizer.

    Returns ``(text, encoding, note)``; ``note`` says what was doubtful (a guessed encoding,
    invalid bytes replaced) or is None. Raises ValueError for binary data, naming the kind
    of file when its signature is known (PDF, images, archives).
    """
    kind = binary_kind(data[:8192])
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


def binary_kind(head: bytes) -> str | None:
    """Why a file starting with ``head`` is not text, when its first bytes tell (a signature,
    or NUL bytes that are not UTF-16); None otherwise."""
    kind = signature_kind(head)
    if kind:
        return kind
    if b"\x00" in head and not any(head.startswith(bom) for bom, _ in _BOMS) and not _utf16_order(head):
        return "binary file (contains NUL bytes), not text"
    return None


def signature_kind(head: bytes) -> str | None:
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

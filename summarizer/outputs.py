"""What a run writes besides ``summaries.jsonl``, and the rules that keep a user's files safe.

    OUTDIR/txt/<id>.txt               --txt: one summary per file
    OUTDIR/parquet/part-NNNNN.parquet --parquet ROWS: the records as Parquet shards
    OUTDIR/.summarizer-files          the names of the .txt files and shards this tool wrote
                                      (JSON; no suffix, so that ingest never reads it)
    OUTDIR/.summarizer-run            what the run made of summaries.jsonl (JSON, no suffix): its
                                      counts and ``model``, what the model did against copying
                                      sentences (:func:`run_meta`)

The rules, each checked before anything is written:

- no input is ever an output: a file named as an input that is also a file a run or a stage
  command would write (through links and hard links too) is refused;
- a ``summaries.jsonl`` that this tool did not write (its first record has no ``run``
  stamp) is never replaced;
- only files this tool wrote are replaced or removed: a rerun removes the .txt files and
  shards of the previous run that it does not write again (documents that now fail, fewer
  shards), a .txt name held by a user's file gets a hash of its id appended instead, and a
  Parquet shard name held by a user's file stops the run before it starts;
- the files of the last run are never read back as input when OUTDIR is inside an input folder.

    >>> check_not_input("out.jsonl", ["in.jsonl"])  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

from .errors import OutputError
from .records import loads_json
from .store import FINAL, RUN_FILES, write_error

MANIFEST = ".summarizer-files"
RUN_META = ".summarizer-run"
TXT = "txt"
PARQUET = "parquet"
# Longest file name most file systems take (ext4, APFS, NTFS count 255 bytes or UTF-16 units);
# an id of 100 Chinese characters is 300 bytes in UTF-8.
MAX_NAME_BYTES = 255
_SHARD = re.compile(r"part-\d{5}\.parquet")
# How Record.to_json ends a record of a run (store.RunFolder.reuse sets these keys, in order).
_RUN_STAMP = re.compile(rb'"run": \{"content_hash": "[0-9a-f]+", "fingerprint": "[0-9a-f]+", "run_id": "[^"]*"\}\}\s*$')
_STAMP_BYTES = 512  # longer than any stamp
_CHUNK_BYTES = 1 << 20


def check_not_input(output, inputs: Iterable, flag: str = "--output", fix: str | None = None) -> None:
    """Refuse an ``output`` that is one of ``inputs``: opening it for writing would empty the
    input, and reading it while it is written never ends (``-o`` the input file, or a shell's
    ``>> input``). Each may be a path, ``"-"`` (standard input or output) or an open stream."""
    target = _file_key(output, sys.stdout)
    if target is None:
        return
    for raw in inputs:
        if _file_key(raw, sys.stdin) == target:
            where = "standard output" if output == "-" or not isinstance(output, (str, Path)) else f"{flag} {str(output)!r}"
            source = "standard input" if raw == "-" or not isinstance(raw, (str, Path)) else repr(str(raw))
            raise OutputError(
                f"{where} is the input {source}: writing it would destroy the input (and reading it while "
                f"writing it never ends). {fix or f'Write to another file (e.g. {_sibling(output)!r})'}."
            )


def _file_key(target, dash) -> tuple[int, int] | None:
    """(device, inode) of a regular file named or opened as ``target`` ("-": ``dash``)."""
    if isinstance(target, (str, Path)) and str(target) != "-":
        try:
            info = os.stat(target)
        except (OSError, ValueError):
            return None
    else:
        try:
            info = os.fstat((dash if str(target) == "-" else target).fileno())
        except (AttributeError, OSError, ValueError):
            return None  # not a real file (a test runner's buffer): nothing to compare
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def _sibling(path) -> str:
    path = Path(path if isinstance(path, (str, Path)) and str(path) != "-" else "output.jsonl")
    return str(path.with_name(path.stem + ".out" + (path.suffix or ".jsonl")))


def is_ours(final: Path) -> bool:
    """Whether ``final`` (a summaries.jsonl) was written by ``summarizer run``: its first
    record ends with the ``run`` stamp every record of a run has (the last field of a
    record's line, after its text). An empty file holds nothing to lose."""
    tail = b""
    try:
        with final.open("rb") as handle:
            while not tail.endswith(b"\n"):
                chunk = handle.readline(_CHUNK_BYTES)  # one chunk at a time: a text can be 256 MB
                if not chunk:
                    break
                tail = (tail + chunk)[-_STAMP_BYTES:]
    except OSError:
        return False
    return not tail.strip() or _RUN_STAMP.search(tail) is not None


def read_manifest(outdir: Path) -> dict[str, list[str]]:
    """The names of the files of each kind (``txt``, ``parquet``) the last run wrote here."""
    try:
        data = loads_json((outdir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {kind: [n for n in names if isinstance(n, str) and _plain(n)]
            for kind, names in data.items() if isinstance(names, list)}


def _plain(name: str) -> bool:
    # A manifest is only trusted for names inside its own folder: a hand-edited "../x" is ignored.
    return name not in ("", ".", "..") and "/" not in name and "\\" not in name and "\0" not in name


def _write_manifest(outdir: Path, manifest: dict[str, list[str]]) -> None:
    _atomic_write(outdir / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")


def own_files(outdir: Path, manifest: dict[str, list[str]] | None = None) -> list[Path]:
    """Every file of the last run in ``outdir`` (its ``manifest``, read if not given): what
    ingest must not read as input."""
    manifest = read_manifest(outdir) if manifest is None else manifest
    return ([outdir / FINAL, outdir / MANIFEST, outdir / RUN_META]
            + [outdir / TXT / n for n in manifest.get(TXT, [])]
            + [outdir / PARQUET / n for n in manifest.get(PARQUET, [])])


def check_run_folder(outdir: Path, inputs: Sequence[str | Path], write_txt: bool, parquet: bool) -> None:
    """Raise :class:`OutputError` before a run starts if it would overwrite an input or a
    file it did not write."""
    final = outdir / FINAL
    manifest = read_manifest(outdir)
    for target in [*own_files(outdir, manifest), *(outdir / name for name in RUN_FILES)]:
        check_not_input(target, inputs, flag="the run's own file",
                        fix="Give another --output folder, or move the input out of this one first")
    if final.exists() and not final.is_file():
        raise OutputError(f"{str(final)!r} is not a file; remove it or give another --output folder.")
    if final.is_file() and not is_ours(final):
        raise OutputError(
            f"{str(final)!r} was not written by 'summarizer run' (its records have no 'run' field), and this run "
            "would replace it. Move it away, or give another --output folder."
        )
    for kind, wanted in ((TXT, write_txt), (PARQUET, parquet)):
        folder = outdir / kind
        if wanted and folder.exists() and not folder.is_dir():
            raise OutputError(
                f"{str(folder)!r} is a file, but --{kind} writes a folder there; move the file away or give "
                "another --output folder."
            )
    if parquet and (outdir / PARQUET).is_dir():
        ours = set(manifest.get(PARQUET, []))
        foreign = sorted(p.name for p in (outdir / PARQUET).iterdir() if _SHARD.fullmatch(p.name) and p.name not in ours)
        if foreign:
            raise OutputError(
                f"{str(outdir / PARQUET)!r} holds {', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}, "
                "which this tool did not write, and --parquet would replace them. Move them away, or give "
                "another --output folder."
            )


def write_extras(outdir: Path, records: Sequence, write_txt: bool, parquet_rows: int) -> None:
    """Write the .txt files and Parquet shards of a finished run; remove those of the last
    run that this one does not write again; then record what is there now."""
    manifest = read_manifest(outdir)
    try:
        if write_txt:
            manifest[TXT] = _write_txts(outdir / TXT, records, set(manifest.get(TXT, [])))
        if parquet_rows:
            manifest[PARQUET] = _write_shards(outdir / FINAL, outdir / PARQUET, parquet_rows,
                                              set(manifest.get(PARQUET, [])))
        _write_manifest(outdir, manifest)
    except OSError as exc:
        raise write_error(exc, Path(exc.filename or outdir),
                          f"{outdir / FINAL} is complete; run the same command again to write the rest") from exc


def run_meta(final: Path) -> dict:
    """What the model did in the run whose output is ``final``, over every finished record in
    it (those reused from an earlier run too): :func:`summarizer.evaluation.faithfulness.model_summary`
    of the summaries against their own text (sentences, verbatim share, repeats, summary words /
    extract words), plus the mean novel n-gram shares and the shares of numbers and entity-like
    spans found in the text. Failed records and records without a summary are left out. Surface
    checks only (regular expressions), read line by line: cheap next to any stage."""
    # Not rouge-score or nltk: .words is the plain tokenizer (see summarizer/evaluation/words.py).
    from .evaluation.faithfulness import NGRAM_SIZES, measure, model_summary, record_extract

    rows = []
    with final.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                data = loads_json(line)
            except ValueError:
                continue
            if not isinstance(data, dict) or data.get("error") is not None:
                continue
            summary, text = data.get("summary"), data.get("text")
            if not isinstance(summary, str) or not summary.strip() or not isinstance(text, str):
                continue
            rows.append(measure(summary, text, record_extract(data)))

    def mean(key: str) -> float | None:
        present = [row[key] for row in rows if row.get(key) is not None]
        return sum(present) / len(present) if present else None

    def present(key: str) -> int:
        return sum(row.get(key) is not None for row in rows)

    return {
        **model_summary(rows),
        "summary_words": mean("summary_words"),
        "extract_words": mean("extract_words"),
        **{f"novel_{n}": mean(f"novel_{n}") for n in NGRAM_SIZES},
        "numbers_in_source": mean("numbers_share"),
        "documents_with_numbers": present("numbers_share"),
        "entities_in_source": mean("entities_share"),
        "documents_with_entities": present("entities_share"),
    }


def write_run_meta(outdir: Path, meta: dict) -> None:
    """Write ``outdir/.summarizer-run`` whole (or not at all)."""
    _atomic_write(outdir / RUN_META, json.dumps(meta, ensure_ascii=False, indent=1) + "\n")


def _write_txts(folder: Path, records: Sequence, ours: set[str]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    used: dict[str, str] = {}
    written: list[str] = []
    for record in records:
        if record.summary is None:
            continue
        name = safe_filename(record.id)
        # On case-insensitive file systems (macOS, Windows) "A" and "a" are one file; and a
        # user's own file is never overwritten.
        key = unicodedata.normalize("NFC", name).casefold()
        taken = used.setdefault(key, record.id) != record.id
        if taken or ((folder / f"{name}.txt").exists() and f"{name}.txt" not in ours):
            name = f"{safe_filename(record.id, room=13)}-{_id_digest(record.id)}"
        _atomic_write(folder / f"{name}.txt", record.summary + "\n")
        written.append(f"{name}.txt")
    for stale in ours - set(written):
        (folder / stale).unlink(missing_ok=True)  # a document that failed this time, or is gone
    return written


def safe_filename(doc_id: str, room: int = 0) -> str:
    """A file name made from an id that cannot leave its folder (no separators, no ``..``),
    fits a file system's 255 bytes with a ``.txt`` suffix, and that no other id maps to: an
    id that had to be changed (``a/b`` -> ``a_b``) gets a hash of itself appended, so
    ``a/b`` and ``a_b`` stay two files. ``room`` keeps that many more bytes free.

    >>> safe_filename("bridge"), safe_filename("../etc/passwd")
    ('bridge', '_etc_passwd-7fef78f53440')
    """
    budget = MAX_NAME_BYTES - len(".txt") - len(".tmp") - room
    name = "".join(c if c.isalnum() or c in "-_.~" else "_" for c in doc_id).strip(".")
    if name == doc_id and name and len(name.encode("utf-8")) <= budget:
        return name
    return f"{_truncate(name, budget - 13) or '_'}-{_id_digest(doc_id)}"


def _truncate(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    return text.encode("utf-8")[:max(max_bytes, 0)].decode("utf-8", errors="ignore")


def _id_digest(doc_id: str) -> str:
    return hashlib.sha256(doc_id.encode("utf-8", errors="surrogatepass")).hexdigest()[:12]


def _atomic_write(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a full disk leaves the old file, not a torn one."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8", errors="backslashreplace")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# Columns of the Parquet shards: the record's fields a reader of summaries wants, flat; the
# nested ones (meta, warnings, trace) as JSON text, so every shard has one schema.
SHARD_COLUMNS = ("id", "summary", "fallback", "error", "reference", "generation")
SHARD_JSON_COLUMNS = ("meta", "warnings", "trace")


def _write_shards(final: Path, folder: Path, rows_per_shard: int, ours: set[str]) -> list[str]:
    """Write the records of ``final`` to ``folder/part-00000.parquet``, ...,
    ``rows_per_shard`` each, in input order, reading it line by line. Each shard is built
    under a hidden name (which Parquet readers skip) and renamed into place; shards of the
    last run beyond this run's count are removed; nothing else in ``folder`` is touched."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, pa.bool_() if c == "fallback" else pa.string()) for c in SHARD_COLUMNS]
                       + [(c, pa.string()) for c in SHARD_JSON_COLUMNS])
    folder.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    rows: list[dict] = []

    def flush() -> None:
        name = f"part-{len(names):05d}.parquet"
        building = folder / f".{name}.tmp"
        try:
            pq.write_table(pa.Table.from_pylist(rows, schema=schema), building)
            os.replace(building, folder / name)
        except BaseException:
            building.unlink(missing_ok=True)
            raise
        names.append(name)
        rows.clear()

    with final.open(encoding="utf-8") as lines:
        for line in lines:
            data = json.loads(line)
            row = {c: data.get(c) for c in SHARD_COLUMNS}
            row["fallback"] = bool(row["fallback"])
            row.update({c: json.dumps(data.get(c), ensure_ascii=False) for c in SHARD_JSON_COLUMNS})
            rows.append(row)
            if len(rows) == rows_per_shard:
                flush()
    if rows or not names:
        flush()
    for stale in ours - set(names):
        (folder / stale).unlink(missing_ok=True)
    return names

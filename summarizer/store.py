"""The output folder of ``summarizer run``: written as it goes, resumable, one run at a time.

    OUTDIR/summaries.jsonl          a finished run: one record per input document, in input order
    OUTDIR/summaries.jsonl.partial  records appended as they finish (each flushed at once and
                                    fsynced within a second): what a killed run leaves behind
    OUTDIR/.summarizer.lock         held while a run writes here; the operating system releases
                                    it when the process ends, however it ends

Every record a run writes carries ``run = {"content_hash", "fingerprint", "run_id"}``: a hash
of its text and reference, the pipeline settings'
:meth:`~summarizer.config.PipelineConfig.fingerprint`, and the run that computed it. A later
run on the same folder reuses a finished record (no ``error``) from either file when its id,
content hash and fingerprint all match, and computes the rest. The final file is assembled
in input order into a temporary file and renamed over ``summaries.jsonl``, so that file is
always a complete run, the previous one or the new one, never a mix or a torn write.

    >>> with RunFolder(outdir, fingerprint, resume=True) as folder:  # doctest: +SKIP
    ...     for record in documents:
    ...         if folder.reuse(record) is None:
    ...             folder.add(summarize(record))
    ...     folder.finalize([r.id for r in documents])
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError, why_not_written
from .records import Record, loads_json

log = logging.getLogger("summarizer")

FINAL = "summaries.jsonl"
PARTIAL = FINAL + ".partial"
LOCK = ".summarizer.lock"
TMP = FINAL + ".tmp"
# The folder's own files besides the final one: never an input.
RUN_FILES = (PARTIAL, TMP, LOCK)
# A kill (even -9) loses nothing already flushed: the operating system holds it. fsync only
# protects against a power cut or a kernel crash, and costs milliseconds per call (2.7 ms on
# this project's machine, as much as a lead3 summary), so a background thread pays it at most
# once a second for whatever was written since, also while the pipeline is busy for minutes.
FSYNC_SECONDS = 1.0


def content_hash(record: Record) -> str:
    """What a summary depends on in the document itself: its text and its reference."""
    blob = json.dumps([record.text, record.reference], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True)
class _Line:
    file: str  # FINAL or PARTIAL
    offset: int
    length: int


class RunFolder:
    """The output folder of one run; use as a context manager (it holds the folder's lock)."""

    def __init__(self, outdir: str | Path, fingerprint: str, resume: bool = True):
        self.outdir = Path(outdir)
        self.fingerprint = fingerprint
        self.resume = resume
        self.run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{os.getpid()}"
        self.final = self.outdir / FINAL
        self.partial = self.outdir / PARTIAL
        # Reusable records of earlier runs, by (id, content hash, fingerprint): an id can have
        # one in the final file and another, made with other settings, in the partial one.
        self._finished: dict[tuple[str, str, str], tuple[_Line, Record]] = {}
        self._chosen: dict[str, _Line] = {}  # where each document of this run is now
        self.unreadable_lines = 0
        self._out = None
        self._lock = None
        self._dirty = False
        self._stop = threading.Event()
        self._syncer: threading.Thread | None = None

    def __enter__(self) -> "RunFolder":
        self._lock = lock_folder(
            self.outdir, LOCK,
            busy=f"output folder {str(self.outdir)!r} is in use by another 'summarizer run' (it holds "
                 f"{self.outdir / LOCK}). Wait for that run to end, or give another --output folder; "
                 "if no other run is going, the lock is free again as soon as its process has exited.",
            then="give a folder you can write to with --output")
        try:
            if self.resume:
                self._index(self.final, FINAL)
                end = self._index(self.partial, PARTIAL)
                if self.partial.exists() and self.partial.stat().st_size > end:
                    os.truncate(self.partial, end)  # a line torn by a kill: cut it before appending
                if self.unreadable_lines:
                    log.warning("%d line(s) of the earlier output in %s are not valid JSON; their documents "
                                "are computed again", self.unreadable_lines, self.outdir)
            else:
                self.partial.unlink(missing_ok=True)
            (self.outdir / TMP).unlink(missing_ok=True)
            self._out = self.partial.open("ab")
            self._syncer = threading.Thread(target=self._sync_every_second, name="summarizer-fsync", daemon=True)
            self._syncer.start()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self._close_partial()
        finally:
            self._lock.release()

    def reuse(self, record: Record) -> Record | None:
        """Stamp ``record.run``; return a light copy of the earlier finished record to reuse
        (id, reference, summary, fallback, warnings), or None when it must be computed."""
        record.run = {"content_hash": content_hash(record), "fingerprint": self.fingerprint, "run_id": self.run_id}
        hit = self._finished.get((record.id, record.run["content_hash"], self.fingerprint))
        if hit is None:
            return None
        self._chosen[record.id] = hit[0]
        return hit[1]

    def reusable(self) -> set[tuple[str, str]]:
        """(id, content hash) of every earlier record :meth:`reuse` would return: what a
        worker elsewhere can skip without asking."""
        return {(doc_id, digest) for doc_id, digest, fingerprint in self._finished if fingerprint == self.fingerprint}

    def add(self, record: Record) -> None:
        """Append a computed record to the partial file (flushed now, fsynced within a second)."""
        # backslashreplace: a lone surrogate becomes the JSON escape \udXXX, which reads back as
        # the same string, instead of an error that would stop the run.
        line = (record.to_json() + "\n").encode("utf-8", errors="backslashreplace")
        offset = self._out.tell()
        try:
            self._out.write(line)
            self._out.flush()
        except OSError as exc:
            # Cut what part of the line got through, so the partial file ends in a whole record.
            self._out.close()
            os.truncate(self.partial, offset)
            raise write_error(exc, self.partial, "finished documents are kept there; run the same command "
                              "again to continue") from exc
        self._dirty = True
        self._chosen[record.id] = _Line(PARTIAL, offset, len(line))

    def finalize(self, order: list[str]) -> Path:
        """Write ``summaries.jsonl``: the records of ``order`` (every id was reused or added),
        in that order, atomically; then drop the partial file."""
        self._close_partial()
        tmp = self.outdir / TMP
        sources = {}
        try:
            with tmp.open("wb") as out:
                for doc_id in order:
                    line = self._chosen[doc_id]
                    if line.file not in sources:
                        sources[line.file] = (self.outdir / line.file).open("rb")
                    source = sources[line.file]
                    source.seek(line.offset)
                    out.write(source.read(line.length))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.final)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise write_error(exc, self.final, f"every finished record is kept in {self.partial}; run the same "
                              "command again to finish") from exc
        finally:
            for source in sources.values():
                source.close()
        _fsync_folder(self.outdir)
        self.partial.unlink(missing_ok=True)
        return self.final

    def _sync_every_second(self) -> None:
        while not self._stop.wait(FSYNC_SECONDS):
            if self._dirty:
                self._dirty = False  # before the fsync: a write after this point sets it again
                try:
                    os.fsync(self._out.fileno())
                except (OSError, ValueError):
                    return  # a full disk or a closed file: the next write or the close reports it

    def _close_partial(self) -> None:
        if self._syncer is not None:
            self._stop.set()
            self._syncer.join()
            self._syncer = None
        if self._out is not None and not self._out.closed:
            try:
                self._out.flush()
                os.fsync(self._out.fileno())
            except OSError as exc:
                raise write_error(exc, self.partial, "run the same command again to continue") from exc
            finally:
                self._out.close()

    def _index(self, path: Path, name: str) -> int:
        """Index the reusable records of ``path``; return where its last complete line ends."""
        if not path.is_file():
            return 0
        offset = end = 0
        with path.open("rb") as handle:
            for line in handle:
                start, offset = offset, offset + len(line)
                if not line.endswith(b"\n"):
                    break  # torn by a kill mid-write
                end = offset
                try:
                    data = loads_json(line)
                except ValueError:
                    self.unreadable_lines += 1
                    continue
                run = data.get("run") if isinstance(data, dict) else None
                if not isinstance(run, dict) or data.get("error") is not None or "id" not in data:
                    continue
                key = (str(data["id"]), run.get("content_hash"), run.get("fingerprint"))
                self._finished[key] = (_Line(name, start, len(line)), _light(data))
        return end


def lock_folder(folder: Path, name: str, busy: str, then: str):
    """Create ``folder`` and take its lock file ``name`` without waiting (one writer at a time:
    a run's output folder, a fine-tuning folder); the lock, to release. ``busy``: the message
    when another process holds it; ``then``: what to do when the folder cannot be written."""
    from filelock import FileLock, Timeout

    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(folder / name), timeout=0)
        lock.acquire()
    except Timeout:
        raise OutputError(busy) from None
    except OSError as exc:
        raise write_error(exc, folder, then) from exc
    return lock


def write_error(exc: OSError, path: Path | str, then: str) -> OutputError:
    """A failed write as a sentence: what could not be written, why, and what to do."""
    return OutputError(f"cannot write {str(path)!r} ({why_not_written(exc)}); {then}.")


def _light(data: dict) -> Record:
    return Record(id=str(data["id"]), text="", reference=data.get("reference"), summary=data.get("summary"),
                  fallback=bool(data.get("fallback")), warnings=list(data.get("warnings") or []))


def _fsync_folder(path: Path) -> None:
    """Make a rename inside ``path`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

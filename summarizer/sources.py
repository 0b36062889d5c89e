"""Discovery: which files (and dataset folders) the inputs name, in reading order, before any is read.

    >>> [source.doc_id for source in plan(["examples/articles"])]  # doctest: +SKIP
    ['01_city_bikes', '02_harbour_storm', ...]

Folders are listed recursively here, links followed or refused, the run's own output left
out, and each file given its id; :func:`unreadable` says, when a file is about to be read,
why it must not be (a broken link, a loop, a pipe found in a folder).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import InputError
from .filetext import PDF_ADVICE, clean, os_reason

log = logging.getLogger("summarizer")

DOCUMENT_SUFFIXES = {".txt", ".md", ".html", ".htm"}
TABLE_SUFFIXES = {".json", ".jsonl", ".csv", ".parquet"}
SUPPORTED_SUFFIXES = DOCUMENT_SUFFIXES | TABLE_SUFFIXES
# Documents a user plausibly meant to summarize but that need converting first: in a folder
# they become failed records (counted, and the message says how), not silently skipped files.
CONVERT_SUFFIXES = {
    ".pdf": PDF_ADVICE,
    ".doc": "Word document: convert it to text first, e.g. `libreoffice --convert-to txt FILE.doc`",
    ".docx": "Word document: convert it to text first, e.g. `pandoc FILE.docx -t plain -o FILE.txt`",
    ".odt": "OpenDocument text: convert it to text first, e.g. `pandoc FILE.odt -t plain -o FILE.txt`",
    ".epub": "EPUB book: convert it to text first, e.g. `pandoc FILE.epub -t plain -o FILE.txt`",
}


@dataclass
class Source:
    """One file (or dataset folder) to read, found before any record is made."""

    path: Path
    doc_id: str
    in_folder: bool = False  # found by listing a folder, not named by the user
    dataset: bool = False
    problem: str | None = None  # known to be unreadable already (a folder that cannot be listed)


def plan(inputs: Iterable[str | Path], exclude: Iterable[str | Path] = (),
         follow_links: bool = True) -> list[Source]:
    """The files (and dataset folders) to read, in reading order; nothing is read yet."""
    excluded = {os.path.realpath(p) for p in exclude}
    return [source for raw in inputs for source in _plan(raw, excluded, follow_links)]


def _plan(raw: str | Path, excluded: set[str], follow_links: bool = True) -> list[Source]:
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
        return [Source(path, clean(path.stem))]
    if (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file():
        return [Source(path, "", dataset=True)]
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


def _list_folder(root: Path, excluded: set[str], follow_links: bool = True) -> tuple[list[Source], Counter[str]]:
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
                raise InputError(f"folder {top!r} cannot be read ({os_reason(exc)}).") from exc
            where = Path(dirpath)
            found.append((where.relative_to(root).parts, where, f"cannot list this folder ({os_reason(exc)}); "
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
        sources.append(Source(file, clean(doc_id), in_folder=True, problem=problem))
    return sources, skipped


def unreadable(path: Path, in_folder: bool) -> str | None:
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
        return f"cannot read the file ({os_reason(exc)})"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if in_folder and not stat.S_ISREG(mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        return f"not a regular file but {kind}; it was not opened (reading it could wait forever)"
    return None

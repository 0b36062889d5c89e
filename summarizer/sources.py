"""Discovery: which files (and dataset folders) the inputs name, in reading order, before any is read.

    >>> [source.doc_id for source in plan(["examples/articles"])]  # doctest: +SKIP
    ['01_city_bikes', '02_harbour_storm', ...]

Folders are listed recursively here, links followed or refused, the run's own output left
out, and each file given its id; a folder laid out as ``articles/`` and ``summaries/`` (the
BBC News Summary layout, common in summarization data) is read as its articles, each with
the summary of the same relative path as its reference; :func:`unreadable` says, when a file is about to be read,
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
    reference: Path | None = None  # the file holding this document's reference summary


# A folder with exactly these two subfolders (and no documents beside them) holds articles
# and their reference summaries, matched by relative path. Summarizing it whole would treat
# the references as articles, so it is read as pairs instead.
ARTICLES_FOLDER = "articles"
SUMMARIES_FOLDER = "summaries"


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
    pairs = paired_layout(path, excluded)
    if pairs is not None:
        return _plan_pairs(raw, *pairs, excluded, follow_links)
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


def paired_layout(folder: Path, excluded: Iterable[str] = ()) -> tuple[Path, Path] | None:
    """``(articles, summaries)`` when ``folder`` holds ``articles/`` and ``summaries/`` and no
    documents beside them (``excluded`` real paths, a run's own files, do not count); None
    otherwise. Other folders beside the two do not stop the layout: they are named in a
    warning, as they are not read."""
    excluded = set(excluded)
    articles, summaries = folder / ARTICLES_FOLDER, folder / SUMMARIES_FOLDER
    if not (articles.is_dir() and summaries.is_dir()):
        return None
    try:
        entries = [entry for entry in os.scandir(folder) if entry.name not in (ARTICLES_FOLDER, SUMMARIES_FOLDER)]
    except OSError:
        return None
    others = []
    for entry in entries:
        real = os.path.realpath(entry.path)
        if entry.is_dir():
            # A run's output folder inside the input holds excluded files: not the user's data.
            if not any(path.startswith(real + os.sep) for path in excluded):
                others.append(entry.name + "/")
        elif Path(entry.name).suffix.lower() in SUPPORTED_SUFFIXES and real not in excluded:
            return None  # documents beside the two: not this layout; read it all, as ever
    if others:
        log.warning("%s: the folder(s) %s beside %s/ and %s/ are not read; give them as inputs of their own "
                    "to summarize them", folder, ", ".join(sorted(others)), ARTICLES_FOLDER, SUMMARIES_FOLDER)
    return articles, summaries


def _plan_pairs(raw: str | Path, articles: Path, summaries: Path, excluded: set[str],
                follow_links: bool) -> list[Source]:
    """The articles of a paired folder, each with the summary file of its relative path."""
    sources, skipped = _list_folder(articles, excluded, follow_links)
    if not sources:
        raise InputError(f"folder {str(articles)!r} has no articles to summarize (looked for "
                         f"{', '.join(sorted(DOCUMENT_SUFFIXES))}); give the folder that holds them.")
    found = {source.doc_id: source for source in sources}
    for source in sources:
        if source.problem is None and source.in_folder:
            candidate = summaries / source.path.relative_to(articles)
            if candidate.is_file():
                source.reference = candidate
    references, _ = _list_folder(summaries, excluded, follow_links)
    orphans = [ref.doc_id for ref in references if ref.doc_id not in found]
    paired = sum(source.reference is not None for source in sources)
    log.info("%s holds %s/ and %s/: summarizing the %d article(s) in %s/, with the summary of the same name "
             "as each one's reference (%d found).", raw, ARTICLES_FOLDER, SUMMARIES_FOLDER, len(sources),
             ARTICLES_FOLDER, paired)
    if paired < len(sources):
        log.warning("%s: %d article(s) have no summary in %s/ (their records have no reference)",
                    raw, len(sources) - paired, SUMMARIES_FOLDER)
    if orphans:
        log.warning("%s: %d summary file(s) in %s/ have no article of the same name, e.g. %s; they are not read",
                    raw, len(orphans), SUMMARIES_FOLDER, ", ".join(repr(o) for o in orphans[:3]))
    if skipped:
        log.warning("%s: skipped %d file(s) of types that are not read: %s", articles, sum(skipped.values()),
                    ", ".join(f"{suffix} ({n})" for suffix, n in skipped.most_common()))
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

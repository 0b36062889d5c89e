"""Names that become file names, and writing inside an output folder only.

    >>> check_name("cnndm", "dataset")                                  # doctest: +SKIP
    >>> with Staged(Path("build/eval")) as files:                     # doctest: +SKIP
    ...     files.text(Path("build/eval/report.md"), "# ...")

A suite's dataset and pipeline names become folders (``OUT/<dataset>/runs/<pipeline>``), so
they must be plain names (:data:`NAME_RULE`); and whatever the names, every path written is
checked to resolve inside the output folder (:func:`inside`). Files are written to temporary
files beside their targets and renamed into place together (:class:`Staged`), so a failure (a
full disk, a kill) never leaves a half-written report, nor half of a new one beside half of
the old; operating-system errors become :class:`OutputError` sentences naming the folder and
the fix.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import quote

from ..errors import ConfigError, OutputError

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_RULE = ("1 to 64 characters: letters A-Z a-z, digits, '.', '_' and '-', starting with a letter "
             "or a digit")
TEMP_SUFFIX = ".tmp"


def check_name(name: object, what: str) -> str:
    """``name`` if it is a plain file name by :data:`NAME_RULE`, else a ConfigError."""
    # fullmatch, not match with "$": "$" also matches before a trailing newline.
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ConfigError(f"{what} name {name!r} is not a plain name; names become folder names, so they must be "
                          f"{NAME_RULE} (no '/', '\\', ':' or spaces). Rename it, e.g. to "
                          f"{_suggest(name)!r}.")
    return name


def _suggest(name: object) -> str:
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._-")[:64]
    return plain or "name1"


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved, if it lies inside ``root`` (links followed); else an OutputError.

    The names are checked when a suite loads; this is the second line, for names from
    elsewhere and for links inside the output folder that point out of it.
    """
    top = Path(root).resolve()
    resolved = Path(path).resolve()
    if resolved != top and not resolved.is_relative_to(top):
        raise OutputError(f"refusing to write {str(path)!r}: it resolves to {str(resolved)!r}, outside the output "
                          f"folder {str(root)!r}. Use plain names, and remove any link there that points out of it.")
    return resolved


def output_error(exc: OSError, folder: Path) -> OutputError:
    """An operating-system error while writing into ``folder``, as a sentence with the fix."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(f"cannot write to {str(folder)!r}: the disk is full ({reason}). Free some space, or give "
                           "an output folder on another disk with --output.")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST) or isinstance(exc, (FileExistsError, NotADirectoryError)):
        return OutputError(f"cannot use {str(folder)!r} as the output folder: it, or a folder above it, is a file "
                           f"({reason}). Give a folder (created if missing) with --output.")
    return OutputError(f"cannot write to the output folder {str(folder)!r} ({reason}); give a folder you can "
                       "write to with --output.")


def make_folder(folder: Path, root: Path | None = None) -> Path:
    """Create ``folder`` (and its parents) inside ``root`` (default: itself)."""
    inside(root if root is not None else folder, folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, folder) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        # Fail before any work rather than after the last document.
        raise output_error(PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder)), folder)
    return folder


class Staged:
    """Files written together inside ``root``: each to a temporary file beside its target,
    all renamed into place only once every one is complete. A failure before that (a full
    disk, an error while rendering, a kill) leaves every earlier file as it was::

        with Staged(outdir) as files:
            files.text(outdir / "report.md", text)
            files.write(outdir / "table.csv", lambda path: frame.to_csv(path))
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self._pending: list[tuple[Path, Path]] = []

    def write(self, path: Path, write: Callable[[Path], object]) -> Path:
        """Have ``write(temporary path)`` write the file that becomes ``path``."""
        inside(self.root, path)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            # O_EXCL: never write through a file or link put there; 0o666 so that the file gets
            # the umask's permissions, as a plain open() would give it.
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            self._pending.append((temporary, path))
            write(temporary)
        except OSError as exc:
            raise output_error(exc, path.parent) from exc
        return path

    def text(self, path: Path, text: str) -> Path:
        return self.write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))

    def __enter__(self) -> "Staged":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is None:
                for temporary, path in self._pending:
                    try:
                        os.replace(temporary, path)
                    except OSError as error:
                        raise output_error(error, path.parent) from error
        finally:
            for temporary, _ in self._pending:
                _unlink(temporary)
            self._pending.clear()


def remove_temporary(folder: Path, names: Iterable[str]) -> None:
    """Remove the temporary files a killed earlier write of ``names`` left in ``folder``."""
    for name in names:
        for leftover in folder.glob(f".{name}.*{TEMP_SUFFIX}"):
            _unlink(leftover)


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass  # the error being reported matters more than a leftover temporary file


def relative_href(*segments: str) -> str | None:
    """A link relative to the page, from path segments; None when a segment could climb out
    (``..``) or is empty. Every character but letters, digits and ``-._~`` is %-escaped, so a
    segment can never be read as a scheme (``javascript:``), a host (``//``) or a query."""
    if any(segment in ("", ".", "..") for segment in segments):
        return None
    return "/".join(quote(segment, safe="") for segment in segments)

"""What every command shares: the library's errors turned into click errors."""

from __future__ import annotations

import functools
import logging
import re

import click

from .errors import SummarizerError


def library_errors(func):
    """Turn the library's own errors into click errors (the message, exit code 1)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except SummarizerError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


# Control characters (C0, C1, DEL) and the line and paragraph separators: an id or a summary
# from a hostile file could move the cursor, recolour or clear the terminal, or fake a line.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str | None, lines: bool = False) -> str:
    """``text`` safe to print on a terminal: control characters shown as escapes
    (``\\x1b``, ``\\n``); with ``lines``, line ends are kept.

    >>> printable("a\\x1b[2Jb\\nc")
    'a\\\\x1b[2Jb\\\\nc'
    """
    if text is None:
        return ""

    def escape(match: re.Match) -> str:
        char = match.group()
        return char if lines and char == "\n" else char.encode("unicode_escape").decode("ascii")

    return _UNPRINTABLE.sub(escape, text)


class PrintableFormatter(logging.Formatter):
    """Log lines with :func:`printable` applied (a message's own line ends kept)."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), lines=True)

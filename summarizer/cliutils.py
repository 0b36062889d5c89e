"""What every command shares: the library's errors turned into click errors."""

from __future__ import annotations

import functools

import click


def library_errors(func):
    """Turn the library's own errors into click errors (the message, exit code 1)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .errors import SummarizerError

        try:
            return func(*args, **kwargs)
        except SummarizerError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper

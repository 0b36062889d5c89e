"""The library's own exceptions.

The library raises these; only the CLI turns them into click errors. Every message names
the bad value, the valid choices where there are any, and how to fix it.
"""


class SummarizerError(Exception):
    """Base class of every error the library raises on purpose."""


class ConfigError(SummarizerError):
    """A pipeline file or a --set override is wrong."""


class InputError(SummarizerError):
    """An input path or table cannot be used as a whole (per-document problems are recorded
    in the record's ``error`` field instead)."""


class ModelError(SummarizerError):
    """A model specification cannot be resolved or loaded."""


class OutputError(SummarizerError):
    """The output folder cannot be used: another run holds it, or it cannot be written."""

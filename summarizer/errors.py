"""The library's own exceptions, and the words for a failed write.

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


def why_not_written(exc: OSError) -> str:
    """What an operating-system error on a write means for the user, with the fix."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full: free some space, or write to another disk"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is not writable: check its permissions, or give another output folder"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a file is in the way where a folder is needed: move it, or give another output folder"
    return exc.strerror or str(exc)

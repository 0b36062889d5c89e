"""Small results kept between processes, under the model cache (``$SUMMARIZER_CACHE``).

What a run computes once per process from a large file (a 250 MB file's digest, the
candidate head's token ids out of a 262k-token vocabulary) is kept here under a name made of
the file's path, size and modification time and whatever else the result depends on, so a
changed file is never answered from an old result. Entries are written whole under another
name and renamed into place (a reader never sees half of one); a cache that cannot be read
or written only means computing again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def entry(kind: str, file: str | Path, *depends, suffix: str = "") -> Path | None:
    """The place of the result of kind ``kind`` for ``file`` as it is now (and the values
    ``depends``); None when the file cannot be looked at."""
    from .models import cache_dir

    try:
        path = Path(file).resolve()
        stat = path.stat()
    except OSError:
        return None
    key = ":".join([str(path), str(stat.st_size), str(stat.st_mtime_ns), *map(repr, depends)])
    return cache_dir() / kind / (hashlib.sha256(key.encode()).hexdigest()[:32] + suffix)


def read(place: Path | None) -> bytes | None:
    if place is None:
        return None
    try:
        return place.read_bytes()
    except OSError:
        return None


def write(place: Path | None, data: bytes) -> None:
    if place is None:
        return
    try:
        place.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=place.parent, prefix=".tmp-")
    except OSError:  # a read-only cache: compute again next time
        return
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, place)
    except OSError:
        Path(tmp).unlink(missing_ok=True)

"""A model folder's tokenizer, read straight from its tokenizer.json.

``AutoTokenizer.from_pretrained`` takes 4-7 s for the embedded model's tokenizer on a 2-core
CPU: the auto classes' import scan of transformers' model folders, then GemmaTokenizer parses
the 33 MB tokenizer.json in Python (three times) to rebuild, in Python, the pipeline that the
file already holds. Read by the tokenizers library itself (once, in Rust) and wrapped in the
generic class, the same file gives the same tokenizer in about 1.5 s: the same backend, vocabulary,
added and special tokens, settings and outputs (tests/test_models.py compares them in every
respect on the tiny test models, tests/test_quickstart.py on the embedded one). Folders this
module does not know (another tokenizer class, older file formats, remote code) return None:
the caller uses AutoTokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path

# Tokenizer classes that a folder's tokenizer.json alone defines. GemmaTokenizer only where this
# package wrote the folder (a converted GGUF): its tokenizer.json was saved from a GemmaTokenizer,
# so it holds exactly the pipeline that class rebuilds.
_JSON_CLASSES = {"TokenizersBackend", "PreTrainedTokenizerFast"}
# class -> where it differs from the generic class: the file arguments it lacks (None in
# init_kwargs, where its own from_pretrained leaves no key), its class attributes
_JSON_CLASSES_CONVERTED = {"GemmaTokenizer": (("vocab_file",), {"padding_side": "left"})}
# Files of older formats that AutoTokenizer reads as well: their folders take its way.
_LEGACY_TOKENIZER_FILES = ("special_tokens_map.json", "added_tokens.json", "tokenizer.model")


def load(location: str, light: bool = True):
    """The tokenizer of a local folder read straight from its tokenizer.json (see above), or
    None when the folder needs AutoTokenizer. For a folder this package converted, ``light``
    gives the tokenizer of :mod:`summarizer.light_tokenizer` (no transformers import) once
    its facts are kept: the first load here keeps them."""
    folder = Path(location)
    if not (folder / "tokenizer.json").is_file() or not (folder / "tokenizer_config.json").is_file():
        return None
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = config.get("tokenizer_class")
    if not (name in _JSON_CLASSES or (name in _JSON_CLASSES_CONVERTED and (folder / _marker()).is_file())):
        return None
    if "auto_map" in config or any((folder / f).exists() for f in _LEGACY_TOKENIZER_FILES):
        return None
    converted = (folder / _marker()).is_file()
    from . import light_tokenizer  # imported here: it reads this module's compact copy

    if converted and light and (fast := light_tokenizer.load(location)) is not None:
        return fast
    added = None if "added_tokens_decoder" in config else added_tokens(folder / "tokenizer.json")
    from transformers.tokenization_utils_tokenizers import TokenizersBackend

    extra = {} if added is None else {"added_tokens_decoder": added}
    compact = compact_copy(folder / "tokenizer.json") if converted else None
    if compact is not None:
        extra["tokenizer_file"] = str(compact)
    tokenizer = TokenizersBackend.from_pretrained(location, trust_remote_code=False, **extra)
    if converted and compact is None:
        write_compact_copy(folder / "tokenizer.json")
    unused, attributes = _JSON_CLASSES_CONVERTED.get(name, ((), {}))
    for key in unused:
        if tokenizer.init_kwargs.get(key, "") is None:
            del tokenizer.init_kwargs[key]
    for key, value in attributes.items():
        setattr(tokenizer, key, value)
    if converted and light:
        light_tokenizer.remember(location, tokenizer)
    return tokenizer


# The tokenizers library reads a BPE model's merges about twice as fast written as "a b" strings
# (its older format) as written as ["a", "b"] pairs (what it writes today): for Gemma's 514,906
# merges, 0.7 s against 1.1 s of a one-document run. Where no merged piece holds a space, both
# say the same thing; the copy is kept only when the library reads it back as the very same
# tokenizer.
COMPACT = "merges-as-strings-1"


def compact_copy(file: Path) -> Path | None:
    """The kept copy of ``file`` with its merges as strings, None when there is none."""
    from . import diskcache

    place = diskcache.entry("tokenizers", file, COMPACT, suffix=".json")
    return place if place is not None and place.is_file() else None


def write_compact_copy(file: Path) -> bool:
    """Keep the copy (once per file: about 3 s); False when the file does not allow one."""
    from tokenizers import Tokenizer

    from . import diskcache

    place = diskcache.entry("tokenizers", file, COMPACT, suffix=".json")
    if place is None:
        return False
    import logging

    logging.getLogger("summarizer").info("Keeping a faster-loading copy of %s (once, a few seconds) ...", file)
    try:
        original = file.read_text(encoding="utf-8")
        data = json.loads(original)
        model = data.get("model") or {}
        merges = model.get("merges")
        if model.get("type") != "BPE" or not merges or not all(
                isinstance(m, list) and len(m) == 2 and all(isinstance(p, str) and p and " " not in p for p in m)
                for m in merges):
            return False
        model["merges"] = [f"{a} {b}" for a, b in merges]
        text = json.dumps(data, ensure_ascii=False)
        if Tokenizer.from_str(text).to_str() != Tokenizer.from_str(original).to_str():
            return False
    except (OSError, ValueError, Exception):  # the tokenizers library raises its own error type
        return False
    diskcache.write(place, text.encode("utf-8"))
    return place.is_file()


def added_tokens(path: Path):
    """tokenizer.json's ``added_tokens`` as the ``added_tokens_decoder`` that transformers
    builds from them, parsed alone: transformers would parse the whole 33 MB file in Python
    for them (1 s). The tokenizers library writes them near the start of the file; None when
    they are not found there (then transformers reads them itself)."""
    from tokenizers import AddedToken

    decoder = json.JSONDecoder()
    with path.open(encoding="utf-8") as handle:
        text = handle.read(4 << 20)
        for attempt in range(2):
            key = text.find('"added_tokens"')
            start = text.find("[", key) if key >= 0 else -1
            if start >= 0 and not text[key + len('"added_tokens"') : start].strip(" \n\t:"):
                try:
                    entries, _ = decoder.raw_decode(text, start)
                    break
                except ValueError:
                    pass
            if attempt == 0:
                text += handle.read()  # a longer list than expected: read the rest
        else:
            return None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("id"), int) for e in entries):
        return None
    try:
        return {entry["id"]: AddedToken(**{k: v for k, v in entry.items() if k != "id"}) for entry in entries}
    except TypeError:  # a field this tokenizers version lacks
        return None


def _marker() -> str:
    from .models import MARKER  # the file that marks a folder this package converted

    return MARKER

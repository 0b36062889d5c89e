"""A converted model's tokenizer on the tokenizers library alone, without importing transformers.

    >>> tokenizer = light_tokenizer.load(folder)  # doctest: +SKIP  (None: use tokenizer_json.load)
    >>> tokenizer(["Rain.", "Rain fell."], return_tensors="pt", padding=True)["input_ids"]  # doctest: +SKIP

A one-document run spends 0.7 s importing transformers for nothing but its tokenizer class
(bench/quickstart.py; the model's forward is summarizer/gemma3.py's, plain torch). The class
only wraps a ``tokenizers.Tokenizer``: for the calls a run makes (encode a text or a batch, pad
on the left into tensors, decode) the Rust tokenizer alone gives the same ids and texts.

Exact by construction, not by imitation: the first load of a converted folder goes through
transformers (:func:`summarizer.tokenizer_json.load`), and :func:`remember` then writes what
this class needs of that tokenizer (its special tokens and ids, chat template, input names,
length) beside the compact copy of tokenizer.json, but only when the Rust tokenizer read back
from that copy serializes exactly as transformers' own backend does and transformers would
not clean up spaces when decoding. Later loads read the two files. Anything else asked of it
(``apply_chat_template``, ``save_pretrained``, ``init_kwargs``, truncation, ...) is answered
by transformers' tokenizer, built on first need from the same folder: nothing is lost, it is
only slower. tests/test_light_tokenizer.py compares it with transformers' in every respect.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

# The kept facts' format; the key also holds both libraries' versions, so an upgrade that
# changes a tokenizer's behaviour makes a new entry.
FACTS = "light-tokenizer-1"
_SPECIAL = ("bos_token", "eos_token", "pad_token", "unk_token")
# Settings a caller may change, kept the same on transformers' tokenizer once it is built.
_SHARED = ("padding_side", "chat_template", *_SPECIAL)


def _facts_entry(file: Path):
    from . import diskcache

    versions = [_version(name) for name in ("tokenizers", "transformers")]
    return diskcache.entry("tokenizers", file, FACTS, *versions, suffix=".facts.json")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def load(location: str) -> "LightTokenizer | None":
    """The light tokenizer of a converted folder whose facts were kept, else None."""
    from . import diskcache, tokenizer_json

    file = Path(location) / "tokenizer.json"
    compact = tokenizer_json.compact_copy(file)
    raw = diskcache.read(_facts_entry(file)) if compact is not None else None
    if raw is None:
        return None
    try:
        facts = json.loads(raw)
        if facts.get("usable") is False:  # kept by remember(): this folder takes the slow way
            return None
        from tokenizers import Tokenizer

        backend = _without_padding(Tokenizer.from_file(str(compact)))
    except Exception:  # a damaged entry: the slow way writes it again
        return None
    return LightTokenizer(backend, facts, location)


def remember(location: str, tokenizer) -> bool:
    """Keep the facts of ``tokenizer`` (transformers', just loaded from the converted folder
    ``location``) for :func:`load`; False when this class would not give the same results."""
    from tokenizers import Tokenizer

    from . import diskcache, tokenizer_json

    file = Path(location) / "tokenizer.json"
    compact = tokenizer_json.compact_copy(file)
    if compact is None:
        return False
    entry = _facts_entry(file)
    if _unusable(diskcache.read(entry)):  # decided before: not parsed again on every load
        return False
    try:
        same = not getattr(tokenizer, "clean_up_tokenization_spaces", True) and (
            _without_padding(Tokenizer.from_file(str(compact))).to_str()
            == _without_padding(Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())).to_str())
    except Exception:
        return False
    if not same:
        diskcache.write(entry, b'{"usable": false}')
        return False
    facts = {
        **{name: _text(getattr(tokenizer, name, None)) for name in _SPECIAL},
        "all_special_ids": list(tokenizer.all_special_ids),
        "chat_template": getattr(tokenizer, "chat_template", None),
        "model_input_names": list(tokenizer.model_input_names),
        "padding_side": tokenizer.padding_side,
        "length": len(tokenizer),
    }
    diskcache.write(entry, json.dumps(facts, ensure_ascii=False).encode("utf-8"))
    return True


def _unusable(raw: bytes | None) -> bool:
    try:
        return raw is not None and json.loads(raw).get("usable") is False
    except (ValueError, AttributeError):
        return False


def _without_padding(backend):
    # transformers' tokenizer turns the file's own padding and truncation off for every call
    # that does not ask for them (set_truncation_and_padding); so does this class, once
    backend.no_padding()
    backend.no_truncation()
    return backend


def _text(token) -> str | None:
    return None if token is None else str(token)


class Encoding(dict):
    """What a call returns: ``encoded["input_ids"]``, and ``.to(device)`` for tensors."""

    def to(self, device) -> "Encoding":
        return Encoding({key: value.to(device) if hasattr(value, "to") else value for key, value in self.items()})

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class LightTokenizer:
    """The calls a run makes, on the Rust tokenizer; the rest handed to transformers' tokenizer."""

    def __init__(self, backend, facts: dict[str, Any], location: str):
        self.backend_tokenizer = backend
        self.name_or_path = str(location)
        self.padding_side = facts["padding_side"]
        self.chat_template = facts["chat_template"]
        self.model_input_names = facts["model_input_names"]
        for name in _SPECIAL:
            setattr(self, name, facts[name])
        self._all_special_ids = facts["all_special_ids"]
        self._length = facts["length"]
        self._transformers = None

    # what transformers' tokenizer derives from the special tokens
    def _id(self, token: str | None) -> int | None:
        return None if token is None else self.backend_tokenizer.token_to_id(token)

    @property
    def bos_token_id(self) -> int | None:
        return self._id(self.bos_token)

    @property
    def eos_token_id(self) -> int | None:
        return self._id(self.eos_token)

    @property
    def pad_token_id(self) -> int | None:
        return self._id(self.pad_token)

    @property
    def unk_token_id(self) -> int | None:
        return self._id(self.unk_token)

    @property
    def all_special_ids(self) -> list[int]:
        return list(self._all_special_ids)

    def convert_tokens_to_ids(self, tokens):
        def one(token: str) -> int | None:
            index = self.backend_tokenizer.token_to_id(token)
            return self.unk_token_id if index is None else index

        return one(tokens) if isinstance(tokens, str) else [one(token) for token in tokens]

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        if isinstance(ids, int):
            return self.backend_tokenizer.id_to_token(ids)
        skip = set(self._all_special_ids) if skip_special_tokens else set()
        return [self.backend_tokenizer.id_to_token(int(i)) for i in ids if int(i) not in skip]

    def __len__(self) -> int:
        return self._length

    def get_vocab(self) -> dict[str, int]:
        return self.backend_tokenizer.get_vocab(with_added_tokens=True)

    def __call__(self, text, add_special_tokens: bool = True, padding=False, return_tensors=None, **options):
        if options or padding not in (False, True, "longest") or return_tensors not in (None, "pt"):
            return self.transformers()(text, add_special_tokens=add_special_tokens, padding=padding,
                                       return_tensors=return_tensors, **options)
        single = isinstance(text, str)
        encodings = self.backend_tokenizer.encode_batch([text] if single else list(text),
                                                        add_special_tokens=add_special_tokens)
        ids = [e.ids for e in encodings]
        masks = [e.attention_mask for e in encodings]
        if padding and len(ids) > 1:
            width = max(map(len, ids))
            left = self.padding_side == "left"
            fill = lambda row, value: ([value] * (width - len(row)) + row) if left else (  # noqa: E731
                row + [value] * (width - len(row)))
            ids = [fill(row, self.pad_token_id) for row in ids]
            masks = [fill(row, 0) for row in masks]
        columns = {"input_ids": ids, "attention_mask": masks}
        columns = {name: columns[name] for name in self.model_input_names if name in columns}
        if return_tensors == "pt":
            import torch

            return Encoding({name: torch.tensor(rows, dtype=torch.long) for name, rows in columns.items()})
        return Encoding({name: rows[0] for name, rows in columns.items()} if single else columns)

    def decode(self, ids, skip_special_tokens: bool = False, **options) -> str:
        if options:
            return self.transformers().decode(ids, skip_special_tokens=skip_special_tokens, **options)
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        if isinstance(ids, int):
            ids = [ids]
        return self.backend_tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)

    def batch_decode(self, sequences, skip_special_tokens: bool = False, **options) -> list[str]:
        return [self.decode(ids, skip_special_tokens=skip_special_tokens, **options) for ids in sequences]

    def transformers(self):
        """transformers' tokenizer of the same folder, built once, with this one's settings."""
        if self._transformers is None:
            from . import tokenizer_json

            full = tokenizer_json.load(self.name_or_path, light=False)
            for name in _SHARED:
                setattr(full, name, getattr(self, name))
            self._transformers = full
        return self._transformers

    def __setattr__(self, name: str, value) -> None:
        super().__setattr__(name, value)
        # a setting changed after transformers' tokenizer was built is changed there too
        if name in _SHARED and self.__dict__.get("_transformers") is not None:
            setattr(self._transformers, name, value)

    def __getattr__(self, name: str):
        # only reached for what this class does not define
        if name.startswith("__") or name == "_transformers":
            raise AttributeError(name)
        return getattr(self.transformers(), name)

    def __repr__(self) -> str:
        return f"LightTokenizer(name_or_path={self.name_or_path!r}, vocabulary={self._length})"

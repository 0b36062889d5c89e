"""The merged weights of an adapter on a converted model, kept between processes.

Merging the shipped adapter into the embedded model writes 400 MB of weights (the 126
adapted layers), 0.5-1 s in every process: the base weights are memory-mapped from their
file, and each page written is copied first. The merged layers are the same every time, so
the first process saves them in the model cache (one file per base model and adapter folder,
400 MB for the embedded model) and later ones map that file instead: their weights are
the saved ones, bit for bit what the merge gives (tests/test_lora_merge.py).

Only for models converted into the cache (the embedded one, .gguf files), whose weights this
package wrote. The entry's name holds what the merged weights depend on: the base weight
files (path, size, time), the adapter's weights digest and settings, the dtype, the torch
version (its matrix product) and :data:`VERSION` (this package's merge); a new entry for the
same base and adapter folder replaces the old one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

# The arithmetic of lora_merge.merge_lora; another number leaves the entries of the old one unused.
VERSION = 1


def merge_kept(model, adapter: str | Path, config: dict, base_location: str) -> bool:
    """Merge the plain LoRA adapter (``lora_merge.plain_lora(adapter)`` is ``config``) into
    ``model``, from the kept weights when there are; returns whether they were used."""
    from .lora_merge import layer_names, merge_lora

    names = layer_names(adapter)
    place = _entry(model, adapter, config, base_location, names)
    if place is not None and place.is_file() and _assign(model, place, names):
        return True
    merged = merge_lora(model, adapter, config)
    if place is not None:
        _save(model, merged, place)
    return False


def _entry(model, adapter, config: dict, base_location: str, names: list[str]) -> Path | None:
    import torch

    from .adapters import weights_digest
    from .models import MARKER, cache_dir

    base = Path(base_location)
    if not (base / MARKER).is_file() or not _own_weights(model, names):
        return None
    try:
        files = sorted(base.glob("*.safetensors"))
        stats = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    except OSError:
        return None
    if not files:
        return None
    dtypes = sorted({str(_module(model, n).weight.dtype) for n in names})
    key = json.dumps([VERSION, torch.__version__, dtypes, stats, weights_digest(adapter),
                      json.dumps(config, sort_keys=True), names])
    pair = hashlib.sha256(f"{base.resolve()}|{Path(adapter).resolve()}".encode()).hexdigest()[:16]
    return cache_dir() / "merged" / pair / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".safetensors")


def _own_weights(model, names: list[str]) -> bool:
    """Whether each adapted layer's weight belongs to it alone (a tied weight is changed in
    place by the merge, for every layer that shares it; a kept one would replace it in one)."""
    users: dict[int, int] = {}
    for _, parameter in model.named_parameters(remove_duplicate=False):
        users[id(parameter)] = users.get(id(parameter), 0) + 1
    try:
        return all(users.get(id(_module(model, n).weight)) == 1 for n in names)
    except (AttributeError, KeyError):
        return False


def _module(model, name: str):
    return model.get_submodule(name)


def _assign(model, place: Path, names: list[str]) -> bool:
    """Put the kept weights in place of the layers' own (memory-mapped from the file);
    False, changing nothing, when the file does not hold exactly these layers' weights."""
    import torch
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(place))
    except Exception:  # a damaged entry (safetensors raises its own error type): merge again
        return False
    if sorted(tensors) != [f"{n}.weight" for n in names]:
        return False
    layers = [_module(model, n) for n in names]
    for name, layer in zip(names, layers):
        kept = tensors[f"{name}.weight"]
        if kept.shape != layer.weight.shape or kept.dtype != layer.weight.dtype:
            return False
    for name, layer in zip(names, layers):
        layer.weight = torch.nn.Parameter(tensors[f"{name}.weight"], requires_grad=False)
    model.requires_grad_(False)  # as the merge leaves it (peft's way)
    return True


def _save(model, names: list[str], place: Path) -> None:
    from safetensors.torch import save_file

    tensors = {f"{n}.weight": _module(model, n).weight.detach().contiguous() for n in names}
    try:
        place.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=place.parent, prefix=".tmp-", suffix=".safetensors")
        os.close(handle)
    except OSError:  # a read-only cache: merge again next time
        return
    try:
        save_file(tensors, tmp)
        os.replace(tmp, place)
    except Exception:  # a full disk, or safetensors' own error: the model is merged all the same
        Path(tmp).unlink(missing_ok=True)
        return
    for old in place.parent.glob("*.safetensors"):  # the entries of earlier weights
        if old != place:
            old.unlink(missing_ok=True)

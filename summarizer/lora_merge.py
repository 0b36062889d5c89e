"""Merging a LoRA adapter into a model's weights without importing peft.

A LoRA adapter (what peft's ``save_pretrained`` writes: ``adapter_config.json`` and
``adapter_model.safetensors``) holds two small matrices ``A`` (r x in) and ``B`` (out x r)
per adapted linear layer; merged, the layer's weight becomes ``W + scaling * (B @ A)`` with
``scaling = lora_alpha / r`` (``lora_alpha / sqrt(r)`` with rsLoRA). That is all peft's
``merge_and_unload`` does for a plain LoRA adapter, computed the same way (the same products,
in the same order and precision), so the merged weights are bit for bit peft's: the tests
compare them. Importing peft costs 1-4 s of a one-document run; it stays the tool for
training and for the adapters this module declines (:func:`plain_lora` says which).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

WEIGHTS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"
# How peft names a LoRA matrix in the file: base_model.model.<module path>.lora_A.weight
PREFIX = "base_model.model."
SUFFIXES = (".lora_A.weight", ".lora_B.weight")

# Settings with which the merge is W + scaling * B @ A, whatever their values (bookkeeping, what
# was adapted: the file says it too); any other must be unset (None, False, empty).
_NEUTRAL = {
    "base_model_name_or_path", "revision", "task_type", "inference_mode", "peft_type", "peft_version",
    "auto_mapping", "r", "lora_alpha", "use_rslora", "target_modules", "exclude_modules", "lora_dropout",
    "layers_pattern", "megatron_core", "qalora_group_size", "init_lora_weights",
}
# Settings whose values compatible with the plain merge are these. An initialisation other
# than random ones (PiSSA, OLoRA, LoftQ, EVA, ...) changes the base weights when peft loads
# the adapter.
_REQUIRED = {"bias": ("none",), "fan_in_fan_out": (False,), "init_lora_weights": (True, False, "gaussian")}


class NotPlainLora(Exception):
    """The adapter needs peft to merge it (another method, or a setting this module lacks)."""


def plain_lora(folder: str | Path) -> dict:
    """The adapter's settings when this module merges it exactly as peft would; raises
    :class:`NotPlainLora` (with the reason) for anything else: DoRA, LoRA biases, saved
    whole modules, per-layer ranks, a .bin file, settings of a newer peft it does not know."""
    folder = Path(folder)
    if not (folder / WEIGHTS).is_file():
        raise NotPlainLora(f"no {WEIGHTS}")
    config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    if config.get("peft_type") != "LORA":
        raise NotPlainLora(f"peft_type {config.get('peft_type')!r}")
    for key, value in config.items():
        if key in _REQUIRED:
            if not any(value == allowed and type(value) is type(allowed) for allowed in _REQUIRED[key]):
                raise NotPlainLora(f"{key} = {value!r}")
        elif key not in _NEUTRAL and value not in (None, False, {}, [], ""):
            # use_dora, lora_bias, modules_to_save, rank_pattern, alpha_pattern,
            # layers_to_transform, trainable_token_indices, ... or a setting peft added later
            raise NotPlainLora(f"{key} = {value!r}")
    rank, alpha = config.get("r"), config.get("lora_alpha")
    if not isinstance(rank, int) or rank <= 0 or not isinstance(alpha, (int, float)):
        raise NotPlainLora("r or lora_alpha missing")
    return config


def scaling(config: dict) -> float:
    # The same Python float as peft's (its LoraLayer.update_layer).
    if config.get("use_rslora"):
        return config["lora_alpha"] / math.sqrt(config["r"])
    return config["lora_alpha"] / config["r"]


def merge_lora(model, folder: str | Path, config: dict) -> list[str]:
    """Add the adapter in ``folder`` (checked by :func:`plain_lora`) to ``model``'s linear
    layers in place, as peft's ``merge_and_unload`` does; returns the names of the layers merged.
    Raises ValueError when the file does not fit the model (a module it names is missing, or
    of another shape)."""
    import torch
    from safetensors.torch import load_file

    pairs = _pairs(load_file(str(Path(folder) / WEIGHTS)))
    modules = dict(model.named_modules())
    factor = scaling(config)
    updates = []
    for name, pair in sorted(pairs.items()):  # all checked before any weight changes
        layer = modules.get(name)
        if not isinstance(layer, torch.nn.Linear) or set(pair) != {"A", "B"}:
            raise ValueError(f"the adapter's layer {name!r} is not a linear layer of this model")
        weight = layer.weight
        if weight.dtype != torch.float32:
            # peft rounds the matrices through the weight's dtype in ways not replicated here
            raise NotPlainLora(f"the model's weights are {weight.dtype}, not float32")
        a, b = pair["A"], pair["B"]
        if b.shape[0] != weight.shape[0] or a.shape[1] != weight.shape[1] or a.shape[0] != b.shape[1]:
            raise ValueError(f"size mismatch for {name}: the adapter has {tuple(b.shape)} x {tuple(a.shape)}, "
                             f"the model's weight is {tuple(weight.shape)}")
        updates.append((weight, a, b))
    with torch.no_grad():
        for weight, a, b in updates:
            # peft copies the matrices into float32 layers (exact for the half-precision file)
            # and adds the product, scaled, to the weight in place
            weight.data += (b.to(weight.dtype) @ a.to(weight.dtype)) * factor
    # peft freezes the base model when it wraps it for inference, and the merge keeps that.
    model.requires_grad_(False)
    return sorted(pairs)


def layer_names(folder: str | Path) -> list[str]:
    """The names of the layers the adapter in ``folder`` changes (read from the file's header)."""
    from safetensors import safe_open

    with safe_open(str(Path(folder) / WEIGHTS), framework="pt") as handle:
        return sorted(_pairs(dict.fromkeys(handle.keys())))


def _pairs(tensors: dict) -> dict[str, dict[str, object]]:
    pairs: dict[str, dict[str, object]] = {}
    for key, tensor in tensors.items():
        suffix = next((s for s in SUFFIXES if key.endswith(s)), None)
        if not key.startswith(PREFIX) or suffix is None:
            raise ValueError(f"unexpected tensor {key!r} in {WEIGHTS}")
        pairs.setdefault(key[len(PREFIX) : -len(suffix)], {})[suffix[6]] = tensor  # "A" or "B"
    return pairs

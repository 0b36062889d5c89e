"""The adapter folder of ``summarizer finetune``: written as it goes, resumable, one run at a time.

    OUT/.finetune.lock              held while a run trains here (released when its process ends)
    OUT/finetune-run.json           the run's identity, written when training starts
    OUT/checkpoints/checkpoint-N    transformers' checkpoints: what an interrupted run resumes from
    OUT/adapter_model.safetensors   the finished adapter (peft), with adapter_config.json
    OUT/summarizer-adapter.json     its metadata, written last: its presence means training finished

    >>> folder = AdapterFolder("build/adapter")                     # doctest: +SKIP
    >>> with folder.locked():                                       # doctest: +SKIP
    ...     if folder.finished(identity, force) is None:
    ...         resume = folder.resume_point(identity, force)       # a checkpoint, or None
    ...         ...                                                 # train, save the weights
    ...         folder.complete(metadata)

The identity (:func:`run_identity`) is what the trained weights depend on: base model,
pipeline settings, training settings and a digest of the encoded data. A checkpoint or a
finished adapter of another identity is never continued or reused; the error names what
changed, and ``force`` clears the folder's earlier run instead.

The lock is :func:`summarizer.store.lock_folder`, the one the folder of ``summarizer run``
takes too, and failed writes are worded by :func:`summarizer.store.write_error`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .adapters import (CHECKPOINTS, METADATA, PEFT_CONFIG, WEIGHT_FILES, base_digest, read_metadata,
                       weights_digest, weights_file)
from .errors import OutputError
from .store import lock_folder, write_error

RUN_FILE = "finetune-run.json"  # the run's identity, written when training starts: resume checks it
LOCK = ".finetune.lock"
# What a run writes into the folder: anything else there is someone else's.
OWN_FILES = (METADATA, PEFT_CONFIG, CHECKPOINTS, RUN_FILE, LOCK, "README.md", *WEIGHT_FILES)


class AdapterFolder:
    """The output folder of one fine-tuning run."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.checkpoints = self.path / CHECKPOINTS

    def check(self) -> None:
        """Refuse a file, or a folder holding files no fine-tuning run writes."""
        if self.path.exists() and not self.path.is_dir():
            raise OutputError(f"adapter folder {str(self.path)!r} is a file; give a folder (created if missing).")
        if self.path.is_dir():
            foreign = sorted(p.name for p in self.path.iterdir() if p.name not in OWN_FILES)
            if foreign:
                raise OutputError(
                    f"folder {str(self.path)!r} is not empty and is not an adapter folder (it holds "
                    f"{', '.join(foreign[:5])}); give a new or empty folder for the adapter."
                )

    @contextmanager
    def locked(self) -> Iterator["AdapterFolder"]:
        """Create the folder and hold its lock: one run at a time trains into it."""
        lock = lock_folder(self.path, LOCK,
                           busy=f"adapter folder {str(self.path)!r} is in use by another 'summarizer finetune'; "
                                "wait for it to finish, or give another folder.",
                           then="give a folder you can write to with -o")
        try:
            yield self
        finally:
            lock.release()

    def finished(self, identity: dict[str, Any], force: bool) -> dict[str, Any] | None:
        """The metadata of this run's finished adapter, if the folder holds it intact; None
        when there is none (or ``force``). A finished adapter of another run is refused."""
        if not (self.path / METADATA).is_file() or force:
            return None
        try:
            metadata = json.loads((self.path / METADATA).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if metadata.get("run") == identity and weights_digest(self.path) == metadata.get("weights_sha256"):
            return metadata
        raise OutputError(
            f"{self.path} already holds a finished adapter trained with other settings or data "
            f"({_differences(metadata.get('run') or {}, identity) or 'its weights changed'}); give another folder, "
            "or add --force to replace it."
        )

    def resume_point(self, identity: dict[str, Any], force: bool) -> str | None:
        """The checkpoint to resume from (None: start afresh), after checking that it belongs
        to the same run; ``force`` clears the folder's earlier run instead."""
        from transformers.trainer_utils import get_last_checkpoint

        if force:
            self.clear()
            return None
        last = get_last_checkpoint(str(self.checkpoints)) if self.checkpoints.is_dir() else None
        if last is None:
            return None
        try:
            earlier = json.loads((self.path / RUN_FILE).read_text(encoding="utf-8"))["identity"]
        except (OSError, ValueError, KeyError):
            earlier = None
        if earlier != identity:
            changed = _differences(earlier or {}, identity)
            raise OutputError(
                f"{self.path} holds checkpoints of a fine-tuning run with other settings or data "
                f"({changed or 'its settings file is missing'}); run the same command as before to continue it, give "
                "another folder, or add --force to start over here."
            )
        return last

    def start(self, identity: dict[str, Any], **state: Any) -> None:
        """Write the run file of a run that starts afresh: its identity, and ``state`` (what a
        resumed run cannot measure again, such as the loss before training)."""
        _write_json(self.path / RUN_FILE, {"identity": identity, **state},
                    "nothing was trained yet; run the same command again")

    def run_state(self) -> dict[str, Any]:
        """What :meth:`start` wrote, for this session or the one it resumes."""
        return json.loads((self.path / RUN_FILE).read_text(encoding="utf-8"))

    def complete(self, metadata: dict[str, Any]) -> None:
        """Write the metadata (last: the folder is now a finished adapter), then drop the
        checkpoints and the run file."""
        _write_json(self.path / METADATA, metadata, "the checkpoints are kept; run the same command again to finish")
        shutil.rmtree(self.checkpoints, ignore_errors=True)
        (self.path / RUN_FILE).unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove what an earlier run left in the folder (only the files it writes)."""
        shutil.rmtree(self.checkpoints, ignore_errors=True)
        for name in (METADATA, PEFT_CONFIG, RUN_FILE, "README.md", *WEIGHT_FILES):
            (self.path / name).unlink(missing_ok=True)


def run_identity(pipeline_config, config, examples: list[dict]) -> dict[str, Any]:
    """What the trained weights depend on: a resumed run must match it. ``config`` is the
    :class:`~summarizer.finetune.FinetuneConfig`."""
    settings = dataclasses.asdict(config)
    # Not in it: what changes neither the data nor the arithmetic (limit shows in the data digest).
    for name in ("save_steps", "eval_docs", "limit", "gradient_checkpointing"):
        settings.pop(name)
    data = hashlib.sha256(json.dumps([(e["input_ids"], e["labels"]) for e in examples]).encode()).hexdigest()
    return {"base_model": portable_spec(pipeline_config.generate.model),
            "pipeline_fingerprint": pipeline_config.fingerprint(), "settings": settings,
            "data_sha256": data, "pairs": len(examples)}


def portable_spec(spec: str) -> str:
    """A model spec that still means the same model from another folder."""
    if spec == "default":
        return spec
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.exists() else spec


def _differences(before: dict[str, Any], now: dict[str, Any]) -> str:
    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out

    a, b = flat(before), flat(now)
    return ", ".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))


def _write_json(path: Path, data: dict[str, Any], then: str) -> None:
    """Write ``path`` whole or not at all (a temporary file renamed over it); ``then``: what
    the user can do when it fails."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(exc, path, then) from exc


# Section 3.1 of the Gemma Terms of Use asks that a distributed Model Derivative (a LoRA
# adapter for Gemma is one) carry this notice; its use restrictions pass to its users.
GEMMA_NOTICE = """Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms

The LoRA weights in this folder are a Model Derivative of Gemma 3 270M (base), made by
`make adapter` (scripts/train_adapter.py, summarizer finetune): they modify the model's
attention and MLP projections when merged into it. Their use is subject to the use
restrictions of the Gemma Terms of Use (Section 3.2) and the Gemma Prohibited Use Policy
(ai.google.dev/gemma/prohibited_use_policy). The training pairs came from research data sets
(see summarizer-adapter.json and the README, "The shipped adapter"), some of them for
research, evaluation or non-commercial use only.
"""


def package_adapter(run: str | Path, command: str, split: dict[str, int], wall_seconds: float,
                    target: str | Path) -> Path:
    """Copy the finished adapter in ``run`` (a ``summarizer finetune`` folder) into ``target``:
    weights in half precision, peft's config, and the run's metadata with how it was made."""
    from safetensors.torch import load_file, save_file

    run, target = Path(run), Path(target)
    metadata: dict[str, Any] = read_metadata(run)
    for key in ("train", "eval"):  # the machine's own paths say nothing to a reader of the package
        if metadata.get("data", {}).get(key):
            metadata["data"][key] = Path(metadata["data"][key]).name
    source = weights_file(run)
    if source is None or source.suffix != ".safetensors":
        raise FileNotFoundError(f"{run} holds no adapter_model.safetensors: the training did not finish.")
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tensors = {name: tensor.half().contiguous() for name, tensor in load_file(str(source)).items()}
    save_file(tensors, str(tmp / "adapter_model.safetensors"), metadata={"format": "pt"})
    peft_config = json.loads((run / PEFT_CONFIG).read_text(encoding="utf-8"))
    peft_config["base_model_name_or_path"] = metadata["base_model"]  # not this machine's cache path
    (tmp / PEFT_CONFIG).write_text(json.dumps(peft_config, indent=2) + "\n", encoding="utf-8")
    if not metadata.get("base_sha256"):
        metadata["base_sha256"] = base_digest(metadata["base_model"])
    metadata["weights_sha256"] = weights_digest(tmp)
    metadata["dtype"] = "float16"
    metadata["made_by"] = {"command": command, "make_target": "make adapter", "split": split,
                           "wall_seconds": round(wall_seconds, 1)}
    (tmp / METADATA).write_text(json.dumps(metadata, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp / "NOTICE").write_text(GEMMA_NOTICE, encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target

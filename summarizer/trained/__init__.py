"""The adapter shipped with the package: LoRA weights for the embedded model, trained by ``make adapter``.

    summarizer/trained/default/adapter_model.safetensors   LoRA weights, half precision (peft)
    summarizer/trained/default/adapter_config.json          peft's description of them
    summarizer/trained/default/summarizer-adapter.json      base model and its weights' SHA-256,
                                                            data, counts, settings, losses, command

A pipeline asks for it with ``generate.adapter = "builtin"`` (the ``default`` pipeline does).
It is applied to the embedded model only: with a user's ``--model`` the pipeline runs that
model without it (an adapter is tied to the weights it was trained on), and ``--no-adapter``
turns it off. :func:`summarizer.adapters.check_base` refuses it when the embedded model's
weights are not the ones it was trained on.

Safetensors and JSON only: nothing here can run code when it is loaded.
"""

from __future__ import annotations

from pathlib import Path

# generate.adapter = "builtin" asks for this folder.
BUILTIN = "builtin"
FOLDER = Path(__file__).resolve().parent / "default"

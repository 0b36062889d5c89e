"""Shared fixtures: a tiny causal LM and tokenizer built here, saved as a local model folder.

The tiny model has random weights, so what it writes is noise, but it exercises every
real code path (tokenizer, left padding, batching, generate, decoding) in well under a
second and with no download.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CORPUS = [
    "The council approved the new bridge on Monday.",
    "Dr. Lee said the plan would cost 4.5 million crowns.",
    "Residents voted to keep the old market open.",
    "Summary: the town will build a bridge. TL;DR: a bridge.",
    "Rain flooded the harbour and closed three roads.",
]

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def build_tiny_model(folder: Path, chat: bool = False, init_std: float = 0.02) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<pad>", "<bos>", "<eos>", "<unk>", "<|end|>"]
    raw = Tokenizer(models.BPE(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    raw.train_from_iterator(CORPUS * 5, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )
    if chat:
        tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, initializer_range=init_std,
    )
    model = LlamaForCausalLM(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """Path of a tiny base model folder."""
    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-base"))


@pytest.fixture(scope="session")
def tiny_trainable_model(tmp_path_factory) -> str:
    """A tiny base model with larger random weights: with the default 0.02 its logits are
    nearly uniform and fine-tuning only its projections (LoRA) can barely move the loss."""
    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-trainable", init_std=0.2))


@pytest.fixture(scope="session")
def tiny_chat_model(tmp_path_factory) -> str:
    """Path of a tiny model whose tokenizer has a chat template and whose name says 'instruct'."""
    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-instruct", chat=True))


ARTICLES = {
    "bridge": "Bridge vote\n\nThe council of Elmsford approved a new bridge on Monday. "
    "Dr. Ana Lee said the work would cost 4.5 million crowns and take two years. "
    "Residents had asked for a crossing since 2019. Construction starts in May.",
    "market": "Market stays open\n\nTraders in Oldham Cross won a vote to keep the old market open. "
    "The vote passed 41 to 12 on Tuesday night. The mayor, Mr. Joss Hale, called it a fair result. "
    "Repairs to the roof will begin next spring.",
    "flood": "Heavy rain flooded the harbour district of Port Mirren on Sunday. Three roads were closed "
    "and 40 homes lost power. The coast guard said no one was hurt. Crews expect to reopen the roads by Wednesday.",
}


@pytest.fixture
def article_folder(tmp_path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]

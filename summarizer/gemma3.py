"""Gemma 3's text decoder, for inference by the fast decoder, in torch alone.

Why it exists: in a one-document run, importing transformers' Gemma 3 modeling code took
about 2 s on a 2-core CPU (it pulls in torch's compiler, distributed tensors and sympy), as
long as summarizing the document itself. This module computes the same function as
transformers' ``Gemma3ForCausalLM`` for what :func:`summarizer.decode.greedy` asks of a
model: left-padded batches whose attention mask may have holes (rejected proposals),
explicit position ids, a key/value cache whose rows can be dropped, logits for the last
positions only. It follows transformers' choices of the attention kernel's inputs (no mask
where causal attention alone is right, one query against grouped key/value heads, the mask
pattern and cache length of sliding-window layers), so the logits equal transformers' bit for
bit (tests/test_gemma3.py, on a small random Gemma 3 run far past its window) and the default
model writes the same summaries (tests/test_e2e_default.py).

Module and parameter names are transformers' own: the safetensors file loads as it is, a
LoRA adapter merges onto the same layer names (:mod:`summarizer.lora_merge`), and the
candidate head (:mod:`summarizer.fasthead`) replaces ``lm_head`` the same way.

Where :func:`problems` finds something this module does not compute (soft-capping,
bidirectional attention, scaled rotary embeddings, quantized weights, ...), the model loads
through transformers as before. Training and transformers' ``generate`` always use
transformers' class.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

ARCHITECTURE = "Gemma3ForCausalLM"
LAYER_TYPES = ("sliding_attention", "full_attention")
WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"


def read_config(folder: str | Path) -> dict | None:
    try:
        return json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def problems(folder: str | Path) -> list[str]:
    """Why this module cannot run the model in ``folder`` (empty: it can)."""
    config = read_config(folder)
    if config is None:
        return ["no readable config.json"]
    found = []
    if config.get("model_type") != "gemma3_text" or config.get("architectures") != [ARCHITECTURE]:
        found.append(f"not a {ARCHITECTURE} (model_type {config.get('model_type')!r})")
    for key in ("attn_logit_softcapping", "final_logit_softcapping", "quantization_config"):
        if config.get(key) is not None:
            found.append(f"{key} is set")
    if config.get("use_bidirectional_attention"):
        found.append("bidirectional attention")
    if config.get("hidden_activation") != "gelu_pytorch_tanh":
        found.append(f"activation {config.get('hidden_activation')!r}")
    types = config.get("layer_types")
    if not isinstance(types, list) or len(types) != config.get("num_hidden_layers") or set(types) - set(LAYER_TYPES):
        found.append("layer_types missing or unknown")
    rope = config.get("rope_parameters")
    if not isinstance(rope, dict) or any(
        not isinstance(rope.get(t), dict) or rope[t].get("rope_type") != "default" or "rope_theta" not in rope[t]
        or rope[t].get("partial_rotary_factor", 1.0) != 1.0
        for t in set(types or [])
    ):
        found.append("rotary embeddings other than the default per layer type")
    if not (Path(folder) / WEIGHTS).is_file() and not (Path(folder) / WEIGHTS_INDEX).is_file():
        found.append("no safetensors weights")
    return found


class Linear(nn.Linear):
    def reset_parameters(self):
        # The weights come from the file; a random start on the meta device would import torch's
        # compiler (0.9 s) for nothing.
        pass


class Embedding(nn.Embedding):
    def reset_parameters(self):
        pass


class RMSNorm(nn.Module):
    """Gemma's norm: computed in float32, scaled by ``1 + weight``, then cast back."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        wide = x.float()
        normed = wide * torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + self.eps)
        return (normed * (1.0 + self.weight.float())).type_as(x)


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.gate_proj = Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.gelu(self.gate_proj(x), approximate="tanh") * self.up_proj(x))


def _rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def attention(query, key, value, mask, scale: float, groups: int):
    """Scaled dot-product attention of ``query`` (batch, heads, q, dim) over ``key``/``value``
    (batch, kv heads, kv, dim). ``mask`` None means causal (or, for one query, everything);
    transformers feeds torch's kernel the same way in each case, which keeps the rounding
    the same."""
    q_length = query.shape[2]
    if mask is None:
        extra = {}
        if groups > 1:
            if key.shape[-1] <= 256:
                extra["enable_gqa"] = True
            elif q_length == 1:
                return _packed(query, key, value, None, scale, groups)
            else:
                key, value = _repeat(key, groups), _repeat(value, groups)
        return F.scaled_dot_product_attention(query, key, value, is_causal=q_length > 1, scale=scale, **extra)
    if groups > 1 and q_length == 1:
        return _packed(query, key, value, mask, scale, groups)
    if groups > 1:
        key, value = _repeat(key, groups), _repeat(value, groups)
    return F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=scale)


def _packed(query, key, value, mask, scale, groups):
    # One query per row: its heads become the query positions of their key/value head.
    batch, heads, _, dim = query.shape
    out = F.scaled_dot_product_attention(query.reshape(batch, heads // groups, groups, dim), key, value,
                                         attn_mask=mask, scale=scale)
    return out.reshape(out.shape[0], -1, 1, value.shape[-1])


def _repeat(states, groups: int):
    batch, heads, length, dim = states.shape
    return states[:, :, None].expand(batch, heads, groups, length, dim).reshape(batch, heads * groups, length, dim)


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.head_dim = config.head_dim
        self.groups = config.num_attention_heads // config.num_key_value_heads
        self.scale = config.query_pre_attn_scalar ** -0.5
        bias = bool(config.attention_bias)
        self.q_proj = Linear(config.hidden_size, config.num_attention_heads * self.head_dim, bias=bias)
        self.k_proj = Linear(config.hidden_size, config.num_key_value_heads * self.head_dim, bias=bias)
        self.v_proj = Linear(config.hidden_size, config.num_key_value_heads * self.head_dim, bias=bias)
        self.o_proj = Linear(config.num_attention_heads * self.head_dim, config.hidden_size, bias=bias)
        self.q_norm = RMSNorm(self.head_dim, config.rms_norm_eps)
        self.k_norm = RMSNorm(self.head_dim, config.rms_norm_eps)

    def forward(self, x, cos, sin, mask, layer_cache):
        batch, length, _ = x.shape
        shape = (batch, length, -1, self.head_dim)
        query = self.q_norm(self.q_proj(x).view(shape).transpose(1, 2))
        key = self.k_norm(self.k_proj(x).view(shape).transpose(1, 2))
        value = self.v_proj(x).view(shape).transpose(1, 2)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        query = query * cos + _rotate_half(query) * sin
        key = key * cos + _rotate_half(key) * sin
        if layer_cache is not None:
            key, value = layer_cache.update(key, value)
        out = attention(query, key, value, mask, self.scale, self.groups)
        return self.o_proj(out.transpose(1, 2).reshape(batch, length, -1))


class DecoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self_attn = Attention(config)
        self.mlp = MLP(config)
        eps = config.rms_norm_eps
        self.input_layernorm = RMSNorm(config.hidden_size, eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, eps)
        self.pre_feedforward_layernorm = RMSNorm(config.hidden_size, eps)
        self.post_feedforward_layernorm = RMSNorm(config.hidden_size, eps)

    def forward(self, x, cos, sin, mask, layer_cache):
        x = x + self.post_attention_layernorm(self.self_attn(self.input_layernorm(x), cos, sin, mask, layer_cache))
        return x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x)))


class TextModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embed_tokens = Embedding(config.vocab_size, config.hidden_size, config.pad_token_id)
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class CacheLayer:
    """One layer's keys and values, (batch, kv heads, slots, dim). A sliding-window layer
    keeps only the last ``window - 1`` slots, as transformers' cache does: the slots a new
    position can see there, and the same tensors for the attention kernel."""

    def __init__(self, window: int | None = None):
        self.keys = self.values = None
        self.window = window
        self.dropped = 0  # slots no longer kept (sliding layers)

    def update(self, keys, values):
        if self.keys is not None:
            keys, values = torch.cat([self.keys, keys], dim=-2), torch.cat([self.values, values], dim=-2)
        self.keys, self.values = keys, values
        if self.window is not None and keys.shape[-2] > self.window - 1:
            self.dropped += keys.shape[-2] - (self.window - 1)
            self.keys, self.values = keys[:, :, -(self.window - 1):], values[:, :, -(self.window - 1):]
        return keys, values

    def slots(self) -> int:
        return 0 if self.keys is None else self.dropped + self.keys.shape[-2]


class Cache:
    """What :mod:`summarizer.decode` uses of transformers' cache: ``layers[i].keys/values``,
    dropping rows, the number of slots."""

    def __init__(self, config):
        window = config.sliding_window
        self.layers = [CacheLayer(window if kind == "sliding_attention" and window else None)
                       for kind in config.layer_types]

    def get_seq_length(self) -> int:
        return self.layers[0].slots()

    def batch_select_indices(self, index) -> None:
        for layer in self.layers:
            if layer.keys is not None:
                layer.keys, layer.values = layer.keys[index, ...], layer.values[index, ...]

    def views(self, kind: str) -> tuple[int, int]:
        """For layers of ``kind``: (slots written so far, of which no longer kept)."""
        for layer in self.layers:
            if (layer.window is not None) == (kind == "sliding_attention"):
                return layer.slots(), (layer.dropped if layer.keys is not None else 0)
        return 0, 0


@dataclass
class Output:
    logits: Any
    cache: Cache | None

    @property
    def past_key_values(self):
        return self.cache


def masks(attention_mask, batch: int, q_length: int, cache: Cache | None, window, device) -> dict[str, Any]:
    """Per layer type, the boolean (batch, 1, q, kv) mask of which kept slots each new
    position sees, or None where causal attention alone is right (nothing padded among
    them, and a sliding layer whose window holds every one): transformers' rule for
    skipping the mask."""
    out = {}
    for kind in LAYER_TYPES:
        sliding = kind == "sliding_attention"
        past, dropped = cache.views(kind) if cache is not None else (0, 0)
        kv = past - dropped + q_length  # kept slots and the new ones
        padding = None if attention_mask is None else attention_mask[:, dropped : dropped + kv].bool()
        unpadded = padding is None or bool(padding.all())
        if unpadded and (q_length == 1 or kv == q_length) and not (sliding and kv >= window):
            out[kind] = None
            continue
        query_slots = torch.arange(past, past + q_length, device=device)[:, None]
        key_slots = torch.arange(dropped, dropped + kv, device=device)[None, :]
        seen = key_slots <= query_slots
        if sliding:
            seen = seen & (key_slots > query_slots - window)
        seen = seen[None, None].expand(batch, 1, q_length, kv)
        if padding is not None:
            seen = seen & padding[:, None, None, :]
        out[kind] = seen
    return out


class Gemma3ForCausalLM(nn.Module):
    """Inference only; see the module's docstring."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.model = TextModel(config)
        self.lm_head = Linear(config.hidden_size, config.vocab_size, bias=False)
        self.generation_config = SimpleNamespace(eos_token_id=config.eos_token_id)

    def get_output_embeddings(self):
        return self.lm_head

    def get_input_embeddings(self):
        return self.model.embed_tokens

    @property
    def device(self):
        return self.model.embed_tokens.weight.device

    @property
    def dtype(self):
        return self.model.embed_tokens.weight.dtype

    def make_buffers(self) -> None:
        """The embedding scale and rotary frequencies (not in the weights file), computed as
        transformers does, on the weights' device."""
        config, device = self.config, self.device
        self.register_buffer("embed_scale", torch.tensor(config.hidden_size ** 0.5, device=device),
                             persistent=False)
        dim = config.head_dim
        for kind in LAYER_TYPES:
            base = config.rope_parameters.get(kind, {}).get("rope_theta", 10000.0)
            inverse = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float, device=device) / dim))
            self.register_buffer(f"{kind}_inv_freq", inverse, persistent=False)

    def forward(self, input_ids, attention_mask=None, position_ids=None, cache: Cache | None = None,
                use_cache: bool = True, logits_to_keep: int = 0):
        config = self.config
        if use_cache and cache is None:
            cache = Cache(config)
        past = cache.get_seq_length() if cache is not None else 0
        batch, length = input_ids.shape
        device = input_ids.device
        hidden = self.model.embed_tokens(input_ids) * self.embed_scale.to(self.dtype)
        if position_ids is None:
            position_ids = (torch.arange(length, device=device) + past)[None, :]
        rotary = {}
        for kind in set(config.layer_types):
            freqs = position_ids[..., None].float() * getattr(self, f"{kind}_inv_freq").float()
            angles = torch.cat((freqs, freqs), dim=-1)
            rotary[kind] = (angles.cos().to(hidden.dtype), angles.sin().to(hidden.dtype))
        window = config.sliding_window or float("inf")
        by_kind = masks(attention_mask, batch, length, cache, window, device)
        for index, layer in enumerate(self.model.layers):
            kind = config.layer_types[index]
            cos, sin = rotary[kind]
            hidden = layer(hidden, cos, sin, by_kind[kind], cache.layers[index] if cache is not None else None)
        hidden = self.model.norm(hidden)
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:, :]
        return Output(logits=self.lm_head(hidden), cache=cache)


def _config(raw: dict) -> SimpleNamespace:
    values = dict(raw)
    values.setdefault("head_dim", raw["hidden_size"] // raw["num_attention_heads"])
    values.setdefault("attention_bias", False)
    values.setdefault("pad_token_id", None)
    values.setdefault("sliding_window", None)
    values.setdefault("eos_token_id", None)
    values.setdefault("tie_word_embeddings", True)
    return SimpleNamespace(**values)


def load(folder: str | Path, dtype=None) -> Gemma3ForCausalLM:
    """The model in ``folder`` (one :func:`problems` accepts), on the CPU, in ``dtype``
    (default: the file's). The weights are memory-mapped copy-on-write: changing them (an
    adapter's merge) never writes to the file."""
    from safetensors.torch import load_file

    folder = Path(folder)
    found = problems(folder)
    if found:
        raise ValueError(f"{folder} cannot be run by summarizer.gemma3: {'; '.join(found)}")
    config = _config(read_config(folder))
    eos = _generation_eos(folder)
    if eos is not None:
        config.eos_token_id = eos
    with torch.device("meta"):
        model = Gemma3ForCausalLM(config)
    if (folder / WEIGHTS).is_file():
        files = [folder / WEIGHTS]
    else:
        index = json.loads((folder / WEIGHTS_INDEX).read_text(encoding="utf-8"))
        files = [folder / name for name in sorted(set(index["weight_map"].values()))]
    state: dict = {}
    for file in files:
        state.update(load_file(str(file)))
    tied = "lm_head.weight" not in state and bool(config.tie_word_embeddings)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    missing = [name for name in missing if not (tied and name == "lm_head.weight")]
    if missing or unexpected:
        raise ValueError(f"weights of {folder} do not fit Gemma 3: missing {missing[:5]}, unexpected {unexpected[:5]}")
    if tied:
        model.lm_head.weight = model.model.embed_tokens.weight
    if dtype is not None and dtype != model.dtype:
        model.to(dtype)
    model.make_buffers()
    return model.eval()


def _generation_eos(folder: Path):
    try:
        generation = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return generation.get("eos_token_id")

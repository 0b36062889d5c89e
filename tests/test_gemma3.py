"""summarizer.gemma3 against transformers' own Gemma 3, on a small random Gemma 3 built here.

The logits must be equal bit for bit (not close): the same greedy tokens follow from them in
every case, which is what lets ``generate.forward = "auto"`` stay out of a run's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from summarizer import gemma3, models
from summarizer.decode import greedy
from summarizer.errors import ModelError

WINDOW = 6  # sliding window: the steps below run well past it


def build_gemma3(folder: Path, **overrides) -> Path:
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    settings = dict(
        vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=1, head_dim=32, query_pre_attn_scalar=32, sliding_window=WINDOW,
        layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"],
        max_position_embeddings=512, initializer_range=0.2, eos_token_id=1, pad_token_id=0, bos_token_id=2,
    )
    settings.update(overrides)
    Gemma3ForCausalLM(Gemma3TextConfig(**settings)).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return build_gemma3(tmp_path_factory.mktemp("gemma3") / "tiny-gemma3")


@pytest.fixture(scope="module")
def pair(folder):
    from transformers import Gemma3ForCausalLM

    return Gemma3ForCausalLM.from_pretrained(folder).eval(), gemma3.load(folder)


def batch():
    torch.manual_seed(1)
    ids = torch.randint(5, 300, (3, 10))
    mask = torch.ones_like(ids)
    mask[1, :3] = 0  # left padding, as the generate stage pads
    mask[2, :7] = 0
    return ids, mask, (mask.cumsum(-1) - 1).clamp(min=0)


def test_folder_is_accepted(folder):
    assert gemma3.problems(folder) == []


@torch.inference_mode()
def test_prompt_pass_equals_transformers(pair):
    theirs, ours = pair
    ids, mask, positions = batch()
    assert torch.equal(theirs(input_ids=ids[:1]).logits, ours(input_ids=ids[:1]).logits)  # no mask at all
    a = theirs(input_ids=ids, attention_mask=mask, position_ids=positions).logits
    b = ours(input_ids=ids, attention_mask=mask, position_ids=positions).logits
    real = mask.bool()
    assert torch.equal(a[real], b[real])
    assert not torch.isnan(b).any()  # padded positions see nothing, yet stay finite


@torch.inference_mode()
def test_steps_past_the_window_with_hidden_slots_and_dropped_rows(pair):
    """One-token and several-token steps (prompt lookup's proposals), slots hidden after they
    were read (rejected proposals), rows leaving the batch: the cache and the masks of both
    models agree at every step, far past the sliding window."""
    theirs, ours = pair
    ids, mask, positions = batch()
    a = theirs(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
    b = ours(input_ids=ids, attention_mask=mask, position_ids=positions)
    cache_a, cache_b = a.cache, b.cache
    generator = torch.Generator().manual_seed(2)
    rows = 3
    for step in range(12):
        width = 3 if step % 3 == 0 else 1
        new = torch.randint(5, 300, (rows, width), generator=generator)
        mask = torch.cat([mask, torch.ones(rows, width, dtype=mask.dtype)], dim=1)
        step_positions = positions[:, -1:] + 1 + torch.arange(width)
        positions = torch.cat([positions, step_positions], dim=1)
        a = theirs(input_ids=new, attention_mask=mask, position_ids=step_positions, cache=cache_a,
                   use_cache=True, logits_to_keep=width)
        b = ours(input_ids=new, attention_mask=mask, position_ids=step_positions, cache=cache_b,
                 logits_to_keep=width)
        assert torch.equal(a.logits, b.logits), f"step {step}"
        if width > 1:
            mask[:, -1] = 0  # the last proposal rejected: hidden from now on
        if step == 6:
            keep = torch.tensor([0, 2])
            cache_a.batch_select_indices(keep)
            cache_b.batch_select_indices(keep)
            mask, positions, rows = mask[keep], positions[keep], 2


@torch.inference_mode()
@pytest.mark.parametrize("lookup, share", [(0, 0), (4, 0), (0, 3)])
def test_greedy_decoding_gives_the_same_tokens(pair, lookup, share):
    theirs, ours = pair
    torch.manual_seed(3)
    common = torch.randint(5, 300, (1, 4)).expand(3, 4)
    ids = torch.cat([common, torch.randint(5, 300, (3, 8))], dim=1)
    mask = torch.ones_like(ids)
    mask[1, :2] = 0
    runs = [greedy(model, ids, mask, max_new_tokens=20, stop_ids=[1], lookup_tokens=lookup, share_prefix=share)
            for model in (theirs, ours)]
    assert runs[0].tokens == runs[1].tokens and all(len(t) > WINDOW for t in runs[1].tokens)
    assert runs[0].passes == runs[1].passes


@torch.inference_mode()
def test_candidate_head_and_adapter_layers_work_on_it(pair, folder):
    from summarizer.fasthead import restricted_head

    theirs, ours = pair
    ids, mask, positions = batch()
    head = torch.tensor(sorted({*range(50), *ids.flatten().tolist()}))
    outputs = []
    for model in (theirs, ours):
        with restricted_head(model, head, compact=True):
            outputs.append(greedy(model, ids, mask, max_new_tokens=8, stop_ids=[1], head_ids=head).tokens)
        assert model.get_output_embeddings() is model.lm_head  # the full head is back
    assert outputs[0] == outputs[1]
    names = {name for name, module in ours.named_modules() if isinstance(module, torch.nn.Linear)}
    assert {name for name, module in theirs.named_modules() if isinstance(module, torch.nn.Linear)} == names
    assert ours.lm_head.weight is ours.model.embed_tokens.weight  # tied, as transformers ties them


def test_an_adapter_merged_into_it_leaves_the_weights_file_alone(tmp_path, folder):
    """The weights are memory-mapped; a LoRA merge adds to them in place, in memory only."""
    from safetensors.torch import save_file

    copy = tmp_path / "base"
    copy.mkdir()
    for file in folder.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    before = hashlib.sha256((copy / "model.safetensors").read_bytes()).hexdigest()
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj"], "bias": "none",
         "fan_in_fan_out": False, "task_type": "CAUSAL_LM"}))
    torch.manual_seed(4)
    save_file({f"base_model.model.model.layers.{i}.self_attn.q_proj.lora_{m}.weight": torch.randn(*shape)
               for i in range(4) for m, shape in (("A", (2, 64)), ("B", (128, 2)))},
              str(adapter / "adapter_model.safetensors"))
    merged = models.load_model(str(copy), adapter=str(adapter), forward="auto")
    reference = models.load_model(str(copy), adapter=str(adapter), forward="transformers")
    assert isinstance(merged, gemma3.Gemma3ForCausalLM) and not isinstance(reference, gemma3.Gemma3ForCausalLM)
    ours, theirs = dict(merged.named_parameters()), dict(reference.named_parameters())
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert hashlib.sha256((copy / "model.safetensors").read_bytes()).hexdigest() == before


def test_load_model_chooses_by_forward_and_model(tmp_path, folder, tiny_model):
    assert isinstance(models.load_model(str(folder), forward="auto"), gemma3.Gemma3ForCausalLM)
    assert not isinstance(models.load_model(str(folder)), gemma3.Gemma3ForCausalLM)  # transformers by default
    assert not isinstance(models.load_model(tiny_model, forward="auto"), gemma3.Gemma3ForCausalLM)  # a Llama
    capped = build_gemma3(tmp_path / "capped", final_logit_softcapping=30.0)
    assert gemma3.problems(capped) == ["final_logit_softcapping is set"]
    assert not isinstance(models.load_model(str(capped), forward="auto"), gemma3.Gemma3ForCausalLM)
    with pytest.raises(ModelError, match="unknown forward 'fast'; valid choices: auto, transformers"):
        models.load_model(str(folder), forward="fast")


def test_problems_name_what_is_not_computed(tmp_path, folder):
    assert gemma3.problems(tmp_path) == ["no readable config.json"]
    for change, expected in (({"use_bidirectional_attention": True}, "bidirectional attention"),
                             ({"hidden_activation": "relu"}, "activation 'relu'"),
                             ({"layer_types": ["chunked_attention"] * 4}, "layer_types missing or unknown")):
        config = json.loads((folder / "config.json").read_text()) | change
        other = tmp_path / expected.split()[0]
        other.mkdir()
        (other / "config.json").write_text(json.dumps(config))
        (other / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes())
        assert expected in gemma3.problems(other)


def test_loading_it_imports_neither_transformers_modeling_nor_torch_compiler(folder):
    """What the package's own forward is for: the 2 s that these imports cost a one-document run."""
    code = (f"import sys; from summarizer import models; m = models.load_model({str(folder)!r}, forward='auto'); "
            "import torch; m(input_ids=torch.tensor([[5, 6, 7]])); "
            "print([n for n in sys.modules if n.startswith(('transformers.models.gemma3', 'torch._dynamo'))])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_setting_is_checked_and_not_in_the_fingerprint():
    from summarizer.config import ConfigError, load_pipeline

    auto = load_pipeline("default")
    plain = load_pipeline("default", overrides=["generate.forward=transformers"])
    assert auto.generate.forward == "auto" and plain.generate.forward == "transformers"
    assert auto.fingerprint() == plain.fingerprint()
    with pytest.raises(ConfigError, match="forward"):
        load_pipeline("default", overrides=["generate.forward=gemma"])

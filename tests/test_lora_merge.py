"""summarizer.lora_merge gives the weights peft's merge_and_unload gives, bit for bit, and
declines (to peft) the adapters it does not handle."""

import json
import subprocess
import sys
import warnings

import pytest

from summarizer import adapters, models
from summarizer.errors import ModelError
from summarizer.lora_merge import NotPlainLora, merge_lora, plain_lora

from .test_adapters import make_adapter


def peft_merged(base_model, folder):
    from peft import PeftModel

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        return PeftModel.from_pretrained(base_model, str(folder), is_trainable=False).merge_and_unload()


def assert_same_model(ours, theirs):
    import torch

    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for name in a:
        assert a[name].dtype == b[name].dtype and torch.equal(a[name], b[name]), name
    assert [(n, p.requires_grad) for n, p in ours.named_parameters()] == \
        [(n, p.requires_grad) for n, p in theirs.named_parameters()]
    assert [(n, type(m)) for n, m in ours.named_modules()] == [(n, type(m)) for n, m in theirs.named_modules()]
    assert ours.config.to_dict() == theirs.config.to_dict()


@pytest.fixture(scope="module")
def lora_folder(tiny_model, tmp_path_factory):
    return make_adapter(tiny_model, tmp_path_factory.mktemp("lora") / "plain", seed=3)


def fresh(tiny_model):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model)


def test_the_merge_is_peft_s_bit_for_bit(tiny_model, lora_folder):
    ours = fresh(tiny_model)
    assert merge_lora(ours, lora_folder, plain_lora(lora_folder))
    assert_same_model(ours, peft_merged(fresh(tiny_model), lora_folder))


@pytest.mark.parametrize("alpha, rslora", [(8, False), (5, True), (3, False)])
def test_scalings_and_half_precision_files(tiny_model, tmp_path, alpha, rslora):
    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file, save_file

    torch.manual_seed(alpha)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        peft_model = get_peft_model(fresh(tiny_model), LoraConfig(r=4, lora_alpha=alpha, use_rslora=rslora,
                                                                   target_modules=["q_proj", "down_proj"]))
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.3)
    peft_model.save_pretrained(tmp_path)
    # the shipped adapter is stored in half precision
    weights = tmp_path / "adapter_model.safetensors"
    save_file({k: v.half() for k, v in load_file(str(weights)).items()}, str(weights))
    ours = fresh(tiny_model)
    merge_lora(ours, tmp_path, plain_lora(tmp_path))
    assert_same_model(ours, peft_merged(fresh(tiny_model), tmp_path))


@pytest.mark.parametrize("change, reason", [
    ({"use_dora": True}, "use_dora"),
    ({"lora_bias": True}, "lora_bias"),
    ({"modules_to_save": ["lm_head"]}, "modules_to_save"),
    ({"rank_pattern": {"q_proj": 2}}, "rank_pattern"),
    ({"fan_in_fan_out": True}, "fan_in_fan_out"),
    ({"bias": "all"}, "bias"),
    ({"peft_type": "IA3"}, "peft_type"),
    ({"init_lora_weights": "pissa"}, "init_lora_weights"),
    ({"loftq_config": {"loftq_bits": 4}}, "loftq_config"),
    ({"a_setting_of_a_later_peft": {"x": 1}}, "a_setting_of_a_later_peft"),
])
def test_what_it_does_not_merge_it_declines(lora_folder, tmp_path, change, reason):
    import shutil

    folder = tmp_path / "variant"
    shutil.copytree(lora_folder, folder)
    config = json.loads((folder / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(NotPlainLora, match=reason):
        plain_lora(folder)


def test_a_declined_adapter_is_merged_by_peft(tiny_model, lora_folder, tmp_path, monkeypatch):
    import shutil

    import torch

    folder = tmp_path / "bin"
    shutil.copytree(lora_folder, folder)
    from safetensors.torch import load_file

    torch.save(load_file(str(folder / "adapter_model.safetensors")), folder / "adapter_model.bin")
    (folder / "adapter_model.safetensors").unlink()  # an old-format weight file: peft reads it
    used = []
    monkeypatch.setattr(adapters, "_merge_with_peft",
                        lambda model, adapter: used.append(adapter) or peft_merged(model, adapter))
    merged = adapters.apply_adapter(fresh(tiny_model), str(folder), tiny_model)
    assert used == [str(folder)]
    ours = fresh(tiny_model)
    merge_lora(ours, lora_folder, plain_lora(lora_folder))
    assert_same_model(merged, ours)


def test_an_adapter_of_another_shape_fails_before_changing_a_weight(tiny_model, lora_folder, tmp_path):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig.from_pretrained(tiny_model)
    config.hidden_size, config.intermediate_size = 48, 96
    other = LlamaForCausalLM(config)
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(ValueError, match="size mismatch"):
        merge_lora(other, lora_folder, plain_lora(lora_folder))
    assert all(torch.equal(before[k], v) for k, v in other.state_dict().items())
    with pytest.raises(ModelError, match="could not apply adapter"):
        adapters.apply_adapter(other, str(lora_folder), tiny_model)


def test_a_bfloat16_model_goes_to_peft(tiny_model, lora_folder):
    import torch

    model = fresh(tiny_model).to(torch.bfloat16)
    with pytest.raises(NotPlainLora, match="bfloat16"):
        merge_lora(model, lora_folder, plain_lora(lora_folder))


def test_loading_a_model_with_an_adapter_does_not_import_peft(tiny_model, lora_folder):
    code = ("import sys; from summarizer import models; "
            f"models.load_model({tiny_model!r}, adapter={str(lora_folder)!r}); print('peft' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_merged_weights_of_a_converted_model_are_kept_and_reused(tiny_model, tmp_path, monkeypatch):
    import shutil

    from summarizer import lora_cache, lora_merge

    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))
    base = tmp_path / "converted"
    shutil.copytree(tiny_model, base)
    (base / models.MARKER).write_text("{}")  # as prepare_cached marks a conversion
    adapter = make_adapter(str(base), tmp_path / "lora", seed=4)
    expected = fresh(str(base))
    merge_lora(expected, adapter, plain_lora(adapter))

    def load():
        model = fresh(str(base))
        return model, lora_cache.merge_kept(model, adapter, plain_lora(adapter), str(base))

    first, kept = load()
    assert not kept
    (entry,) = (tmp_path / "cache" / "merged").glob("*/*.safetensors")
    assert_same_model(first, expected)
    real_merge = lora_merge.merge_lora
    monkeypatch.setattr(lora_merge, "merge_lora", lambda *a: pytest.fail("merged again"))
    second, kept = load()
    assert kept
    assert_same_model(second, expected)
    assert_same_model(second, peft_merged(fresh(str(base)), adapter))
    monkeypatch.setattr(lora_merge, "merge_lora", real_merge)
    # a damaged entry is merged again; an adapter trained again replaces the entry
    entry.write_bytes(b"not safetensors")
    damaged, kept = load()
    assert not kept
    assert_same_model(damaged, expected)
    make_adapter(str(base), adapter, seed=5)
    retrained, kept = load()
    assert not kept and len(list((tmp_path / "cache" / "merged").glob("*/*.safetensors"))) == 1
    # through load_model, as a run loads it
    models._load_model.cache_clear()
    model = models.load_model(str(base), adapter=str(adapter))
    assert_same_model(model, retrained)


def test_a_folder_this_package_did_not_convert_keeps_nothing(tiny_model, lora_folder, tmp_path, monkeypatch):
    from summarizer import lora_cache

    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))
    assert not lora_cache.merge_kept(fresh(tiny_model), lora_folder, plain_lora(lora_folder), tiny_model)
    assert not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_the_shipped_adapter_merges_as_peft_merges_it():
    import torch

    from summarizer.trained import FOLDER

    ours = models.load_base_model("default", torch.float32)
    merge_lora(ours, FOLDER, plain_lora(FOLDER))
    assert_same_model(ours, peft_merged(models.load_base_model("default", torch.float32), FOLDER))
    # and the kept merged weights the runs load (written by the first run that merged them)
    from summarizer import lora_cache

    kept = models.load_base_model("default", torch.float32)
    lora_cache.merge_kept(kept, FOLDER, plain_lora(FOLDER), models.resolve("default"))
    again = models.load_base_model("default", torch.float32)
    assert lora_cache.merge_kept(again, FOLDER, plain_lora(FOLDER), models.resolve("default"))
    assert_same_model(kept, ours)
    assert_same_model(again, ours)

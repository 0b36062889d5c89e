"""The light tokenizer of a converted folder (summarizer/light_tokenizer.py): the same as
transformers' in every respect a caller can see, without importing transformers."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from summarizer import light_tokenizer, models, tokenizer_json

from .test_models import TEXTS, tokenizer_facts


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))


def converted(folder: str, tmp_path: Path, name: str = "converted") -> str:
    """A copy of a tiny model folder marked as converted by this package."""
    copy = tmp_path / name
    shutil.copytree(folder, copy)
    (copy / models.MARKER).write_text("{}")
    return str(copy)


@pytest.mark.parametrize("fixture", ["tiny_model", "tiny_chat_model"])
def test_the_second_load_is_light_and_the_same_as_transformers(request, tmp_path, fixture):
    from transformers import AutoTokenizer

    folder = converted(request.getfixturevalue(fixture), tmp_path)
    first = tokenizer_json.load(folder)
    assert not isinstance(first, light_tokenizer.LightTokenizer)  # the first load keeps the facts
    second = tokenizer_json.load(folder)
    assert isinstance(second, light_tokenizer.LightTokenizer)
    reference = tokenizer_facts(AutoTokenizer.from_pretrained(folder), TEXTS)
    assert tokenizer_facts(first, TEXTS) == reference
    assert tokenizer_facts(tokenizer_json.load(folder), TEXTS) == reference


def test_a_run_of_calls_on_the_light_tokenizer_imports_no_transformers(tiny_model, tmp_path):
    folder = converted(tiny_model, tmp_path)
    tokenizer_json.load(folder)  # keeps the facts
    code = (
        "import sys, json; from summarizer import tokenizer_json; t = tokenizer_json.load(sys.argv[1]); t.padding_side = 'left'; "
        "b = t(['Rain fell.', 'The council approved it on Monday.'], return_tensors='pt', padding=True).to('cpu'); "
        "one = t('Rain fell.', add_special_tokens=False)['input_ids']; "
        "out = [type(t).__name__, b['input_ids'].tolist(), b['attention_mask'].tolist(), one, "
        "t.batch_decode(b['input_ids'], skip_special_tokens=True), t.decode(one), t.pad_token_id, t.eos_token_id, "
        "t.all_special_ids, len(t)]; "
        "print(json.dumps(out)); print('transformers' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code, folder], capture_output=True, text=True, check=True)
    line, imported = done.stdout.strip().splitlines()[-2:]
    name, ids, mask, one, texts, text, pad, eos, special, length = json.loads(line)
    full = tokenizer_json.load(folder, light=False)
    full.padding_side = "left"
    batch = full(["Rain fell.", "The council approved it on Monday."], return_tensors="pt", padding=True)
    assert name == "LightTokenizer" and imported == "False"
    assert ids == batch["input_ids"].tolist() and mask == batch["attention_mask"].tolist()
    assert ids[0][0] == full.pad_token_id  # padded on the left
    assert one == full("Rain fell.", add_special_tokens=False)["input_ids"]
    assert texts == full.batch_decode(batch["input_ids"], skip_special_tokens=True) and text == "Rain fell."
    assert (pad, eos, special, length) == (full.pad_token_id, full.eos_token_id, full.all_special_ids, len(full))


def test_what_it_does_not_do_itself_transformers_answers(tiny_chat_model, tmp_path):
    folder = converted(tiny_chat_model, tmp_path)
    full = tokenizer_json.load(folder)
    light = tokenizer_json.load(folder)
    assert isinstance(light, light_tokenizer.LightTokenizer)
    messages = [{"role": "user", "content": "Summarize: rain fell."}]
    assert light.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == \
        full.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    long = " ".join(["rain"] * 50)
    assert light(long, truncation=True, max_length=5)["input_ids"] == full(long, truncation=True, max_length=5)[
        "input_ids"]
    assert light._transformers is not None  # the calls above built it


def test_token_conversions_are_transformers(tiny_model, tmp_path):
    folder = converted(tiny_model, tmp_path)
    full = tokenizer_json.load(folder)
    light = tokenizer_json.load(folder)
    tokens = ["<eos>", "<|end|>", "not-a-token", "Ġthe"]
    assert light.convert_tokens_to_ids(tokens) == full.convert_tokens_to_ids(tokens)
    assert [light.convert_tokens_to_ids(t) for t in tokens] == [full.convert_tokens_to_ids(t) for t in tokens]
    ids = [0, 1, 2, 5, 6, 40]
    for skip in (False, True):
        assert light.convert_ids_to_tokens(ids, skip_special_tokens=skip) == full.convert_ids_to_tokens(
            ids, skip_special_tokens=skip)
    assert light.convert_ids_to_tokens(6) == full.convert_ids_to_tokens(6)
    assert light._transformers is None  # answered by the light tokenizer itself


def test_a_changed_pad_token_pads_with_its_id(tiny_model, tmp_path):
    folder = converted(tiny_model, tmp_path)
    tokenizer_json.load(folder)
    light = tokenizer_json.load(folder)
    light.pad_token, light.padding_side = light.eos_token, "left"
    ids = light(["a", "the council approved"], padding=True)["input_ids"]
    assert light.pad_token_id == light.eos_token_id and ids[0][0] == light.eos_token_id
    assert light.transformers().pad_token == light.eos_token  # the fallback shares the setting
    light.padding_side = "right"  # and a change made after it was built
    assert light.transformers().padding_side == "right"
    assert light.pad(light(["a", "the council"]), padding=True)["input_ids"][0][-1] == light.eos_token_id


def test_no_facts_are_kept_where_transformers_would_decode_differently(tiny_model, tmp_path):
    folder = Path(converted(tiny_model, tmp_path))
    config = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**config, "clean_up_tokenization_spaces": True}))
    for _ in range(2):
        assert not isinstance(tokenizer_json.load(str(folder)), light_tokenizer.LightTokenizer)


def test_a_damaged_facts_entry_means_the_slow_way_again(tiny_model, tmp_path):
    folder = converted(tiny_model, tmp_path)
    tokenizer_json.load(folder)
    entry = light_tokenizer._facts_entry(Path(folder) / "tokenizer.json")
    entry.write_text("{not json")
    again = tokenizer_json.load(folder)
    assert not isinstance(again, light_tokenizer.LightTokenizer)
    assert isinstance(tokenizer_json.load(folder), light_tokenizer.LightTokenizer)  # written anew


def test_a_folder_not_converted_here_never_gets_it(tiny_model):
    for _ in range(2):
        assert not isinstance(tokenizer_json.load(tiny_model), light_tokenizer.LightTokenizer)

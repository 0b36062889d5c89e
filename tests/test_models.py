import json
import multiprocessing
import time
from pathlib import Path

import pytest

from summarizer import models, tokenizer_json
from summarizer.errors import ModelError


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))
    models.resolve.cache_clear()
    yield
    models.resolve.cache_clear()


def test_resolve_accepts_folders_and_hub_ids(tiny_model):
    assert models.resolve(tiny_model) == tiny_model
    assert models.resolve("google/gemma-3-270m") == "google/gemma-3-270m"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing.gguf", "does not exist"),
        (lambda p: (p / "folder").mkdir() or p / "folder", "has no config.json"),
        (lambda p: (p / "weights.bin").write_bytes(b"x") and p / "weights.bin", "not a .gguf file"),
        (lambda p: p / "no" / "such" / "thing", "not found; use 'default'"),
    ],
)
def test_resolve_errors_name_the_fix(tmp_path, make, message):
    with pytest.raises(ModelError, match=message):
        models.resolve(str(make(tmp_path)))


def _slow_build(counter: str):
    def build(tmp: Path) -> None:
        with open(counter, "a") as f:
            f.write("built\n")
        time.sleep(1.0)
        (tmp / "config.json").write_text("{}")

    return build


def _prepare_in_process(cache: str, counter: str, queue) -> None:
    import os

    os.environ["SUMMARIZER_CACHE"] = cache
    queue.put(str(models.prepare_cached("thing", _slow_build(counter))))


def test_concurrent_preparation_builds_once(tmp_path):
    cache, counter = str(tmp_path / "cache"), str(tmp_path / "count.txt")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_prepare_in_process, args=(cache, counter, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    results = {queue.get(timeout=5) for _ in procs}
    assert len(results) == 1
    target = Path(results.pop())
    assert Path(counter).read_text() == "built\n"
    assert (target / "config.json").is_file()
    assert json.loads((target / models.MARKER).read_text())["key"] == "thing"
    assert not [p for p in target.parent.iterdir() if ".tmp-" in p.name]


def test_failed_build_leaves_nothing_behind(tmp_path):
    def broken(tmp: Path) -> None:
        (tmp / "half.bin").write_bytes(b"x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        models.prepare_cached("broken", broken)
    folder = tmp_path / "cache" / "models"
    assert sorted(p.name for p in folder.iterdir()) == ["broken.lock"]
    # the next call builds it properly
    target = models.prepare_cached("broken", lambda tmp: (tmp / "ok").write_text("1"))
    assert (target / "ok").is_file()


def test_device_and_dtype_choices():
    import torch

    assert models.pick_device("cpu") == "cpu"
    assert models.pick_dtype("auto", "cpu") == torch.float32
    assert models.pick_dtype("bfloat16", "cpu") == torch.bfloat16
    assert models.pick_dtype("mixed", "cpu") == torch.float32  # loaded in fp32, products switched after
    with pytest.raises(ModelError, match="valid choices: auto, cpu, cuda, mps"):
        models.pick_device("tpu")
    with pytest.raises(ModelError, match="valid choices: auto, float32, mixed, bfloat16, float16"):
        models.pick_dtype("int3", "cpu")


def test_chat_model_detection(tiny_model, tiny_chat_model):
    assert not models.is_chat_model(tiny_model, models.load_tokenizer(tiny_model))
    assert models.is_chat_model(tiny_chat_model, models.load_tokenizer(tiny_chat_model))


def test_tokenizer_pads_on_the_left(tiny_model):
    assert models.load_tokenizer(tiny_model).padding_side == "left"


def test_gguf_files_are_converted_once_and_again_when_changed(tmp_path, monkeypatch):
    conversions = []

    def fake_convert(gguf: Path, out: Path) -> None:
        conversions.append(gguf)
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(models, "convert_gguf", fake_convert)
    gguf = tmp_path / "my-model.gguf"
    gguf.write_bytes(b"GGUF v1")
    first = models.resolve(str(gguf))
    models.resolve.cache_clear()
    assert models.resolve(str(gguf)) == first and len(conversions) == 1
    assert Path(first).name.startswith("my-model-")
    gguf.write_bytes(b"GGUF v2, a different file")
    models.resolve.cache_clear()
    assert models.resolve(str(gguf)) != first and len(conversions) == 2


def test_a_model_is_loaded_once_however_the_call_is_spelled(tiny_model):
    assert models.load_model(tiny_model) is models.load_model(tiny_model, device="auto", dtype="auto")
    assert models.load_model(tiny_model) is models.load_model(tiny_model, "auto", "auto")


@pytest.mark.parametrize("content", [b"", b"not a model at all", b"\x00" * 64])
def test_a_file_that_is_not_gguf_is_refused_before_converting(tmp_path, monkeypatch, content):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(content)
    monkeypatch.setattr(models, "convert_gguf", lambda *a: pytest.fail("a non-GGUF file was converted"))
    with pytest.raises(ModelError, match="is not a GGUF file"):
        models.resolve(str(fake))


def test_a_truncated_gguf_is_a_model_error(tmp_path):
    broken = tmp_path / "cut.gguf"
    broken.write_bytes(b"GGUF\x03\x00\x00\x00cut short")
    with pytest.raises(ModelError, match="could not convert model file"):
        models.resolve(str(broken))
    assert not list((tmp_path / "cache" / "models").glob("cut-*/"))  # nothing half-built is kept


def test_an_empty_adapter_folder_is_found_before_the_model_is_prepared(tmp_path, monkeypatch):
    (tmp_path / "adapter").mkdir()
    monkeypatch.setattr(models, "prepare_default", lambda: pytest.fail("the default model was converted first"))
    with pytest.raises(ModelError, match="has no adapter_config.json"):
        models.check("default", str(tmp_path / "adapter"))


# --- quick start: the tokenizer read from tokenizer.json, the digests kept, the collector paused ---

def tokenizer_facts(tokenizer, texts):
    """Everything about a tokenizer that this package (or a caller) can see."""
    import json as _json

    # as loaded: transformers' tokenizer leaves the padding of its last call set on its backend
    backend = _json.loads(tokenizer.backend_tokenizer.to_str())
    encoded = [tokenizer(t, add_special_tokens=a)["input_ids"] for t in texts for a in (True, False)]
    batch = tokenizer(texts[:3], return_tensors="pt", padding=True)
    return {
        "backend": backend,
        "vocab": sorted(tokenizer.get_vocab().items()),
        "added": [(k, repr(v)) for k, v in sorted(tokenizer.added_tokens_decoder.items())],
        "special": {k: str(getattr(tokenizer, k)) for k in ("bos_token", "eos_token", "pad_token", "unk_token")},
        "special_ids": tokenizer.all_special_ids,
        "init_kwargs": {k: repr(v) for k, v in tokenizer.init_kwargs.items()},
        "attributes": {k: repr(getattr(tokenizer, k, None)) for k in (
            "padding_side", "truncation_side", "model_max_length", "chat_template", "name_or_path",
            "split_special_tokens", "add_bos_token", "add_eos_token", "clean_up_tokenization_spaces",
            "model_input_names")},
        "length": len(tokenizer),
        "encoded": encoded,
        "batch": {k: v.tolist() for k, v in batch.items()},
        "decoded": [tokenizer.decode(e, skip_special_tokens=s) for e in encoded for s in (True, False)],
    }


TEXTS = ["The council approved the new bridge on Monday.", "<bos>Dr. Lee <eos> said\n\n4.5  million",
         "Ünïcode, 北京, emoji 🙂", "", "  spaces\tand tabs  "]


@pytest.mark.parametrize("fixture", ["tiny_model", "tiny_chat_model"])
def test_the_tokenizer_read_from_its_json_is_autotokenizers(request, fixture):
    from transformers import AutoTokenizer

    folder = request.getfixturevalue(fixture)
    ours = tokenizer_json.load(folder)
    assert ours is not None, "the tiny models' tokenizers take the fast way"
    assert tokenizer_facts(ours, TEXTS) == tokenizer_facts(AutoTokenizer.from_pretrained(folder), TEXTS)


def test_folders_the_fast_way_does_not_know_go_to_autotokenizer(tiny_model, tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(tiny_model, folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    # a class that rebuilds its pipeline in Python, in a folder this package did not write
    (folder / "tokenizer_config.json").write_text(json.dumps({**config, "tokenizer_class": "GemmaTokenizer"}))
    assert tokenizer_json.load(str(folder)) is None
    (folder / models.MARKER).write_text("{}")  # converted here: its tokenizer.json is GemmaTokenizer's own
    assert tokenizer_json.load(str(folder)) is not None
    (folder / "special_tokens_map.json").write_text("{}")  # an older format that AutoTokenizer merges in
    assert tokenizer_json.load(str(folder)) is None


def test_a_converted_folders_tokenizer_is_read_from_its_compact_copy(tiny_model, tmp_path):
    """Merges written as strings load faster; the copy is made on the first load and read
    from then on, and the tokenizer is the same in every respect."""
    import shutil

    from transformers import AutoTokenizer

    folder = tmp_path / "converted"
    shutil.copytree(tiny_model, folder)
    file = folder / "tokenizer.json"
    assert tokenizer_json.load(str(folder)) is not None and tokenizer_json.compact_copy(file) is None  # not ours
    (folder / models.MARKER).write_text("{}")
    first = tokenizer_json.load(str(folder))
    compact = tokenizer_json.compact_copy(file)
    assert compact is not None
    merges = json.loads(compact.read_text(encoding="utf-8"))["model"]["merges"]
    assert merges and all(isinstance(m, str) and m.count(" ") == 1 for m in merges)
    second = tokenizer_json.load(str(folder))
    reference = tokenizer_facts(AutoTokenizer.from_pretrained(str(folder)), TEXTS)
    assert tokenizer_facts(first, TEXTS) == reference == tokenizer_facts(second, TEXTS)
    # the copy is what the second load read: a copy changed behind its back changes the tokenizer
    changed = json.loads(compact.read_text(encoding="utf-8")) | {"normalizer": {"type": "Lowercase"}}
    compact.write_text(json.dumps(changed), encoding="utf-8")
    assert tokenizer_json.load(str(folder))("ABC")["input_ids"] == tokenizer_json.load(str(folder))("abc")["input_ids"]
    # a changed tokenizer.json is a new entry (the old copy is not used for it)
    file.write_text(file.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert tokenizer_json.compact_copy(file) is None


def test_no_compact_copy_where_a_merged_piece_holds_a_space(tiny_model, tmp_path):
    data = json.loads((Path(tiny_model) / "tokenizer.json").read_text(encoding="utf-8"))
    data["model"]["merges"][0] = ["a b", "c"]
    (tmp_path / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    assert tokenizer_json.write_compact_copy(tmp_path / "tokenizer.json") is False
    assert tokenizer_json.compact_copy(tmp_path / "tokenizer.json") is None


def test_added_tokens_are_read_alone_or_left_to_transformers(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps({"version": "1.0", "truncation": None, "padding": None, "added_tokens": [
        {"id": 0, "content": "<pad>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": True}], "model": {"vocab": {"x": 0}}}))
    added = tokenizer_json.added_tokens(path)
    assert list(added) == [0] and added[0].content == "<pad>" and added[0].special
    path.write_text(json.dumps({"version": "1.0", "model": {}}))
    assert tokenizer_json.added_tokens(path) is None


def test_a_large_files_digest_is_kept_until_the_file_changes(tmp_path, monkeypatch):
    import hashlib
    import os

    from summarizer import adapters

    monkeypatch.setattr(adapters, "REMEMBER_DIGEST_BYTES", 10)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + bytes(100))
    expected = hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert adapters.base_digest(str(gguf)) == expected
    kept = list((tmp_path / "cache" / "digests").iterdir())
    assert [p.read_text().strip() for p in kept] == [expected]
    # a new process (no in-memory cache) reads the kept digest instead of hashing the file
    adapters._digest.cache_clear()
    opened = []
    real_open = open
    with monkeypatch.context() as patch:
        patch.setattr("builtins.open", lambda f, *a, **k: opened.append(str(f)) or real_open(f, *a, **k))
        assert adapters.base_digest(str(gguf)) == expected
    assert str(gguf.resolve()) not in opened
    # the file changes (size and time): hashed again
    gguf.write_bytes(b"GGUF" + bytes(200))
    os.utime(gguf, ns=(1, 2))
    adapters._digest.cache_clear()
    assert adapters.base_digest(str(gguf)) == hashlib.sha256(gguf.read_bytes()).hexdigest()


def test_loading_pauses_the_collector_and_freezes_what_it_loaded(tiny_model):
    import gc

    models._load_model.cache_clear()
    before = gc.get_freeze_count()
    assert gc.isenabled()
    models.load_model(tiny_model)
    assert gc.isenabled() and gc.get_freeze_count() > before
    gc.disable()  # a caller's own choice is kept
    try:
        models._load_model.cache_clear()
        models.load_model(tiny_model)
        assert not gc.isenabled()
    finally:
        gc.enable()

import torch

from summarizer.config import load_pipeline
from summarizer.fasthead import candidate_ids, restricted_head
from summarizer.models import load_model, load_tokenizer
from summarizer.pipeline import Pipeline
from summarizer.records import Record

from .conftest import ARTICLES


def test_candidates_cover_prompt_specials_and_frequent_ids(tiny_model):
    tokenizer = load_tokenizer(tiny_model)
    ids = tokenizer(["The council approved the new bridge"], return_tensors="pt")["input_ids"]
    cands = candidate_ids(tokenizer, ids, 10)
    assert set(range(10)) <= set(cands.tolist())
    assert set(ids.flatten().tolist()) <= set(cands.tolist())
    assert tokenizer.eos_token_id in cands.tolist()
    assert cands.tolist() == sorted(set(cands.tolist()))


def test_restricted_head_is_exact_on_candidates_and_restores_the_model(tiny_model):
    tokenizer, model = load_tokenizer(tiny_model), load_model(tiny_model)
    ids = tokenizer(["Rain flooded the harbour"], return_tensors="pt")["input_ids"]
    cands = candidate_ids(tokenizer, ids, 20)
    with torch.inference_mode():
        full = model(ids).logits
        head = model.get_output_embeddings()
        with restricted_head(model, cands):
            part = model(ids).logits
        assert model.get_output_embeddings() is head
    assert torch.allclose(part[..., cands], full[..., cands], atol=1e-5)
    others = torch.ones(full.shape[-1], dtype=torch.bool)
    others[cands] = False
    assert (part[..., others] == torch.finfo(part.dtype).min).all()


def test_generation_with_a_restricted_head_only_uses_candidates(tiny_model):
    overrides = [f"generate.model={tiny_model!r}", "generate.max_new_tokens=10"]
    records = [Record(id=k, text=v) for k, v in ARTICLES.items()]
    full = list(Pipeline(load_pipeline("default", overrides)).run(records))
    records = [Record(id=k, text=v) for k, v in ARTICLES.items()]
    whole_vocab = list(Pipeline(load_pipeline("default", overrides + ["generate.head_vocab=100000"])).run(records))
    # a candidate set that holds the whole vocabulary gives exactly the full head's output
    assert [r.generation for r in whole_vocab] == [r.generation for r in full]


def test_greedy_steps_with_a_restricted_head_pick_candidates_only(tiny_model):
    tokenizer, model = load_tokenizer(tiny_model), load_model(tiny_model)
    encoded = tokenizer(["The council approved the new bridge on Monday."], return_tensors="pt")
    cands = candidate_ids(tokenizer, encoded["input_ids"], 5)
    with torch.inference_mode(), restricted_head(model, cands):
        out = model.generate(**encoded, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    new = out[0, encoded["input_ids"].shape[1]:].tolist()
    assert new and set(new) <= set(cands.tolist())


def test_the_fixed_candidates_of_a_converted_model_are_kept_on_disk(tiny_model, tmp_path, monkeypatch):
    import shutil

    from summarizer import fasthead, models, tokenizer_json

    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "converted"
    shutil.copytree(tiny_model, folder)
    (folder / models.MARKER).write_text("{}")  # as prepare_cached marks a conversion
    tokenizer = tokenizer_json.load(str(folder))
    expected = fasthead._fixed_candidates(load_tokenizer(tiny_model), 7)  # not converted: not kept
    assert not (tmp_path / "cache" / "candidates").exists()
    assert fasthead._fixed_candidates(tokenizer, 7) == expected
    (kept,) = (tmp_path / "cache" / "candidates").iterdir()
    # another process reads them back instead of scanning the vocabulary
    fasthead._FIXED.clear()
    monkeypatch.setattr(type(tokenizer), "get_vocab", lambda self: (_ for _ in ()).throw(AssertionError("scanned")))
    assert fasthead._fixed_candidates(tokenizer, 7) == expected
    # another size is another entry; a damaged entry is computed again
    monkeypatch.undo()
    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))
    fasthead._FIXED.clear()
    kept.write_text("3 2 1")
    assert fasthead._fixed_candidates(tokenizer, 7) == expected

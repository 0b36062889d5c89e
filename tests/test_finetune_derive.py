"""Training derivations: fusion pairs for a generate stage, compression pairs for rewrite."""

import json

import pytest

from summarizer.errors import ConfigError
from summarizer.finetune import FinetuneConfig, finetune
from summarizer.finetune_derive import compression, fusion, reference_sentences
from summarizer.finetune_pairs import build_prompts, encode, read_pairs
from summarizer.pipeline import Pipeline
from summarizer.prompt import make_prompt
from summarizer.records import Record
from summarizer.stages import STAGES, run_chain

from .conftest import ARTICLES
from .test_finetune import fast

BRIDGE = ARTICLES["bridge"]


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_reference_sentences_are_split_and_lose_tokenization_spaces():
    assert reference_sentences("Council approves bridge .\nWork will cost 4.5 million , Lee says .") == [
        "Council approves bridge.", "Work will cost 4.5 million, Lee says."]


def test_fusion_keeps_only_sentences_the_extract_supports():
    extract_only = "The council of Elmsford approved a new bridge on Monday. It will cost 4.5 million crowns."
    record = Record(id="a", text=extract_only + " Dr. Ana Lee spoke later.", sentences=[[0, 57], [58, 97], [98, 123]],
                    extract=[0, 1], prompt="P",
                    reference="Elmsford approves a bridge. It costs 4.5 million crowns. Lee says 2031.")
    invented = Record(id="b", text=extract_only, sentences=[[0, 57], [58, 97]], extract=[0, 1], prompt="P",
                      reference="Kent gets 7 new bridges.")
    kept, report = fusion([record, invented])
    assert [r.id for r in kept] == ["a"]
    # "Lee" and 2031 are in the article but not in the extract the model is given
    assert kept[0].reference == "Elmsford approves a bridge. It costs 4.5 million crowns."
    assert report.as_dict() == {
        "derivation": "fusion", "pairs_in": 2, "pairs_used": 1, "examples": 1, "reference_sentences": 4,
        "sentences_kept": 2,
        "dropped": {"reference sentence(s) with a number or name the model's input lacks": 2,
                    "pair(s) left without a reference sentence": 1}}


def test_fusion_without_the_check_keeps_every_sentence():
    record = Record(id="b", text="A bridge opens.", sentences=[[0, 15]], extract=[0], prompt="P",
                    reference="Kent gets 7 new bridges.")
    kept, report = fusion([record], check_facts=False)
    assert kept[0].reference == "Kent gets 7 new bridges." and report.sentences_kept == 1 and not report.dropped


def test_compression_pairs_align_each_reference_sentence_to_its_article_sentence(tiny_model):
    pipe = Pipeline.load("compress", model=tiny_model)
    record = Record(id="a", text=BRIDGE, reference="Dr. Ana Lee says the work will cost 4.5 million crowns.\n"
                                                    "Elmsford residents want a ferry.\n"
                                                    "Construction starts in May.\n"
                                                    "Lee says it will cost 9 million crowns.")
    (record,) = run_chain(["chunk", "extract"], [record], pipe.ctx)
    examples, report = compression([record], pipe.ctx)
    sentence = "Dr. Ana Lee said the work would cost 4.5 million crowns and take two years."
    assert [(e.text, e.reference) for e in examples] == [
        (sentence, "Dr. Ana Lee says the work will cost 4.5 million crowns.")]
    assert examples[0].prompt == make_prompt(sentence, pipe.config.rewrite, pipe.ctx)
    assert examples[0].id == "a#sentence1"
    assert report.as_dict()["dropped"] == {
        "no article sentence holds 75% of its content words": 1,  # the ferry is in no sentence
        "not shorter than its article sentence": 1,               # "Construction starts in May."
        "a number or name its article sentence lacks": 1,         # 9 million
    }
    assert (report.pairs_used, report.examples, report.reference_sentences) == (1, 1, 4)


def test_finetune_trains_the_rewrite_stage_on_compression_pairs(tiny_trainable_model, tmp_path):
    rows = [{"id": f"p{i}", "article": BRIDGE, "summary": "Dr. Ana Lee says the work will cost 4.5 million crowns."}
            for i in range(4)]
    pairs = write(tmp_path / "t.jsonl", rows)
    pipe = Pipeline.load("compress", model=tiny_trainable_model)
    built = build_prompts(read_pairs(pairs), pipe)
    (example, *_) = encode(built, pipe, FinetuneConfig())
    assert built.records[0].prompt.endswith("Sentence: Dr. Ana Lee said the work would cost 4.5 million crowns and "
                                            "take two years.\nShort:")
    target = [t for t in example["labels"] if t != -100]
    assert pipe.ctx.tokenizer.decode(target, skip_special_tokens=True) == " Dr. Ana Lee says the work will cost 4.5 million crowns."
    result = finetune(pairs, tmp_path / "adapter", pipeline="compress", model=tiny_trainable_model,
                      config=fast(max_steps=2))
    data = result.metadata["data"]
    assert result.trained and data["pairs_used"] == 4
    assert data["derivation"]["derivation"] == "compression" and data["derivation"]["examples"] == 4


def test_finetune_reports_the_fusion_derivation_and_can_keep_unsupported(tiny_trainable_model, tmp_path):
    rows = [{"id": "a", "article": BRIDGE, "summary": "Elmsford approves a bridge. Then Kent objects."},
            {"id": "b", "article": BRIDGE, "summary": "Troops from Zorbania invade."}]
    pairs = write(tmp_path / "t.jsonl", rows)
    result = finetune(pairs, tmp_path / "adapter", model=tiny_trainable_model, config=fast(max_steps=1))
    derivation = result.metadata["data"]["derivation"]
    assert (derivation["pairs_in"], derivation["pairs_used"], derivation["sentences_kept"]) == (2, 1, 1)
    kept = finetune(pairs, tmp_path / "all", model=tiny_trainable_model, config=fast(max_steps=1, check_facts=False))
    assert kept.metadata["data"]["derivation"]["pairs_used"] == 2


def test_a_model_stage_without_a_derivation_is_refused(tiny_trainable_model, tmp_path):
    def own(records, ctx):
        yield from records

    own.uses_model = True
    STAGES.register("test_derive_unknown_model_stage")(own)
    pipeline = tmp_path / "own.toml"
    pipeline.write_text('stages = ["chunk", "extract", "test_derive_unknown_model_stage", "filter"]\n')
    pairs = write(tmp_path / "t.jsonl", [{"id": "a", "article": BRIDGE, "summary": "A bridge."}])
    with pytest.raises(ConfigError, match="make no prompt"):
        finetune(pairs, tmp_path / "x", pipeline=str(pipeline), model=tiny_trainable_model, config=fast())

"""summarizer train-extractor: the training pairs, the networks, the command end to end."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from summarizer.cli import main
from summarizer.config import load_pipeline
from summarizer.errors import ConfigError, InputError
from summarizer.extractor_data import assign_folds, learn_lexicon, prepare
from summarizer.extractor_fit import FitSettings, fit_length, fit_network, sentence_weights
from summarizer.pipeline import Pipeline
from summarizer.records import Record
from summarizer.scorer import Scorer
from summarizer.train_extractor import ExtractorTraining, split, train_extractor

PLACES = ["Alder", "Birch", "Cedar", "Dunmore", "Elm", "Fenwick", "Glen", "Harrow"]
FILLER = ["The weather was mild for the season.", "Local shops opened as usual.", "Traffic was light in the morning.",
          "A market is held there on Saturdays.", "The town hall dates from the last century."]


def pair(i: int) -> dict:
    """An article whose summary is its sentence with the news (a count, a place), which stands
    at a different position in each article, after some filler."""
    place = PLACES[i % len(PLACES)]
    news = f"Police in {place} arrested {i + 3} men after a raid on the harbour."
    filler = FILLER[i % 5:] + FILLER[:i % 5]
    at = i % 4
    sentences = filler[:at] + [news] + filler[at:]
    return {"id": f"p{i}", "article": " ".join(sentences), "summary": f"{place} police arrest {i + 3} men in harbour raid."}


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(pair(i)) + "\n" for i in range(48)), encoding="utf-8")
    return path


def records(n=12):
    return [Record(id=p["id"], text=p["article"], reference=p["summary"], meta={"source": "a" if i % 2 else "b"})
            for i, p in enumerate(pair(i) for i in range(n))]


def test_examples_hold_features_and_oracle_labels():
    examples = list(prepare(records(4), load_pipeline("extractive")))
    assert len(examples) == 4
    for i, example in enumerate(examples):
        assert example.oracle == [i % 4]  # the news sentence, wherever it stands
        assert example.features.shape[0] == len(example.texts) == len(example.tokens)
        assert example.gains.max() == 1.0 and example.gains[i % 4] == 1.0
        target = example.target(0.5)
        assert target[i % 4] == 1.0 and np.all(target <= 1)


def test_pairs_without_a_reference_are_left_out():
    pairs = records(3)
    pairs[1].reference = ""
    assert [e.id for e in prepare(pairs, load_pipeline("extractive"))] == ["p0", "p2"]


def test_the_lexicon_weighs_what_summaries_keep():
    lexicon = learn_lexicon(list(prepare(records(12), load_pipeline("extractive"))))
    assert lexicon["police"] > 0 > lexicon["weather"]


def test_split_is_seeded_and_spread_over_inputs():
    pairs = records(20)
    train, held = split(pairs, 0.2, seed=0)
    assert len(held) == 4 and {r.meta["source"] for r in held} == {"a", "b"}
    assert not {r.id for r in train} & {r.id for r in held}
    assert [r.id for r in split(pairs, 0.2, seed=0)[1]] == [r.id for r in held]
    assert [r.id for r in split(pairs, 0.2, seed=1)[1]] != [r.id for r in held]
    assert split(pairs, 0.0, seed=0) == (pairs, [])


def test_folds_spread_every_input():
    examples = list(prepare(records(12), load_pipeline("extractive")))
    folds = assign_folds(examples, 3, seed=0)
    for group in ("a", "b"):
        assert sorted(f for e, f in zip(examples, folds) if e.group == group) == [0, 0, 1, 1, 2, 2]


def test_training_lowers_the_loss():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] > 0).astype(float)
    network, losses = fit_network(x, y, np.ones(200), FitSettings(hidden=8, epochs=150))
    assert losses[-1] < 0.5 * losses[0]
    assert np.mean((network(x) > 0) == (y > 0)) > 0.9


def test_the_length_head_learns_the_best_length():
    rows = np.tile(np.arange(1, 5, dtype=float)[None, :, None], (30, 1, 1))  # one feature: k
    rewards = np.tile(np.array([0.1, 0.2, 0.9, 0.3]), (30, 1))
    head, losses = fit_length(rows, rewards, np.ones(30), FitSettings(hidden=8, epochs=300, learning_rate=1e-2))
    assert losses[-1] < losses[0]
    assert int(np.argmax(head(rows[0]))) == 2


def test_sentence_weights_balance_documents_and_inputs():
    weights = sentence_weights([2, 4, 1], ["a", "a", "b"])
    assert weights.tolist() == [0.25, 0.25, 0.125, 0.125, 0.125, 0.125, 1.0]


def test_train_extractor_writes_a_usable_model(tmp_path, pairs_file):
    lines = []
    result = train_extractor([pairs_file], tmp_path / "model.json", settings=ExtractorTraining(
        folds=2, epochs=60, hidden=8, heldout_share=0.25), say=lines.append, progress=False)
    model = Scorer.load(str(result.output))
    meta = model.metadata
    assert meta["data"]["examples"] == 36 and meta["data"]["heldout_pairs"] == 12
    assert meta["losses"]["scorer_last"] < meta["losses"]["scorer_first"]
    assert set(meta["heldout"]["all"]) >= {"lead1", "lead3", "learned", "gain_over_lead3", "gain_over_lead1"}
    assert any("held-out ROUGE" in line for line in lines)
    pipe = Pipeline.load("extractive", overrides=["extract.strategy=learned",
                                                  f"extract.scorer={json.dumps(str(result.output))}"])
    assert pipe(pair(100)["article"])


def test_members_make_an_ensemble_whose_first_member_is_the_single_network(tmp_path, pairs_file):
    settings = dict(folds=2, epochs=40, hidden=8, heldout_share=0)
    single = train_extractor([pairs_file], tmp_path / "one.json", settings=ExtractorTraining(**settings),
                             progress=False).model
    three = Scorer.load(str(train_extractor([pairs_file], tmp_path / "three.json", progress=False,
                                            settings=ExtractorTraining(members=3, **settings)).output))
    assert json.loads((tmp_path / "three.json").read_text())["version"] == 2
    assert three.metadata["settings"]["members"] == 3 and three.metadata["format"] == "summarizer-extractor 2"
    assert len(three.scorer.members) == 3 and len(three.length.members) == 3
    x = np.concatenate([e.features for e in prepare(records(4), load_pipeline("extractive"))])
    # Member m is trained from seed + m: the first is the single model, the others differ.
    assert np.allclose(three.scorer.members[0](x), single.scorer(x), atol=1e-4)
    assert not np.allclose(three.scorer.members[1](x), single.scorer(x), atol=1e-3)
    assert np.allclose(three.scorer(x), np.mean([m(x) for m in three.scorer.members], axis=0))


def test_bad_settings_and_too_few_pairs(tmp_path, pairs_file):
    with pytest.raises(ConfigError, match="train-extractor.folds"):
        train_extractor([pairs_file], tmp_path / "m.json", settings=ExtractorTraining(folds=1))
    tiny = tmp_path / "tiny.jsonl"
    tiny.write_text(json.dumps(pair(0)) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="at least --folds"):
        train_extractor([tiny], tmp_path / "m.json", settings=ExtractorTraining(heldout_share=0))


def test_the_command_end_to_end(tmp_path, pairs_file):
    held = tmp_path / "held.jsonl"
    held.write_text("".join(json.dumps(pair(i)) + "\n" for i in range(48, 56)), encoding="utf-8")
    out = tmp_path / "model.json"
    result = CliRunner().invoke(main, ["train-extractor", str(pairs_file), "-o", str(out), "--heldout", str(held),
                                       "--folds", "2", "--epochs", "60", "--hidden", "8", "--members", "2"])
    assert result.exit_code == 0, result.output
    assert "lead3" in result.output and "over lead-3 on 8 held-out pairs" in result.output
    assert "--set extract.scorer=" in result.output
    assert Scorer.load(str(out)).metadata["data"]["heldout_pairs"] == 8
    assert len(Scorer.load(str(out)).scorer.members) == 2
    summary = CliRunner().invoke(main, ["summarize", "-p", "extractive", "--set", "extract.strategy=learned",
                                        "--set", f"extract.scorer={json.dumps(str(out))}"], input=pair(99)["article"])
    assert summary.exit_code == 0 and summary.output.strip()


def test_the_command_refuses_a_missing_input(tmp_path):
    result = CliRunner().invoke(main, ["train-extractor", str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "m.json")])
    assert result.exit_code == 1 and "none.jsonl" in result.output

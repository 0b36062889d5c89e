"""The model file (summarizer/scorer.py) and the learned strategy that reads it (summarizer/learned.py)."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from summarizer.cli import main
from summarizer.config import load_pipeline
from summarizer.errors import ConfigError, ModelError
from summarizer.extract import STRATEGIES
from summarizer.features import FEATURES
from summarizer.pipeline import Pipeline
from summarizer.records import Record
from summarizer.scorer import BUILTIN_FILE, FORMAT, LENGTH_FEATURES, VERSION, Ensemble, Network, Scorer, digest

ARTICLE = ("The river rose two metres overnight. Farmers moved their cattle to higher ground. "
           "The army sent boats to the valley. Schools will stay closed until Friday. "
           "Forecasters expect more rain next week.")


def tiny_model(length: int = 2) -> Scorer:
    """A lead-like scorer (the earlier the sentence, the higher its probability) and a length
    head whose output is -|k - length|, so it always picks ``length`` sentences."""
    n = len(FEATURES)
    weight = np.zeros((1, n))
    weight[0, FEATURES.index("rank_inverse")] = 4.0
    scorer = Network(np.zeros(n), np.ones(n), [(weight, np.array([-2.0]))])
    m = len(LENGTH_FEATURES)
    first = np.zeros((2, m))
    first[0, 0], first[1, 0] = 1.0, -1.0  # relu(k - length), relu(length - k)
    head = Network(np.zeros(m), np.ones(m), [(first, np.array([-length, length], dtype=float)),
                                               (np.array([[-1.0, -1.0]]), np.array([0.0]))])
    return Scorer(features=list(FEATURES), scorer=scorer, length=head, max_sentences=5, lexicon={"river": 1.0})


@pytest.fixture
def model_file(tmp_path):
    return tiny_model().save(tmp_path / "model.json")


def run(text, model_file, *overrides, **options):
    pipe = Pipeline.load("extractive", overrides=[
        "extract.strategy=learned", f"extract.scorer={json.dumps(str(model_file))}", "extract.budget_tokens=0",
        "extract.max_sentences=0", *overrides], **options)
    return next(pipe.run([Record(id="x", text=text)]))


def test_learned_is_a_registered_strategy():
    assert "learned" in STRATEGIES.names()


def test_the_shipped_model_loads_and_scores():
    model = Scorer.load("builtin")
    assert BUILTIN_FILE.is_file() and set(model.features) <= set(FEATURES)
    assert model.metadata["heldout"]["all"]["pairs"] > 0
    record = run(ARTICLE, "builtin")
    assert record.error is None and 1 <= len(record.extract) <= model.max_sentences


def test_the_model_file_round_trips(model_file):
    loaded = Scorer.load(str(model_file))
    original = tiny_model()
    assert loaded.to_dict() == original.to_dict()
    record = next(Pipeline.load("lead3").run([Record(id="x", text=ARTICLE)]))
    pool = list(range(len(record.sentences)))
    assert np.allclose(loaded.probabilities(record, pool)[0], original.probabilities(record, pool)[0])


def test_the_model_picks_the_length(model_file):
    assert run(ARTICLE, model_file).extract == [0, 1]


def test_fixed_lengths_override_the_model(model_file):
    assert run(ARTICLE, model_file, "extract.max_sentences=3").extract == [0, 1, 2]
    assert run(ARTICLE, model_file, sentences=1).extract == [0]
    assert run(ARTICLE, model_file, sentences=4).extract == [0, 1, 2, 3]


def test_sentences_option_on_the_command_line(model_file):
    result = CliRunner().invoke(main, ["summarize", "-p", "extractive", "--set", "extract.strategy=learned",
                                       "--set", f"extract.scorer={json.dumps(str(model_file))}",
                                       "--set", "extract.budget_tokens=0", "--sentences", "1"], input=ARTICLE)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "The river rose two metres overnight."


def test_the_budget_still_bounds_the_learned_length(model_file):
    record = run(ARTICLE, model_file, "extract.budget_tokens=8")
    assert record.extract == [0]


def test_empty_and_one_sentence_documents(model_file):
    assert "no text" in run("   ", model_file).error
    record = run("Only one sentence here.", model_file)
    assert record.error is None and record.summary == "Only one sentence here."


def test_chinese_text(model_file):
    record = run("北京今天下了大雪。交通受到严重影响。市民出行请注意安全。气象台发布了预警。", model_file)
    assert record.error is None and record.extract == [0, 1]


def write(path, data):
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(format="something-else"), ["not an extractor model", "'something-else'"]),
    (lambda d: d.update(version=VERSION + 1), [f"version {VERSION + 1}", "newer summarizer"]),
    (lambda d: d.update(version=0), ["version 0", "reads versions 1 and 2"]),
    (lambda d: d.update(version=2, scorer={"members": []}), ["members is not a list of networks"]),
    (lambda d: d.update(version=2, scorer={"members": [d["scorer"], {"mean": [0.0]}]}), ["member 2", "not a network"]),
    (lambda d: d.update(features=["rank_inverse", "mystery"]), ["'mystery'", "known features"]),
    (lambda d: d["length"].update(features=["k"]), ["length head"]),
    (lambda d: d["scorer"]["layers"][0].update(weight=[[1.0, 2.0]]), ["shapes"]),
    (lambda d: d["scorer"].update(mean="zero"), ["not a network of numbers"]),
    (lambda d: d["length"].update(max_sentences=0), ["max_sentences = 0"]),
])
def test_a_wrong_model_file_is_refused_with_the_fix(tmp_path, change, words):
    data = tiny_model().to_dict()
    change(data)
    path = write(tmp_path / "bad.json", data)
    with pytest.raises(ModelError) as caught:
        Scorer.load(str(path))
    message = str(caught.value)
    assert str(path) in message and "summarizer train-extractor" in message and 'extract.scorer = "builtin"' in message
    for word in words:
        assert word in message


def test_an_ensemble_scores_with_the_mean_of_its_members(tmp_path):
    one, other = tiny_model(), tiny_model(length=3)
    other.scorer.layers[0] = (other.scorer.layers[0][0] * 3, other.scorer.layers[0][1] - 1)
    both = Scorer(features=one.features, scorer=Ensemble([one.scorer, other.scorer]),
                  length=Ensemble([one.length, other.length]), max_sentences=one.max_sentences)
    data = both.to_dict()
    assert data["version"] == 2 and len(data["scorer"]["members"]) == 2 and one.to_dict()["version"] == 1
    loaded = Scorer.load(str(write(tmp_path / "ensemble.json", data)))
    x = np.random.default_rng(0).normal(size=(5, len(one.features)))
    assert np.allclose(loaded.scorer(x), (one.scorer(x) + other.scorer(x)) / 2)
    assert isinstance(loaded.length, Ensemble) and len(loaded.length.members) == 2
    # A version-1 file holds single networks only: members there are not read as an ensemble.
    with pytest.raises(ModelError, match="not a network of numbers"):
        Scorer.load(str(write(tmp_path / "old.json", {**data, "version": 1})))


def test_not_json_and_missing_files(tmp_path):
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="is not JSON"):
        Scorer.load(str(tmp_path / "broken.json"))
    with pytest.raises(ModelError, match="cannot be read"):
        Scorer.load(str(tmp_path / "missing.json"))


def test_a_pipeline_with_a_bad_model_file_is_refused_before_any_document(tmp_path):
    path = write(tmp_path / "bad.json", {"format": FORMAT, "version": 99})
    with pytest.raises(ConfigError) as caught:
        load_pipeline("extractive", ["extract.strategy=learned", f"extract.scorer={json.dumps(str(path))}"])
    assert "extract.scorer" in str(caught.value) and str(path) in str(caught.value)
    assert "--set extract.scorer=builtin" in str(caught.value)


def test_the_fingerprint_follows_the_model_file(tmp_path, model_file):
    overrides = ["extract.strategy=learned", f"extract.scorer={json.dumps(str(model_file))}"]
    before = load_pipeline("extractive", overrides).fingerprint()
    assert load_pipeline("extractive", overrides).fingerprint() == before
    tiny_model(length=3).save(model_file)
    assert load_pipeline("extractive", overrides).fingerprint() != before
    assert digest(str(model_file)) != digest("builtin")
    assert digest(str(tmp_path / "missing.json")) is None


def test_a_rewritten_model_file_is_read_again(model_file):
    assert run(ARTICLE, model_file).extract == [0, 1]
    tiny_model(length=3).save(model_file)
    assert run(ARTICLE, model_file).extract == [0, 1, 2]

"""The evaluate module ships in the package, loads from its path offline, and agrees with the library."""

import json
from pathlib import Path

import pytest

import summarizer
from summarizer.evaluation import rouge_metric_path
from summarizer.evaluation.report import EvalConfig, evaluate

PAIRS = [
    ("The council approved a bridge costing 4.5 million crowns.", "The council approved the new bridge on Monday."),
    ("Rain flooded the harbour.\nThree roads were closed.", "Heavy rain flooded the harbour on Sunday. Roads closed."),
    ("可穿戴技术十大设计原则", "本文总结了十个可穿戴产品的设计原则"),
    ("A reference.", ""),
]


@pytest.fixture
def metric(monkeypatch):
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import evaluate as hf_evaluate

    return hf_evaluate.load(rouge_metric_path())


def test_the_metric_lives_inside_the_package_not_the_checkout():
    path = Path(rouge_metric_path())
    assert isinstance(rouge_metric_path(), str)
    assert path.parent == Path(summarizer.__file__).resolve().parent / "evaluation"
    assert (path / "rouge_metric.py").is_file() and (path / "README.md").is_file()
    card = (path / "README.md").read_text(encoding="utf-8")
    assert "x100" in card and "0-1" in card  # the scale, beside the hub's


def test_evaluate_module_gives_the_library_numbers(metric, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # from anywhere, not only the repository root
    references = [r for r, _ in PAIRS]
    predictions = [p for _, p in PAIRS]
    scores = metric.compute(predictions=predictions, references=references, confidence_intervals=True)

    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "reference": r, "summary": p}, ensure_ascii=False) + "\n"
                            for i, (r, p) in enumerate(PAIRS)))
    library = evaluate([path], config=EvalConfig()).systems[0].summary
    for rouge_type in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        assert scores[rouge_type] == pytest.approx(library[rouge_type]["f"], abs=1e-12)
        assert scores[f"{rouge_type}_low"] == library[rouge_type]["low"]
        assert scores[f"{rouge_type}_high"] == library[rouge_type]["high"]
    per_document = metric.compute(predictions=predictions, references=references, use_aggregator=False)
    assert per_document["rouge1"][3] == 0 and len(per_document["rougeLsum"]) == 4


def test_scale_is_x100_where_the_hub_metric_gives_fractions(metric):
    from rouge_score.rouge_scorer import RougeScorer

    scores = metric.compute(predictions=["A cat sat on a mat."], references=["The cat sat on the mat."])
    hub_like = RougeScorer(["rouge1"], use_stemmer=True).score("The cat sat on the mat.", "A cat sat on a mat.")
    assert scores["rouge1"] == 100 * hub_like["rouge1"].fmeasure
    assert all(isinstance(value, float) for value in scores.values())


def test_tokenization_can_be_forced(metric):
    pair = {"predictions": ["Un thé très chaud."], "references": ["Un été très chaud."]}
    # French: Unicode words, 3 of 4 shared; rouge-score's tokens (un t tr s chaud) share 4 of 5.
    assert metric.compute(**pair)["rouge1"] == pytest.approx(75)
    assert metric.compute(**pair, tokenization="rouge-score")["rouge1"] == pytest.approx(80)

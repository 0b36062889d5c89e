"""The evaluate module in eval/rouge_metric loads from its path, offline, and agrees with the library."""

import json
from pathlib import Path

import pytest

from summarizer.evaluation.report import EvalConfig, evaluate

METRIC = Path(__file__).resolve().parents[1] / "eval" / "rouge_metric"
PAIRS = [
    ("The council approved a bridge costing 4.5 million crowns.", "The council approved the new bridge on Monday."),
    ("Rain flooded the harbour.\nThree roads were closed.", "Heavy rain flooded the harbour on Sunday. Roads closed."),
    ("可穿戴技术十大设计原则", "本文总结了十个可穿戴产品的设计原则"),
    ("A reference.", ""),
]


def test_evaluate_module_gives_the_library_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import evaluate as hf_evaluate

    metric = hf_evaluate.load(str(METRIC))
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

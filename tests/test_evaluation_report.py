"""Scoring systems' outputs: id problems, empty and failed summaries, aggregates, files."""

import json

import pytest

from summarizer.errors import InputError
from summarizer.evaluation.report import EvalConfig, evaluate, write_report

ARTICLE = "The council approved the new bridge on Monday. It will cost 4.5 million crowns. Work starts in May."
FAST = EvalConfig(resamples=200)


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def record(id, summary, reference="The council approved a bridge costing 4.5 million crowns.", **extra):
    return {"id": id, "text": ARTICLE, "reference": reference, "summary": summary, "error": None, **extra}


def test_scores_systems_and_lists_missing_unmatched_and_duplicate_ids(tmp_path):
    a = write_jsonl(tmp_path / "lead3" / "summaries.jsonl", [
        record("d1", "The council approved the new bridge on Monday."),
        record("d2", "It will cost 4.5 million crowns."),
        record("d3", "Work starts in May."),
        record("d2", "A duplicate that must not count."),
    ])
    b = write_jsonl(tmp_path / "model" / "summaries.jsonl", [
        record("d1", "The council approved a bridge costing 4.5 million crowns."),
        record("d9", "Not in the references.", reference=None),
    ])
    report = evaluate([a, b], config=FAST)
    lead3, model = report.systems
    assert (lead3.name, lead3.summary["n"], model.name, model.summary["n"]) == ("lead3", 3, "model", 1)
    assert report.problems.duplicate_ids == {"lead3": ["d2"]}
    assert report.problems.missing == {"model": ["d2", "d3"]}
    assert report.problems.unmatched == {"model": ["d9"]}
    assert model.summary["rouge1"]["f"] == pytest.approx(100)
    assert lead3.documents[1].summary == "It will cost 4.5 million crowns."  # the first d2, not the duplicate
    assert model.summary["vs_first"]["n"] == 1 and lead3.summary["vs_first"] is None
    messages = "\n".join(report.problems.messages())
    assert "lead3: 1 duplicate id(s)" in messages and "'d3'" in messages and "'d9'" in messages


def test_failed_and_empty_summaries_score_zero_and_are_counted(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [
        record("ok", "The council approved a bridge.", fallback=True,
               trace=[{"stage": "chunk", "seconds": 0.01}, {"stage": "generate", "seconds": 2.5}]),
        record("empty", ""),
        record("failed", "partial output", error="generate: RuntimeError: boom"),
        {"id": "nosummary", "text": ARTICLE, "reference": "A bridge."},
    ])
    report = evaluate([path], names=["sys"], config=FAST)
    system = report.systems[0]
    status = {d.id: d.status for d in system.documents}
    assert status == {"ok": "ok", "empty": "empty", "failed": "failed", "nosummary": "empty"}
    assert all(d.rouge["rouge1"].fmeasure == 0 for d in system.documents if d.status != "ok")
    s = system.summary
    assert (s["n"], s["empty"], s["failed"], s["fallbacks"]) == (4, 3, 1, 1)
    assert s["speed"]["generate_seconds"] == 2.5 and s["speed"]["documents_timed"] == 1
    assert s["rouge1"]["f"] == pytest.approx(system.documents[0].rouge["rouge1"].fmeasure / 4)


def test_references_file_joined_by_id(tmp_path):
    system = write_jsonl(tmp_path / "s.jsonl", [{"id": 1, "summary": "Bridge approved."},
                                                {"id": "2", "summary": "Rain."}])
    refs = write_jsonl(tmp_path / "refs.jsonl", [
        {"id": "1", "highlights": "Bridge approved on Monday.", "article": ARTICLE},
        {"id": "2", "summary": "Heavy rain."},
        {"id": "2", "summary": "A duplicate reference."},
        {"id": "3", "summary": "Never summarized."},
    ])
    report = evaluate([system], references=refs, config=FAST)
    docs = report.systems[0].documents
    assert [(d.id, d.reference) for d in docs] == [("1", "Bridge approved on Monday."), ("2", "Heavy rain.")]
    assert docs[0].measures["source_words"] > 0 and docs[1].measures["source_words"] is None
    assert report.problems.duplicate_ids == {str(refs): ["2"]}
    assert report.problems.missing == {"s": ["3"]}


def test_input_errors_name_the_problem(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        evaluate([tmp_path / "nope.jsonl"])
    no_refs = write_jsonl(tmp_path / "n.jsonl", [{"id": "a", "summary": "x"}])
    with pytest.raises(InputError, match="--references"):
        evaluate([no_refs])
    wrong = write_jsonl(tmp_path / "w.jsonl", [{"id": "a", "text": "x"}])
    with pytest.raises(InputError, match="no 'summary' field"):
        evaluate([wrong])
    (tmp_path / "bad.jsonl").write_text('{"id": "a", "summary": "x"}\n{oops\n')
    with pytest.raises(InputError, match="line 2"):
        evaluate([tmp_path / "bad.jsonl"])
    with pytest.raises(InputError, match="at most one --name"):
        evaluate([no_refs], names=["a", "b"])


def test_report_files(tmp_path):
    import pandas as pd

    path = write_jsonl(tmp_path / "run" / "summaries.jsonl", [record("d1", "The council approved a bridge."),
                                                              record("d2", "")])
    written = write_report(evaluate([path], config=FAST), tmp_path / "report", html=False)
    assert [p.name for p in written] == ["report.json", "per_document.csv", "report.md"]
    data = json.loads(written[0].read_text())
    system = data["systems"][0]
    assert system["name"] == "run" and system["n"] == 2
    # "p" was precision here and a p-value in vs_first: now each has its own name.
    assert set(system["rougeLsum"]) == {"f", "low", "high", "precision", "recall"}
    assert data["settings"]["bootstrap"] == {"resamples": 200, "seed": 12345, "confidence": 0.95}
    assert data["settings"]["tokenization"]["name"] == "rouge-score"
    table = pd.read_csv(written[1])
    assert list(table["id"]) == ["d1", "d2"] and list(table["status"]) == ["ok", "empty"]
    assert {"rouge1_f", "rouge1_precision", "rouge1_recall"} <= set(table.columns) and "rouge1_p" not in table
    markdown = written[2].read_text()
    assert "| run | 2 |" in markdown and "ROUGE tokenization: rouge-score" in markdown


def test_paired_comparison_reports_p_value_never_a_bare_p(tmp_path):
    rows = [record(f"d{i}", "The council approved a bridge.") for i in range(3)]
    better = [record(f"d{i}", "The council approved a bridge costing 4.5 million crowns.") for i in range(3)]
    first = write_jsonl(tmp_path / "a" / "summaries.jsonl", rows)
    second = write_jsonl(tmp_path / "b" / "summaries.jsonl", better)
    data = evaluate([first, second], config=FAST).to_dict()
    comparison = data["systems"][1]["vs_first"]["rouge1"]
    assert set(comparison) == {"n", "delta", "low", "high", "p_value", "p_method", "p_assignments"}
    # Three documents, all better: the exact test's smallest two-sided p, 2/2^3.
    assert (comparison["p_value"], comparison["p_method"], comparison["p_assignments"]) == (0.25, "exact", 8)
    assert data["settings"]["permutation_test"]["exact_up_to_n"] == 16


def test_two_evaluations_give_identical_reports(tmp_path):
    rows = [record(f"d{i}", s) for i, s in enumerate(["The council approved a bridge.", "Bridge costs 4.5 million.",
                                                      "", "Crowns.", "A new bridge on Monday."])]
    path = write_jsonl(tmp_path / "s.jsonl", rows)
    first, second = evaluate([path]).to_dict(), evaluate([path]).to_dict()
    assert first == second
    assert first["systems"][0]["rouge1"]["low"] < first["systems"][0]["rouge1"]["f"] < first["systems"][0]["rouge1"]["high"]


def test_what_the_model_did_is_aggregated_and_shown_in_every_report(tmp_path):
    import pandas as pd

    from summarizer.segment import segment

    spans = segment(ARTICLE)
    assert len(spans) == 3
    stages = {"sentences": spans, "extract": [0, 1]}
    copied = " ".join(ARTICLE[a:b] for a, b in spans[:2])  # the extract as it is: 15 words
    path = write_jsonl(tmp_path / "sys" / "summaries.jsonl", [
        record("copied", copied, **stages),
        record("looped", "The council approved a bridge. The council approved a bridge.", **stages),  # 10 words
        record("failed", "", error="generate: boom", **stages),
        record("plain", "Work starts in May."),  # no extract stage: verbatim, but no extract ratio
    ])
    report = evaluate([path], config=FAST)
    system = report.systems[0]
    docs = {d.id: d.measures for d in system.documents}
    assert (docs["copied"]["verbatim_share"], docs["copied"]["extract_ratio"]) == (1, 1)
    assert docs["looped"]["verbatim_share"] == 0 and docs["looped"]["repeated_sentences"] == 1
    assert docs["failed"]["extract_words"] is None and docs["plain"]["extract_words"] is None
    model = system.summary["model"]
    assert model["verbatim_share"] == pytest.approx((1 + 0 + 1) / 3)
    assert model["sentences_verbatim"] == pytest.approx(3 / 5)
    assert (model["repeated_sentences"], model["documents_with_repeats"]) == (1, 1)
    assert model["extract_ratio"] == pytest.approx((1 + 10 / 15) / 2) and model["documents_with_extract"] == 2

    written = write_report(report, tmp_path / "report")
    assert json.loads(written[0].read_text())["systems"][0]["model"] == model
    table = pd.read_csv(written[1])
    assert list(table["verbatim_sentences"].fillna(-1)) == [2, 0, -1, 1]
    assert list(table["repeated_sentences"].fillna(-1)) == [0, 1, -1, 0]
    row = "| sys | 1.7 | 66.7% of 3 doc(s) | 0.83 (2 doc(s)) | 1 in 1 doc(s) |"
    markdown = written[2].read_text()
    assert "## What the model did" in markdown and row in markdown, markdown
    page = written[3].read_text()
    assert "What the model did" in page and "<td>66.7% of 3 doc(s)</td><td>0.83 (2 doc(s))</td>" in page

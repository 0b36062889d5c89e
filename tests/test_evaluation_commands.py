"""`summarizer eval` and `summarizer eval-suite` through click's CliRunner."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from summarizer.cli import main

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data"


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_eval_writes_every_report_and_warns_about_ids(tmp_path):
    text = "Heavy rain flooded the harbour on Sunday. Three roads were closed. No one was hurt."
    rows = [{"id": "a", "text": text, "reference": "Rain flooded the harbour and closed three roads.",
             "summary": "Heavy rain flooded the harbour on Sunday."},
            {"id": "b", "text": "可穿戴技术的十个设计原则。", "reference": "可穿戴技术十大设计原则", "summary": "十个设计原则"}]
    first = write_jsonl(tmp_path / "lead" / "summaries.jsonl", rows)
    second = write_jsonl(tmp_path / "other.jsonl", [{**rows[0], "summary": ""}, {**rows[0], "summary": "dup"}])
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["eval", str(first), str(second), "-o", str(out), "--name", "lead",
                                       "--name", "model", "--resamples", "100"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"report.json", "per_document.csv", "report.md", "report.html"}
    assert "| lead | 2 |" in result.stdout
    assert "warning: model: 1 duplicate id(s)" in result.stderr
    assert "warning: model: 1 reference id(s) missing" in result.stderr
    report = json.loads((out / "report.json").read_text())
    lead, model = report["systems"]
    assert lead["rouge1"]["f"] > 0 and model["rouge1"]["f"] == 0 and model["empty"] == 1
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and "十个设计原则" in page
    assert "Best and worst documents" in page


def test_eval_errors_are_messages(tmp_path):
    result = CliRunner().invoke(main, ["eval", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "r")])
    assert result.exit_code == 1 and "does not exist" in result.output and "Traceback" not in result.output


def test_help_imports_nothing_heavy():
    code = ("import sys; from summarizer.cli import main; "
            "heavy = [m for m in ('torch', 'numpy', 'pandas', 'matplotlib', 'rouge_score') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def data_dir():
    if not (DATA / "cnndm.dev.jsonl").is_file() or not (DATA / "lcsts.dev.jsonl").is_file():
        pytest.skip("../shared/data is not there")
    return DATA


def test_eval_suite_runs_lead3_on_two_datasets(data_dir, tmp_path, monkeypatch):
    suite = tmp_path / "suites" / "tiny.toml"
    suite.parent.mkdir()
    suite.write_text(
        'description = "tiny"\nresamples = 100\npipelines = ["lead3"]\n'
        '[datasets.cnndm]\npath = "../shared/data/cnndm.dev.jsonl"\nlimit = 3\n'
        '[datasets.lcsts]\npath = "../shared/data/lcsts.dev.jsonl"\nlimit = 2\n'
    )
    monkeypatch.chdir(REPO)  # the data paths resolve against the current folder, not the suite's
    out = tmp_path / "eval"
    result = CliRunner().invoke(main, ["eval-suite", str(suite), "-o", str(out)])
    assert result.exit_code == 0, result.output
    combined = json.loads((out / "report.json").read_text())
    assert list(combined["datasets"]) == ["cnndm", "lcsts"]
    lcsts = combined["datasets"]["lcsts"]["report"]["systems"][0]
    assert lcsts["name"] == "lead3" and lcsts["n"] == 2 and lcsts["rouge1"]["f"] > 0  # Chinese is scored
    assert combined["datasets"]["cnndm"]["runs"]["lead3"]["documents"] == 3
    for name in ("report.md", "report.html"):
        assert (out / name).is_file() and (out / "cnndm" / name).is_file()
    assert (out / "cnndm" / "runs" / "lead3" / "summaries.jsonl").is_file()
    assert "## cnndm" in result.stdout and 'href="cnndm/report.html"' in (out / "report.html").read_text()


def test_eval_suite_unknown_key_lists_the_valid_ones(tmp_path):
    suite = tmp_path / "bad.toml"
    suite.write_text('pipelines = ["lead3"]\n[datasets.x]\npath = "x.jsonl"\nlimt = 3\n')
    result = CliRunner().invoke(main, ["eval-suite", str(suite), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "unknown key(s) 'limt'; valid keys: path, limit, text_field, reference_field" in result.output

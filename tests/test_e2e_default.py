"""End-to-end tests on the real default model (Gemma 3 270M from the embedded GGUF).

The first run on a machine converts the GGUF into the cache (~2 minutes); later runs load
the converted folder in seconds. Marked slow; `make test` runs them.
"""

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from summarizer.cli import main

from .conftest import read_jsonl
from .test_cli import run_stages_by_pipe

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "articles"


def test_run_examples_with_the_default_model(tmp_path):
    result = CliRunner().invoke(main, ["run", str(EXAMPLES), "-o", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    records = read_jsonl(tmp_path / "summaries.jsonl")
    assert len(records) == len(list(EXAMPLES.glob("*.txt"))) >= 5
    for record in records:
        assert record["error"] is None and record["summary"].strip()
        generate = [t for t in record["trace"] if t["stage"] == "generate"]
        assert generate and generate[0]["new_tokens"] > 0
        assert record["generation"]
    # the model, not the fallback, wrote most summaries
    assert sum(not r["fallback"] for r in records) >= len(records) // 2 + 1
    # a summary is not just the article's opening copied out
    assert any(r["summary"] != " ".join(r["text"].split())[: len(r["summary"])] for r in records)


def test_piped_stages_reproduce_run_with_the_default_model(tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    for path in sorted(EXAMPLES.glob("*.txt"))[:2]:
        shutil.copy(path, folder / path.name)
    result = CliRunner().invoke(main, ["run", str(folder), "-o", str(tmp_path / "o")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    by_run = [r["summary"] for r in read_jsonl(tmp_path / "o" / "summaries.jsonl")]
    assert by_run == [r["summary"] for r in run_stages_by_pipe(folder)]


def test_python_api_with_the_default_model():
    from summarizer import summarize

    text = (EXAMPLES / "04_bakery_prices.txt").read_text()
    summary = summarize(text)
    assert isinstance(summary, str) and 10 < len(summary) < len(text)

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from summarizer.cli import main

from .conftest import ARTICLES

TEXT = "First point here. Second point here. Third point. Fourth point."
LEAD3 = "First point here. Second point here. Third point."


def invoke(args, input=None):
    return CliRunner().invoke(main, args, input=input, catch_exceptions=False)


def test_the_one_liner_reads_standard_input_in_a_real_shell_pipe():
    result = subprocess.run(f"printf '%s' '{TEXT}' | {sys.executable} -m summarizer.cli summarize --pipeline lead3",
                            shell=True, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == LEAD3 + "\n"


def test_dash_is_standard_input_and_summaries_keep_the_input_order(article_folder):
    files = [str(article_folder / f"{name}.txt") for name in ("market", "bridge")]
    result = invoke(["summarize", "-p", "lead3", files[0], "-", files[1]], input=TEXT)
    assert result.exit_code == 0, result.output
    blocks = result.stdout.split("\n\n")
    assert len(blocks) == 3 and blocks[1] == LEAD3
    assert blocks[0].startswith("Market stays open Traders in Oldham Cross") and blocks[2].startswith("Bridge vote")
    assert result.stdout.endswith(".\n") and "\n\n\n" not in result.stdout


def test_json_prints_one_record_per_input_line(article_folder):
    result = invoke(["summarize", "-p", "lead3", "--json", "--sentences", "1", str(article_folder / "flood.txt"), "-"],
                    input=TEXT)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["input"] for row in rows] == [str(article_folder / "flood.txt"), "-"]
    assert rows[0]["summary"] == "Heavy rain flooded the harbour district of Port Mirren on Sunday."
    assert rows[1] == {"input": "-", "summary": "First point here.", "error": None, "fallback": False, "warnings": []}


def test_a_file_that_fails_is_named_on_stderr_and_the_others_are_printed(article_folder, tmp_path):
    (tmp_path / "empty.txt").write_text("   \n")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (tmp_path / "table.jsonl").write_text('{"text": "A. B."}\n')
    names = [str(tmp_path / "missing.txt"), str(tmp_path / "empty.txt"), str(article_folder / "flood.txt"),
             str(tmp_path / "image.txt"), str(article_folder), str(tmp_path / "table.jsonl")]
    result = CliRunner().invoke(main, ["summarize", "-p", "lead3", *names])
    assert result.exit_code == 3
    assert result.stdout.startswith("Heavy rain flooded") and "\n\n" not in result.stdout
    errors = result.stderr.splitlines()
    assert len(errors) == 5 and all(line.startswith("Error: '") for line in errors)
    assert f"'{names[0]}': no such file" in errors[0]
    assert f"'{names[1]}': empty document" in errors[1]
    assert "PNG image" in errors[2]
    assert "a folder" in errors[3] and f"summarizer run {article_folder} -o OUTDIR" in errors[3]
    assert "a table (.jsonl)" in errors[4]
    result = CliRunner().invoke(main, ["summarize", "-p", "lead3", "--json", *names])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 3 and [row["error"] is None for row in rows] == [False, False, True, False, False, False]


def test_files_are_read_as_run_reads_them(tmp_path):
    (tmp_path / "page.html").write_text("<html><head><title>T</title><style>p {}</style></head><body>"
                                        "<p>The council met on Monday.</p><p>It voted for the bridge.</p></body></html>")
    (tmp_path / "latin.txt").write_bytes("Café owners in Montréal met on Monday. They agreed.".encode("cp1252"))
    result = invoke(["summarize", "-p", "lead3", str(tmp_path / "page.html"), str(tmp_path / "latin.txt")])
    assert result.exit_code == 0, result.output
    html, latin = result.stdout.split("\n\n")
    assert "<p>" not in html and "The council met on Monday. It voted for the bridge." in html
    assert latin.strip() == "Café owners in Montréal met on Monday. They agreed."


def test_standard_input_is_decoded_like_a_file():
    result = invoke(["summarize", "-p", "lead3", "--json"], input="Ünïcode text here. Second one.".encode("utf-16"))
    assert json.loads(result.stdout)["summary"] == "Ünïcode text here. Second one."
    result = CliRunner().invoke(main, ["summarize", "-p", "lead3"], input=b"%PDF-1.7 binary")
    assert result.exit_code == 3 and "Error: standard input: PDF file" in result.stderr


def test_length_options_and_the_pipeline_options():
    text = " ".join(f"Sentence number {n} says a few more words here." for n in range(1, 8))
    assert invoke(["summarize", "-p", "extractive", "--sentences", "1"], input=text).stdout.count(".") == 1
    summary = invoke(["summarize", "-p", "lead3", "--max-words", "20"], input=text).stdout
    assert len(summary.split()) == 18  # two whole sentences of nine words
    result = CliRunner().invoke(main, ["summarize", "-p", "lead9"], input=text)
    assert result.exit_code == 1 and "unknown pipeline 'lead9'" in result.output
    result = CliRunner().invoke(main, ["summarize", "-p", "lead3", "--sentences", "0"], input=text)
    assert result.exit_code == 2 and "--sentences" in result.output


def test_usage_errors():
    result = CliRunner().invoke(main, ["summarize", "-", "-"], input=TEXT)
    assert result.exit_code == 2 and "more than once" in result.output


def test_no_file_and_a_terminal_on_stdin_says_how_to_give_the_text():
    pty = pytest.importorskip("pty")
    terminal, stdin = pty.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "summarizer.cli", "summarize", "-p", "lead3"], stdin=stdin,
                                capture_output=True, text=True, timeout=120)
    finally:
        os.close(terminal)
        os.close(stdin)
    assert result.returncode == 2 and "cat article.txt | summarizer summarize" in result.stderr


def test_a_model_pipeline_with_a_tiny_model(tiny_model):
    result = invoke(["summarize", "--model", tiny_model, "--set", "generate.max_new_tokens=4", "--json", "-"],
                    input=ARTICLES["flood"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["summary"] and row["error"] is None

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from summarizer.cli import main

from .conftest import read_jsonl


def invoke(args, input=None):
    return CliRunner().invoke(main, args, input=input, catch_exceptions=False)


def test_run_lead3_writes_one_record_per_document(article_folder, tmp_path):
    out = tmp_path / "out"
    result = invoke(["run", str(article_folder), "-o", str(out), "--pipeline", "lead3", "--show", "--txt"])
    assert result.exit_code == 0, result.output
    records = read_jsonl(out / "summaries.jsonl")
    assert [r["id"] for r in records] == ["bridge", "flood", "market"]
    assert all(r["summary"] and r["error"] is None for r in records)
    assert records[0]["summary"].startswith("Bridge vote The council of Elmsford approved")
    assert "== bridge" in result.output
    assert (out / "txt" / "flood.txt").read_text().strip() == records[1]["summary"]
    assert not (out / "summaries.jsonl.partial").exists()


def test_run_table_with_limit_and_references(tmp_path):
    table = tmp_path / "t.jsonl"
    table.write_text("".join(json.dumps({"id": f"d{i}", "article": f"Story {i} begins. It ends.", "summary": f"S{i}."}) + "\n"
                             for i in range(5)))
    result = invoke(["run", str(table), "-o", str(tmp_path / "o"), "-p", "extractive", "--limit", "3"])
    assert result.exit_code == 0, result.output
    records = read_jsonl(tmp_path / "o" / "summaries.jsonl")
    assert [(r["id"], r["reference"]) for r in records] == [("d0", "S0."), ("d1", "S1."), ("d2", "S2.")]


def test_parquet_shards_hold_the_records_in_order(article_folder, tmp_path):
    import pandas as pd

    (article_folder / "empty.txt").write_text("")
    out = tmp_path / "out"
    result = invoke(["run", str(article_folder), "-o", str(out), "--pipeline", "lead3", "--parquet", "3"])
    assert result.exit_code == 3, result.output  # the empty file failed; the shards are written anyway
    shards = sorted((out / "parquet").iterdir())
    assert [p.name for p in shards] == ["part-00000.parquet", "part-00001.parquet"]
    table = pd.concat([pd.read_parquet(p) for p in shards], ignore_index=True)
    records = read_jsonl(out / "summaries.jsonl")
    assert list(table["id"]) == [r["id"] for r in records] == ["bridge", "empty", "flood", "market"]
    assert list(table["summary"].fillna("")) == [r["summary"] or "" for r in records]
    assert table["error"][1].startswith("ingest: ") and not table["fallback"].any()
    assert json.loads(table["meta"][0])["source"].endswith("bridge.txt")
    # A second run replaces the shards as a whole.
    (article_folder / "empty.txt").unlink()
    assert invoke(["run", str(article_folder), "-o", str(out), "-p", "lead3", "--parquet", "10"]).exit_code == 0
    assert [p.name for p in (out / "parquet").iterdir()] == ["part-00000.parquet"]


def test_failed_documents_give_exit_code_3_and_are_listed(article_folder, tmp_path):
    (article_folder / "empty.txt").write_text("")
    result = CliRunner().invoke(main, ["run", str(article_folder), "-o", str(tmp_path / "o"), "-p", "lead3"])
    assert result.exit_code == 3
    assert "1 failed" in result.output and "failed empty: ingest: empty document" in result.output
    assert len(read_jsonl(tmp_path / "o" / "summaries.jsonl")) == 4


def test_errors_are_clear_messages(tmp_path):
    result = CliRunner().invoke(main, ["run", str(tmp_path / "nope"), "-o", str(tmp_path / "o"), "-p", "lead3"])
    assert result.exit_code == 1 and "does not exist" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["run", str(tmp_path), "-o", str(tmp_path / "o"), "-p", "lead9"])
    assert result.exit_code == 1 and "built-in pipelines: abstractive, compress, default, extractive, lead3" in result.output
    result = CliRunner().invoke(main, ["run", str(tmp_path), "-o", str(tmp_path / "o"), "--set", "extract.x=1"])
    assert result.exit_code == 1 and "valid settings of [extract]" in result.output
    result = CliRunner().invoke(main, ["run", str(tmp_path), "-o", str(tmp_path / "o"), "--model", "./no/such"])
    assert result.exit_code == 1 and "not found; use 'default'" in result.output


def run_stages_by_pipe(folder, *options, pipeline="default"):
    from summarizer.config import load_pipeline

    data = invoke(["ingest", str(folder)]).output
    for stage in load_pipeline(pipeline).stages:
        result = invoke([stage, "-p", pipeline, *options], input=data)
        assert result.exit_code == 0, result.output
        data = result.output
    return [json.loads(line) for line in data.splitlines()]


@pytest.mark.parametrize("pipeline", ["default", "compress", "abstractive"])
def test_piped_stage_commands_reproduce_run(article_folder, tmp_path, tiny_model, pipeline):
    options = ["--model", tiny_model, "--set", "generate.max_new_tokens=8", "--set", "generate.batch_size=2"]
    result = invoke(["run", str(article_folder), "-o", str(tmp_path / "o"), "-p", pipeline, *options])
    assert result.exit_code == 0, result.output
    by_run = read_jsonl(tmp_path / "o" / "summaries.jsonl")
    by_pipe = run_stages_by_pipe(article_folder, *options, pipeline=pipeline)
    assert [(r["id"], r["generation"], r["summary"], r["meta"]) for r in by_pipe] == \
        [(r["id"], r["generation"], r["summary"], r["meta"]) for r in by_run]
    assert all(r["generation"] is not None for r in by_run)


def test_pipelines_command_lists_builtins():
    result = invoke(["pipelines"])
    assert {line.split()[0] for line in result.output.splitlines()} >= {"default", "extractive", "lead3"}


def test_help_does_not_import_torch():
    code = "import sys; from summarizer.cli import main; assert 'torch' not in sys.modules; " \
           "assert 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    result = subprocess.run([sys.executable, "-m", "summarizer.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "run" in result.stdout


def test_batch_size_and_threads_options(article_folder, tmp_path, tiny_model):
    import torch

    before = torch.get_num_threads()
    result = invoke(["run", str(article_folder), "-o", str(tmp_path / "o"), "-p", "abstractive", "--model", tiny_model,
                     "--batch-size", "2", "--threads", "1", "--set", "generate.max_new_tokens=4"])
    assert result.exit_code == 0, result.output
    sizes = [t["batch_size"] for r in read_jsonl(tmp_path / "o" / "summaries.jsonl")
             for t in r["trace"] if t["stage"] == "generate"]
    assert sorted(sizes) == [1, 2, 2]
    assert torch.get_num_threads() == 1
    torch.set_num_threads(before)

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


def run_stages_by_pipe(folder, model=None, *overrides, pipeline="default"):
    from summarizer.config import load_pipeline

    data = invoke(["ingest", str(folder)]).output
    for stage in load_pipeline(pipeline).stages:
        takes_model = any(param.name == "model" for param in main.commands[stage].params)
        options = [*(["--model", model] if takes_model and model else []), *(f"--set={item}" for item in overrides)]
        result = invoke([stage, "-p", pipeline, *options], input=data)
        assert result.exit_code == 0, result.output
        data = result.output
    return [json.loads(line) for line in data.splitlines()]


@pytest.mark.parametrize("pipeline", ["default", "compress", "abstractive"])
def test_piped_stage_commands_reproduce_run(article_folder, tmp_path, tiny_model, pipeline):
    overrides = ["generate.max_new_tokens=8", "generate.batch_size=2"]
    options = ["--model", tiny_model, *(f"--set={item}" for item in overrides)]
    result = invoke(["run", str(article_folder), "-o", str(tmp_path / "o"), "-p", pipeline, *options])
    assert result.exit_code == 0, result.output
    by_run = read_jsonl(tmp_path / "o" / "summaries.jsonl")
    by_pipe = run_stages_by_pipe(article_folder, tiny_model, *overrides, pipeline=pipeline)
    assert [(r["id"], r["generation"], r["summary"], r["meta"]) for r in by_pipe] == \
        [(r["id"], r["generation"], r["summary"], r["meta"]) for r in by_run]
    assert all(r["generation"] is not None for r in by_run)


def test_pipelines_command_lists_builtins():
    result = invoke(["pipelines"])
    assert {line.split()[0] for line in result.output.splitlines()} >= {"default", "extractive", "lead3"}


def test_help_does_not_import_torch():
    code = "import sys; from summarizer.cli import main; heavy = {'torch', 'transformers', 'pandas'} & set(sys.modules); " \
           "assert not heavy, heavy"
    subprocess.run([sys.executable, "-c", code], check=True)
    # --help itself reads the default pipeline's file, and nothing heavier
    code = "import sys; from summarizer.cli import main; main(['--help'])"
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and "run" in result.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert not imported & {"torch", "transformers", "pandas"}


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


def test_run_reads_standard_input_as_one_document(tmp_path):
    text = "First point here. Second point here. Third point. Fourth point."
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "summarizer.cli", "run", "-", "-o", str(out), "-p", "lead3",
                             "--sentences", "2"], input=text, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (record,) = read_jsonl(out / "summaries.jsonl")
    assert record["id"] == "stdin" and record["summary"] == "First point here. Second point here."


def test_run_to_standard_output_is_a_usage_error_pointing_to_summarize(article_folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", str(article_folder), "-o", "-", "-p", "lead3"])
    assert result.exit_code == 2
    assert "summarizer summarize" in result.output and "summarizer ingest" in result.output
    assert not (tmp_path / "-").exists()
    result = CliRunner().invoke(main, ["run", "-", "-", "-o", "out", "-p", "lead3"])
    assert result.exit_code == 2 and "more than once" in result.output


def test_run_length_options(article_folder, tmp_path):
    from summarizer.segment import segment

    result = invoke(["run", str(article_folder), "-o", str(tmp_path / "a"), "-p", "extractive", "--sentences", "1"])
    assert result.exit_code == 0, result.output
    summaries = [r["summary"] for r in read_jsonl(tmp_path / "a" / "summaries.jsonl")]
    assert [len(segment(s)) for s in summaries] == [1, 1, 1]
    result = invoke(["run", str(article_folder), "-o", str(tmp_path / "b"), "-p", "lead3", "--max-words", "12"])
    assert result.exit_code == 0, result.output
    records = read_jsonl(tmp_path / "b" / "summaries.jsonl")
    assert all(d["filter"] == "max_length" for r in records for t in r["trace"] for d in t.get("decisions", []))
    assert sum(d["filter"] == "max_length" for r in records for t in r["trace"] for d in t.get("decisions", [])) == 3
    for record in records:
        # whole sentences only: a first sentence longer than the limit stays, alone
        assert len(record["summary"].split()) <= 12 or len(segment(record["summary"])) == 1


def test_quiet_and_verbose_are_options_of_every_command():
    for name, command in main.commands.items():
        flags = {opt for param in command.params for opt in param.opts}
        assert {"-q", "--quiet", "-v", "--verbose"} <= flags, name
        assert invoke([name, "-q", "--help"]).exit_code == 0, name
    result = CliRunner().invoke(main, ["pipelines", "-q", "-v"])
    assert result.exit_code == 2 and "contradict" in result.output


def test_verbose_shows_debug_messages_and_quiet_hides_info(caplog):
    import logging

    text = "One is here. Two is here. Three is here."
    with caplog.at_level(logging.NOTSET):
        assert invoke(["summarize", "-p", "lead3", "--sentences", "1", "-v"], input=text).exit_code == 0
    assert any(r.levelno == logging.DEBUG and "extract.max_sentences=1" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.NOTSET):
        assert invoke(["summarize", "-p", "lead3", "--sentences", "1", "-q"], input=text).exit_code == 0
    assert not [r for r in caplog.records if r.name.startswith("summarizer") and r.levelno < logging.WARNING]
    # the levels are put back when the command ends
    assert logging.getLogger("summarizer").level == logging.NOTSET


def test_option_defaults_come_from_the_environment():
    text = "One is here. Two is here. Three is here."
    result = CliRunner().invoke(main, ["summarize"], input=text,
                                env={"SUMMARIZER_SUMMARIZE_PIPELINE": "lead3", "SUMMARIZER_SUMMARIZE_SENTENCES": "1"})
    assert result.exit_code == 0, result.output
    assert result.output == "One is here.\n"
    # the command line wins
    result = CliRunner().invoke(main, ["summarize", "--sentences", "2"], input=text,
                                env={"SUMMARIZER_SUMMARIZE_PIPELINE": "lead3", "SUMMARIZER_SUMMARIZE_SENTENCES": "1"})
    assert result.output == "One is here. Two is here.\n"
    result = CliRunner().invoke(main, ["run", "x", "-o", "o", "--model", "./no/such"],
                                env={"SUMMARIZER_RUN_PIPELINE": "lead9"})
    assert result.exit_code == 1 and "unknown pipeline 'lead9'" in result.output


def test_device_and_dtype_are_checked_choices():
    from summarizer.cliutils import DeviceType

    result = CliRunner().invoke(main, ["generate", "--device", "gpu"], input="")
    assert result.exit_code == 2 and "valid choices: auto, cpu, mps, cuda, cuda:N" in result.output
    result = CliRunner().invoke(main, ["run", "x", "-o", "o", "--dtype", "float8"])
    assert result.exit_code == 2 and "'float8' is not one of 'auto', 'float32', 'mixed'" in result.output
    result = CliRunner().invoke(main, ["finetune", "p.jsonl", "-o", "o", "--device", "cuda:x"])
    assert result.exit_code == 2 and "cuda:N" in result.output
    assert DeviceType().convert("cuda:1", None, None) == "cuda:1"
    assert [item.value for item in DeviceType().shell_complete(None, None, "cu")] == ["cuda", "cuda:0"]


def test_stage_commands_list_only_the_options_their_stage_reads():
    def options(name):
        return {opt for param in main.commands[name].params for opt in param.opts}

    runs_model = {"--model", "--adapter", "--no-adapter", "--device", "--dtype", "--batch-size", "--threads"}
    for name in ("generate", "rewrite"):
        assert runs_model <= options(name)
    for name in ("chunk", "prompt"):  # the model's tokenizer counts tokens / has the chat template
        assert "--model" in options(name) and not (runs_model - {"--model"}) & options(name)
    for name in ("extract", "filter"):
        assert not runs_model & options(name)
    for name in ("chunk", "extract", "prompt", "generate", "rewrite", "filter"):
        assert {"--pipeline", "--set", "--input", "--output"} <= options(name)


def test_main_help_shows_the_default_chain_environment_and_completion():
    from summarizer.config import load_pipeline

    result = invoke(["--help"])
    assert f"The default pipeline: {' -> '.join(load_pipeline('default').stages)}." in result.output
    assert "SUMMARIZER_RUN_PIPELINE=lead3" in result.output
    assert '_SUMMARIZER_COMPLETE=bash_source summarizer' in result.output
    assert "summarize" in result.output


def test_pipelines_json():
    from summarizer.config import builtin_pipelines

    result = invoke(["pipelines", "--json"])
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [row["name"] for row in rows] == sorted(builtin_pipelines())
    by_name = {row["name"]: row for row in rows}
    assert by_name["lead3"] == {"name": "lead3", "stages": ["chunk", "extract", "filter"],
                                "description": by_name["lead3"]["description"], "uses_model": False,
                                "model": None, "adapter": None}
    assert by_name["default"]["uses_model"] and by_name["default"]["adapter"] == "builtin"
    assert by_name["compress"]["stages"] == ["chunk", "extract", "rewrite", "filter"]


def test_the_documented_shell_completion_works():
    result = CliRunner().invoke(main, [], prog_name="summarizer", env={"_SUMMARIZER_COMPLETE": "bash_source"})
    assert result.exit_code == 0 and "_summarizer_completion" in result.output
    result = CliRunner().invoke(main, [], prog_name="summarizer", env={
        "_SUMMARIZER_COMPLETE": "bash_complete", "COMP_WORDS": "summarizer generate --device c", "COMP_CWORD": "3"})
    assert result.output.split() == ["plain,cpu", "plain,cuda", "plain,cuda:0"]

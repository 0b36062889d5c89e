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
    """The embedded model with the built-in adapter writes the summaries: shorter than the
    extract it reads, not all of them article sentences; none is empty or repeats. (On these
    short, plain articles it keeps many sentence beginnings whole, which count as copies.)"""
    from summarizer.evaluation.faithfulness import measure

    result = CliRunner().invoke(main, ["run", str(EXAMPLES), "-o", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    records = read_jsonl(tmp_path / "summaries.jsonl")
    assert len(records) == len(list(EXAMPLES.glob("*.txt"))) >= 5
    sentences = verbatim = 0
    ratios = []
    for record in records:
        assert record["error"] is None and record["summary"].strip()
        (generate,) = [t for t in record["trace"] if t["stage"] == "generate"]
        assert generate["new_tokens"] > 0
        measured = measure(record["summary"], record["text"])
        sentences += measured["sentences"]
        verbatim += measured["verbatim_sentences"]
        assert not measured["repeated_sentences"] and record["meta"]["model"]["sentences"] == measured["sentences"]
        ratios.append(len(record["summary"].split()) / len(" ".join(record["text"][a:b] for a, b in
                                                                   (record["sentences"][i] for i in record["extract"])).split()))
    assert sum(not r["fallback"] for r in records) >= len(records) - 1
    assert verbatim < sentences and sum(ratios) / len(ratios) < 0.6


def test_no_adapter_runs_the_embedded_model_alone(tmp_path):
    outputs = {}
    for name, options in (("builtin", []), ("none", ["--no-adapter"])):
        result = CliRunner().invoke(main, ["run", str(EXAMPLES), "-o", str(tmp_path / name), "--limit", "2", *options],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        outputs[name] = [r["generation"] for r in read_jsonl(tmp_path / name / "summaries.jsonl")]
    assert outputs["builtin"] != outputs["none"]


def test_run_examples_with_the_compress_pipeline(tmp_path):
    result = CliRunner().invoke(main, ["run", str(EXAMPLES), "-o", str(tmp_path), "-p", "compress"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    records = read_jsonl(tmp_path / "summaries.jsonl")
    assert len(records) == len(list(EXAMPLES.glob("*.txt"))) >= 5
    for record in records:
        assert record["error"] is None and record["summary"].strip() and not record["fallback"]
        generate = [t for t in record["trace"] if t["stage"] == "generate"]
        assert len(generate) == len(record["extract"]) and all(t["new_tokens"] > 0 for t in generate)
        assert len(record["summary"].split()) <= sum(len(o["sentence"].split()) for o in record["meta"]["rewrites"])
    # the model shortened sentences of most articles; what it kept passed the checks
    rewritten = [o for r in records for o in r["meta"]["rewrites"] if o["kept"] == "rewrite"]
    assert sum(any(o["kept"] == "rewrite" for o in r["meta"]["rewrites"]) for r in records) >= 3
    assert all(len(o["text"].split()) < len(o["sentence"].split()) for o in rewritten)


def test_run_examples_with_the_abstractive_pipeline(tmp_path):
    result = CliRunner().invoke(main, ["run", str(EXAMPLES), "-o", str(tmp_path), "-p", "abstractive"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    records = read_jsonl(tmp_path / "summaries.jsonl")
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



def test_own_gemma3_forward_writes_what_transformers_writes(tmp_path):
    """The default run uses summarizer.gemma3 (generate.forward = "auto"); transformers' class
    must write the same generations, batch of all examples together (padding, shared prefix)."""
    from summarizer import models

    generations = {}
    for forward in ("auto", "transformers"):
        result = CliRunner().invoke(main, ["run", str(EXAMPLES), "-o", str(tmp_path / forward),
                                           "--set", f"generate.forward={forward}"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        generations[forward] = {r["id"]: r["generation"] for r in read_jsonl(tmp_path / forward / "summaries.jsonl")}
    assert generations["auto"] == generations["transformers"] and all(generations["auto"].values())
    assert models.own_forward("default")

def test_finetune_the_default_model_and_run_with_the_adapter(tmp_path):
    """Three steps on three real CNN/DM pairs (the first at the warm-up's learning rate 0):
    the target-only loss equals Gemma's own (checked at the start of every training), and
    the adapter loads, merges and changes what the model writes."""
    import json

    data = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cnndm.dev.jsonl"
    if not data.is_file():
        pytest.skip(f"{data} is not on this machine")
    pairs = tmp_path / "pairs.jsonl"
    with data.open(encoding="utf-8") as handle:
        pairs.write_text("".join(next(handle) for _ in range(3)), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["finetune", str(pairs), "-o", str(tmp_path / "adapter"), "-p", "abstractive",
                                  "--max-steps", "3",
                                  "--grad-accum", "1", "--eval-docs", "0"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "adapter" / "summarizer-adapter.json").read_text())
    assert meta["base_model"] == "default" and meta["training"]["steps"] == 3
    assert meta["trainable_parameters"] == 1_898_496  # rank 8 on the 7 projections of 18 layers
    outputs = {}
    for name, options in (("base", []), ("tuned", ["--model", str(tmp_path / "adapter")])):
        result = runner.invoke(main, ["run", str(EXAMPLES), "-o", str(tmp_path / name), "-p", "abstractive", *options],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        outputs[name] = [r["generation"] for r in read_jsonl(tmp_path / name / "summaries.jsonl")]
    assert outputs["tuned"] != outputs["base"]
    assert sum(bool(g.strip()) for g in outputs["tuned"]) >= 3

"""The Ray engine (summarizer/rayengine.py) on a local Ray instance with 2 CPUs."""

from __future__ import annotations

import os
import sys

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from summarizer.cli import main
from summarizer.errors import ConfigError
from summarizer.pipeline import Pipeline
from summarizer.runner import run_to_folder
from summarizer.rayengine import split_stages
from summarizer.stages import STAGES

from .conftest import ARTICLES, build_tiny_model, read_jsonl

ray = pytest.importorskip("ray")

TOWNS = ["Elmsford", "Oldham Cross", "Port Mirren", "Kessel", "Bramwick"]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def lively_model(tmp_path_factory) -> str:
    """A tiny model with large random weights: unlike the usual tiny one, what it writes
    depends on the prompt (and would show any difference in batching)."""
    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "lively", init_std=0.3))


@pytest.fixture
def twenty_documents(tmp_path):
    """20 articles of different lengths (so windows sort and pad), one of them empty."""
    folder = tmp_path / "twenty"
    folder.mkdir()
    texts = list(ARTICLES.values())
    for i in range(20):
        body = " ".join(texts[j % 3].split(". ")[0] + f" in {TOWNS[j % 5]}." for j in range(i % 4 + 1))
        (folder / f"doc{i:02d}.txt").write_text(f"Report {i}\n\n{body} {texts[i % 3]}", encoding="utf-8")
    (folder / "doc07.txt").write_text("", encoding="utf-8")
    return folder


SETTINGS = ["generate.max_new_tokens=6", "generate.window=4", "generate.batch_size=2", "generate.head_vocab=0"]


def _summaries(path):
    return [(r["id"], r["generation"], r["summary"], r["error"], r["fallback"], r["meta"]) for r in read_jsonl(path)]


@pytest.mark.parametrize("pipeline", ["compress", "abstractive"])  # rewrite stage / prompt + generate stages
def test_ray_engine_gives_the_local_engines_summaries(local_ray, twenty_documents, tmp_path, lively_model, pipeline):
    pipe = Pipeline.load(pipeline, model=lively_model, overrides=SETTINGS)
    local = run_to_folder([twenty_documents], tmp_path / "local", pipe)
    assert local.total == 20 and local.failed == 1  # the empty file
    settings = [arg for setting in SETTINGS for arg in ("--set", setting)]
    result = CliRunner().invoke(main, ["run", str(twenty_documents), "-o", str(tmp_path / "ray"), "-p", pipeline,
                                       "--model", lively_model, "--engine", "ray", "--workers", "2", "--parquet", "8",
                                       *settings])
    assert result.exit_code == 3, result.output  # finished, one document failed
    assert "20 document(s)" in result.output and "1 failed" in result.output
    expected = _summaries(tmp_path / "local" / "summaries.jsonl")
    assert _summaries(tmp_path / "ray" / "summaries.jsonl") == expected
    assert sum(bool(s) for _, _, s, _, _, _ in expected) == 19
    # the model's output varies (the default pipeline's raw rewrites, before the checks)
    raw = [o["generation"] for r in read_jsonl(tmp_path / "local" / "summaries.jsonl") for o in r["meta"].get("rewrites", [])]
    assert len(set(raw or [generation for _, generation, _, _, _, _ in expected])) >= (5 if raw else 10)
    assert bool(raw) == (pipeline == "compress")
    shards = sorted((tmp_path / "ray" / "parquet").iterdir())
    assert len(shards) == 3 and sum(pq.read_metadata(p).num_rows for p in shards) == 20
    # Records carry the same trace of stages.
    stages = [[t["stage"] for t in r["trace"]] for r in read_jsonl(tmp_path / "ray" / "summaries.jsonl")]
    assert stages == [[t["stage"] for t in r["trace"]] for r in read_jsonl(tmp_path / "local" / "summaries.jsonl")]
    assert set(stages[0]) == {"chunk", "extract", "filter", "generate"} | ({"rewrite"} if pipeline == "compress" else {"prompt"})


def test_rerun_on_ray_reuses_finished_documents(local_ray, twenty_documents, tmp_path, tiny_model):
    pipe = Pipeline.load("abstractive", model=tiny_model, overrides=SETTINGS)
    first = run_to_folder([twenty_documents], tmp_path / "out", pipe, engine="ray", limit=12)
    again = run_to_folder([twenty_documents], tmp_path / "out", pipe, engine="ray", resume=True)
    assert first.total == 12 and again.total == 20
    assert again.reused == 11  # the 12 of the first run but the failed one
    records = read_jsonl(tmp_path / "out" / "summaries.jsonl")
    assert [r["id"] for r in records] == [f"doc{i:02d}" for i in range(20)]


def test_ids_repeated_across_inputs_are_renamed_as_locally(local_ray, tmp_path):
    table = tmp_path / "a.jsonl"
    table.write_text('{"id": "x", "text": "One. Two. Three. Four."}\n{"id": "x", "text": "Five. Six."}\n')
    other = tmp_path / "b.jsonl"
    other.write_text('{"id": "x", "text": "Seven. Eight."}\n')
    pipe = Pipeline.load("lead3")
    local = run_to_folder([table, other], tmp_path / "local", pipe)
    on_ray = run_to_folder([table, other], tmp_path / "ray", pipe, engine="ray")
    assert [r.id for r in on_ray.records] == [r.id for r in local.records] == ["x", "x~2", "x~3"]
    assert [r.summary for r in on_ray.records] == [r.summary for r in local.records]


def crash_once(records, ctx):
    """A stage whose worker process dies the first time it runs (a crash Ray must retry)."""
    marker = os.environ["SUMMARIZER_TEST_CRASH_MARKER"]
    for record in records:
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        yield record


def test_a_crashed_worker_is_retried_by_ray(local_ray, article_folder, tmp_path, monkeypatch):
    marker = tmp_path / "crashed"
    monkeypatch.setenv("SUMMARIZER_TEST_CRASH_MARKER", str(marker))
    if "crash_once" not in STAGES:  # registered once per test session
        STAGES.register("crash_once")(crash_once)
    (tmp_path / "crash.toml").write_text('stages = ["crash_once", "chunk", "extract", "filter"]\n'
                                         '[extract]\nstrategy = "lead"\nmax_sentences = 1\n')
    # The variable must reach the Ray worker processes, which were started before it was set.
    pipe = Pipeline.load(str(tmp_path / "crash.toml"))
    runtime = {"env_vars": {"SUMMARIZER_TEST_CRASH_MARKER": str(marker)}}
    ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", runtime_env=runtime)
    result = run_to_folder([article_folder], tmp_path / "out", pipe, engine="ray")
    assert marker.exists()  # a worker did die
    assert result.failed == 0 and result.total == 3
    assert all(r.summary for r in result.records)


def test_split_stages_keeps_model_stages_together():
    assert split_stages(["chunk", "extract", "prompt", "generate", "filter"]) == (
        ["chunk", "extract", "prompt"], ["generate"], ["filter"])
    assert split_stages(["chunk", "map_reduce", "generate", "filter"]) == (["chunk"], ["map_reduce", "generate"], ["filter"])
    assert split_stages(["chunk", "extract"]) == (["chunk", "extract"], [], [])


def test_ray_options_need_the_ray_engine(article_folder, tmp_path):
    with pytest.raises(ConfigError, match="--engine ray"):
        run_to_folder([article_folder], tmp_path / "out", Pipeline.load("lead3"), workers=2)
    result = CliRunner().invoke(main, ["run", str(article_folder), "-o", str(tmp_path / "o"), "--pipeline", "lead3",
                                       "--engine", "spark"])
    assert result.exit_code == 2 and "'local', 'ray'" in result.output


def test_missing_ray_is_a_clear_message(article_folder, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    result = CliRunner().invoke(main, ["run", str(article_folder), "-o", str(tmp_path / "o"), "--pipeline", "lead3",
                                       "--engine", "ray"])
    assert result.exit_code == 1
    assert "pip install 'summarizer[ray]'" in result.output

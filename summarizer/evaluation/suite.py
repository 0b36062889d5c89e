"""Evaluation suites as data: which datasets, which pipelines, which settings.

    >>> suite = load_suite("eval/news.toml")                       # doctest: +SKIP
    >>> run_suite(suite, "build/eval")                             # doctest: +SKIP

A suite file (TOML)::

    description = "News: CNN/DailyMail, XSum, BBC"
    set = ["generate.batch_size=4"]      # overrides for every pipeline (optional)
    resamples = 1000                     # bootstrap (optional)
    seed = 12345

    [datasets.cnndm]
    path = "../shared/data/cnndm.dev.jsonl"   # relative to this file, else to the current folder
    limit = 8

    [pipelines.lead3]                    # the first pipeline is the baseline of the paired tests
    pipeline = "lead3"                   # a built-in name or a .toml path
    [pipelines.default]
    pipeline = "default"
    model = "default"                    # optional: any --model spec
    set = ["generate.max_new_tokens=48"] # optional, after the suite's own
    [pipelines.finetuned]
    pipeline = "default"
    adapter = "../build/adapter"         # optional: a `summarizer finetune` folder (path as for datasets)

``pipelines = ["lead3", "extractive"]`` is short for tables naming built-ins. Unknown keys
are errors that list the valid ones. :func:`run_suite` loads each pipeline once, runs it on
every dataset (``OUTDIR/<dataset>/runs/<pipeline>/summaries.jsonl``), writes one report per
dataset (``OUTDIR/<dataset>/report.*``) and an index (``OUTDIR/report.md``, ``.html``,
and ``report.json`` holding every dataset's report).
"""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .report import EvalConfig

log = logging.getLogger("summarizer")


@dataclass
class DatasetSpec:
    name: str
    path: Path
    # Only the first ``limit`` documents (None: all of them).
    limit: int | None = None
    text_field: str | None = None
    reference_field: str | None = None


@dataclass
class PipelineSpec:
    name: str
    pipeline: str
    model: str | None = None
    set: list[str] = field(default_factory=list)
    # A fine-tuned adapter folder (summarizer finetune), merged into the model.
    adapter: str | None = None


@dataclass
class Suite:
    name: str
    path: Path
    datasets: list[DatasetSpec]
    pipelines: list[PipelineSpec]
    description: str = ""
    set: list[str] = field(default_factory=list)
    eval: EvalConfig = field(default_factory=EvalConfig)


TOP_LEVEL = ("description", "set", "resamples", "seed", "examples", "datasets", "pipelines")


def _check_keys(table: Any, valid: list[str], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table (keys: {', '.join(valid)}).")
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"valid keys: {', '.join(valid)}.")
    return table


def _typed(value: Any, expected: type, what: str) -> Any:
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{what} must be an integer, got {value!r}.")
    if expected is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{what} must be a list of strings, got {value!r}.")
    elif not isinstance(value, expected):
        raise ConfigError(f"{what} must be of type {expected.__name__}, got {value!r}.")
    return value


def _optional_str(table: dict[str, Any], key: str, where: str) -> str | None:
    return None if table.get(key) is None else _typed(table[key], str, f"{where}.{key}")


def resolve_path(value: str, suite_dir: Path, what: str) -> Path:
    """A path relative to the suite file's folder, else to the current folder."""
    path = Path(value).expanduser()
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [suite_dir / path, Path.cwd() / path]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise ConfigError(f"{what} {value!r} not found; looked at {', '.join(str(c) for c in candidates)}.")


def load_suite(path: str | Path) -> Suite:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"suite file {str(path)!r} does not exist; suites live in eval/*.toml.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"suite file {path} is not valid TOML: {exc}.") from exc
    where = str(path)
    _check_keys(data, list(TOP_LEVEL), where)
    suite_dir = path.parent
    eval_config = EvalConfig()
    for key in ("resamples", "seed", "examples"):
        if key in data:
            setattr(eval_config, key, _typed(data[key], int, f"{where}: {key}"))
    if eval_config.resamples < 1:
        raise ConfigError(f"{where}: resamples must be at least 1.")

    datasets = []
    valid = [f.name for f in fields(DatasetSpec) if f.name != "name"]
    for name, table in _named_tables(data.get("datasets"), "datasets", where):
        _check_keys(table, valid, f"{where}: [datasets.{name}]")
        if "path" not in table:
            raise ConfigError(f"{where}: [datasets.{name}] needs a path (a .jsonl/.csv/.parquet table or a folder).")
        limit = table.get("limit")
        if limit is not None and _typed(limit, int, f"{where}: datasets.{name}.limit") < 1:
            raise ConfigError(f"{where}: datasets.{name}.limit must be at least 1.")
        datasets.append(DatasetSpec(
            name=name,
            path=resolve_path(_typed(table["path"], str, f"{where}: datasets.{name}.path"), suite_dir,
                              f"{where}: datasets.{name}.path"),
            limit=limit,
            text_field=_optional_str(table, "text_field", f"{where}: datasets.{name}"),
            reference_field=_optional_str(table, "reference_field", f"{where}: datasets.{name}"),
        ))

    raw_pipelines = data.get("pipelines")
    if isinstance(raw_pipelines, list):
        raw_pipelines = {_typed(p, str, f"{where}: pipelines"): {"pipeline": p} for p in raw_pipelines}
    pipelines = []
    valid = [f.name for f in fields(PipelineSpec) if f.name != "name"]
    for name, table in _named_tables(raw_pipelines, "pipelines", where):
        _check_keys(table, valid, f"{where}: [pipelines.{name}]")
        pipeline = _typed(table.get("pipeline", name), str, f"{where}: pipelines.{name}.pipeline")
        if pipeline.endswith(".toml"):
            pipeline = str(resolve_path(pipeline, suite_dir, f"{where}: pipelines.{name}.pipeline"))
        adapter = _optional_str(table, "adapter", f"{where}: pipelines.{name}")
        if adapter is not None:
            adapter = str(resolve_path(adapter, suite_dir, f"{where}: pipelines.{name}.adapter"))
        pipelines.append(PipelineSpec(
            name=name, pipeline=pipeline,
            model=_optional_str(table, "model", f"{where}: pipelines.{name}"),
            set=list(_typed(table.get("set", []), list, f"{where}: pipelines.{name}.set")),
            adapter=adapter,
        ))
    return Suite(
        name=path.stem,
        path=path,
        datasets=datasets,
        pipelines=pipelines,
        description=_typed(data.get("description", ""), str, f"{where}: description"),
        set=list(_typed(data.get("set", []), list, f"{where}: set")),
        eval=eval_config,
    )


def _named_tables(value: Any, key: str, where: str):
    if not value:
        raise ConfigError(f"{where}: the suite needs at least one entry in [{key}.NAME].")
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError(f"{where}: {key} must be tables [{key}.NAME] (got {value!r}).")
    return value.items()


def run_suite(suite: Suite, outdir: str | Path, limit: int | None = None, progress: bool | None = None) -> dict[str, Any]:
    """Run every pipeline on every dataset, report each dataset, write the index; returns
    the combined JSON. ``limit`` overrides every dataset's own."""
    from ..pipeline import Pipeline, run_to_folder
    from .report import evaluate, write_report

    outdir = Path(outdir)
    # Loaded once, before any work, so that a bad setting fails at once; the model itself
    # loads on first use and is cached for the whole process.
    pipes = {spec.name: Pipeline.load(spec.pipeline, model=spec.model, overrides=[*suite.set, *spec.set],
                                      adapter=spec.adapter)
             for spec in suite.pipelines}
    combined: dict[str, Any] = {
        "suite": suite.name,
        "description": suite.description,
        "pipelines": {spec.name: _pipeline_entry(spec, pipes[spec.name], suite) for spec in suite.pipelines},
        "datasets": {},
    }
    entries = []
    for dataset in suite.datasets:
        folder = outdir / dataset.name
        files, runs = [], {}
        for spec in suite.pipelines:
            log.info("%s: running %s on %s", suite.name, spec.name, dataset.name)
            result = run_to_folder([str(dataset.path)], folder / "runs" / spec.name, pipes[spec.name],
                                   limit=limit or dataset.limit, text_field=dataset.text_field,
                                   reference_field=dataset.reference_field, progress=progress)
            runs[spec.name] = {"documents": result.total, "failed": result.failed,
                               "fallbacks": result.fallbacks, "seconds": result.seconds}
            log.info("  %d document(s) in %.1f s, %d failed", result.total, result.seconds, result.failed)
            files.append(result.output)
        report = evaluate(files, names=[s.name for s in suite.pipelines], config=suite.eval,
                          title=f"{suite.name}: {dataset.name}")
        write_report(report, folder)
        for line in report.problems.messages():
            log.warning("%s: %s", dataset.name, line)
        combined["datasets"][dataset.name] = {"path": str(dataset.path), "runs": runs, "report": report.to_dict()}
        entries.append(_index_entry(dataset.name, report.to_dict(), runs))
    write_index(suite, outdir, entries, combined)
    return combined


def _pipeline_entry(spec: PipelineSpec, pipe, suite: Suite) -> dict[str, Any]:
    config = pipe.config
    return {"pipeline": spec.pipeline, "fingerprint": config.fingerprint(),
            "model": config.generate.model if config.uses_model else None,
            "adapter": (config.generate.adapter or None) if config.uses_model else None,
            "set": [*suite.set, *spec.set]}


def _index_entry(dataset: str, report: dict[str, Any], runs: dict[str, Any]) -> dict[str, Any]:
    from .markdown import ROUGE_LABELS, rouge_cell
    from .rouge import ROUGE_TYPES

    headers = ["system", "n", *(ROUGE_LABELS[t] for t in ROUGE_TYPES), "run s/doc", "empty", "fallbacks"]
    rows = []
    for s in report["systems"]:
        run = runs.get(s["name"], {})
        per_doc = run["seconds"] / run["documents"] if run.get("documents") else None
        rows.append([s["name"], str(s["n"]), *(rouge_cell(s[t]) for t in ROUGE_TYPES),
                     "–" if per_doc is None else f"{per_doc:.3f}", str(s["empty"]), str(s["fallbacks"])])
    return {"dataset": dataset, "link": f"{dataset}/report.md", "report": report, "table": (headers, rows)}


def write_index(suite: Suite, outdir: Path, entries: list[dict[str, Any]], combined: dict[str, Any]) -> None:
    from .html import index_html
    from .markdown import markdown_table

    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "report.json").write_text(json.dumps(combined, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = [f"# Suite {suite.name}", ""]
    if suite.description:
        lines += [suite.description, ""]
    lines += ["ROUGE F1 x100 [bootstrap 95% interval]; run s/doc is the wall time of the run per document "
              "(model loading included in the first dataset's run).", ""]
    for entry in entries:
        lines += [f"## {entry['dataset']} ([report]({entry['link']}))", "", markdown_table(entry["table"]), ""]
    (outdir / "report.md").write_text("\n".join(lines), encoding="utf-8")
    title = f"Suite {suite.name}"
    (outdir / "report.html").write_text(index_html(title, entries, suite.description), encoding="utf-8")

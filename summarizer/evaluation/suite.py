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
    adapter = "../build/adapter"         # optional: a `summarizer finetune` folder (path as for datasets),
                                         # "builtin" (the shipped one) or "" (none, not even that)

``pipelines = ["lead3", "extractive"]`` is short for tables naming built-ins. Unknown keys
are errors that list the valid ones. Dataset and pipeline names become folder names, so they
must be plain names (:data:`summarizer.evaluation.files.NAME_RULE`). :func:`run_suite` loads
each pipeline once, runs it on every dataset (``OUTDIR/<dataset>/runs/<pipeline>/summaries.jsonl``),
writes one report per dataset (``OUTDIR/<dataset>/report.*``) and an index (``OUTDIR/report.md``,
``.html``, and ``report.json`` holding every dataset's report).
"""

from __future__ import annotations

import errno
import json
import logging
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..pipeline import Pipeline
from ..tomlcompat import tomllib
from ..trained import BUILTIN
from .files import Staged, check_name, make_folder, output_error, relative_href, remove_temporary
from .html import index_html
from .markdown import ROUGE_LABELS, markdown_table, markdown_text, rouge_cell
from .report import EvalConfig, evaluate, write_report
from .rouge import ROUGE_TYPES

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
# What writing (not reading) raises: a full disk or quota, a read-only or forbidden folder.
WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)
# The index's own files in the output folder, beside one folder per dataset.
INDEX_FILES = ("report.json", "report.md", "report.html")


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
    try:
        data = tomllib.loads(_read_suite_text(path))
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
        check_name(name, f"{where}: dataset")
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
        raw_pipelines = _short_pipelines(_typed(raw_pipelines, list, f"{where}: pipelines"), where)
    pipelines = []
    valid = [f.name for f in fields(PipelineSpec) if f.name != "name"]
    for name, table in _named_tables(raw_pipelines, "pipelines", where):
        _check_keys(table, valid, f"{where}: [pipelines.{name}]")
        check_name(name, f"{where}: pipeline")
        pipeline = _typed(table.get("pipeline", name), str, f"{where}: pipelines.{name}.pipeline")
        if pipeline.endswith(".toml"):
            pipeline = str(resolve_path(pipeline, suite_dir, f"{where}: pipelines.{name}.pipeline"))
        adapter = _optional_str(table, "adapter", f"{where}: pipelines.{name}")
        if adapter not in (None, "", BUILTIN):  # "": none at all; "builtin": the shipped one
            adapter = str(resolve_path(adapter, suite_dir, f"{where}: pipelines.{name}.adapter"))
        pipelines.append(PipelineSpec(
            name=name, pipeline=pipeline,
            model=_optional_str(table, "model", f"{where}: pipelines.{name}"),
            set=list(_typed(table.get("set", []), list, f"{where}: pipelines.{name}.set")),
            adapter=adapter,
        ))
    _check_distinct([d.name for d in datasets], "dataset", where)
    _check_distinct([p.name for p in pipelines], "pipeline", where)
    for dataset in datasets:
        if dataset.name.lower() in INDEX_FILES:
            raise ConfigError(f"{where}: dataset name {dataset.name!r} is the name of one of the index's files "
                              f"({', '.join(INDEX_FILES)}) in the output folder; rename the dataset.")
    return Suite(
        name=path.stem,
        path=path,
        datasets=datasets,
        pipelines=pipelines,
        description=_typed(data.get("description", ""), str, f"{where}: description"),
        set=list(_typed(data.get("set", []), list, f"{where}: set")),
        eval=eval_config,
    )


def _read_suite_text(path: Path) -> str:
    # stat, never open, to tell: opening a FIFO would wait for a writer forever.
    if not path.exists():
        raise ConfigError(f"suite file {str(path)!r} does not exist; suites live in eval/*.toml.")
    if not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file (a pipe, a device or a socket)"
        raise ConfigError(f"suite file {str(path)!r} is not a file: it is {kind}; give a .toml file such as "
                          "eval/quick.toml.")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"suite file {str(path)!r} cannot be read ({exc.strerror or exc}).") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"suite file {path} is not UTF-8 text (byte {raw[exc.start]:#04x} on line {line}); "
                          "TOML files are UTF-8: save it as UTF-8 (e.g. iconv -f latin1 -t utf-8).") from exc


def _short_pipelines(names: list[str], where: str) -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    for name in names:
        if name in tables:
            raise ConfigError(f"{where}: pipelines: {name!r} is listed twice; list each pipeline once.")
        if "/" in name or "\\" in name:
            raise ConfigError(f"{where}: pipelines: {name!r} is a path, and the list form names built-in pipelines "
                              "(its entries become folder names); write a [pipelines.NAME] table with pipeline = "
                              f"{name!r} instead.")
        tables[name] = {"pipeline": name}
    return tables


def _check_distinct(names: list[str], what: str, where: str) -> None:
    # TOML keys differ, but on a case-insensitive file system (macOS, Windows) they share a folder.
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise ConfigError(f"{where}: {what} names {other!r} and {name!r} differ only in case, so they would "
                              "share one folder on some file systems; rename one of them.")


def _named_tables(value: Any, key: str, where: str):
    if not value:
        raise ConfigError(f"{where}: the suite needs at least one entry in [{key}.NAME].")
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError(f"{where}: {key} must be tables [{key}.NAME] (got {value!r}).")
    return value.items()


def run_suite(suite: Suite, outdir: str | Path, limit: int | None = None, progress: bool | None = None) -> dict[str, Any]:
    """Run every pipeline on every dataset, report each dataset, write the index; returns
    the combined JSON. ``limit`` overrides every dataset's own."""
    # looked up at call time: tests replace summarizer.runner.run_to_folder to make a run fail
    from ..runner import run_to_folder

    outdir = Path(outdir)
    # Again here: a Suite can be built in code, without load_suite.
    for spec in [*suite.datasets, *suite.pipelines]:
        check_name(spec.name, "dataset" if isinstance(spec, DatasetSpec) else "pipeline")
    _check_not_reading_output(suite, outdir)
    make_folder(outdir)
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
        folder = make_folder(outdir / dataset.name, root=outdir)
        files, runs = [], {}
        for spec in suite.pipelines:
            log.info("%s: running %s on %s", suite.name, spec.name, dataset.name)
            run_folder = make_folder(folder / "runs" / spec.name, root=folder / "runs")
            try:
                result = run_to_folder([str(dataset.path)], run_folder, pipes[spec.name],
                                       limit=limit or dataset.limit, text_field=dataset.text_field,
                                       reference_field=dataset.reference_field, progress=progress)
            except OSError as exc:
                if exc.errno not in WRITE_ERRORS or not _written_in(exc, run_folder):
                    raise
                raise output_error(exc, run_folder) from exc
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


def _written_in(exc: OSError, folder: Path) -> bool:
    # A write to an open file names no file; any other path must be in the run's own folder.
    return exc.filename is None or Path(exc.filename).resolve().is_relative_to(folder.resolve())


def _check_not_reading_output(suite: Suite, outdir: Path) -> None:
    out = outdir.resolve()
    for dataset in suite.datasets:
        source = dataset.path.resolve()
        if source == out or source.is_relative_to(out) or (dataset.path.is_dir() and out.is_relative_to(source)):
            raise ConfigError(
                f"dataset {dataset.name!r}: its path {str(dataset.path)!r} and the output folder {str(outdir)!r} "
                "overlap, so the suite would read its own output (runs and per_document.csv) as documents; "
                "give an output folder outside the dataset's folder."
            )


def _pipeline_entry(spec: PipelineSpec, pipe, suite: Suite) -> dict[str, Any]:
    config = pipe.config
    return {"pipeline": spec.pipeline, "fingerprint": config.fingerprint(),
            "model": config.generate.model if config.uses_model else None,
            "adapter": (config.generate.adapter or None) if config.uses_model else None,
            "set": [*suite.set, *spec.set]}


def _index_entry(dataset: str, report: dict[str, Any], runs: dict[str, Any]) -> dict[str, Any]:
    headers = ["system", "n", *(ROUGE_LABELS[t] for t in ROUGE_TYPES), "run s/doc", "empty", "fallbacks"]
    rows = []
    for s in report["systems"]:
        run = runs.get(s["name"], {})
        per_doc = run["seconds"] / run["documents"] if run.get("documents") else None
        rows.append([s["name"], str(s["n"]), *(rouge_cell(s[t]) for t in ROUGE_TYPES),
                     "–" if per_doc is None else f"{per_doc:.3f}", str(s["empty"]), str(s["fallbacks"])])
    return {"dataset": dataset, "report": report, "table": (headers, rows)}


def write_index(suite: Suite, outdir: Path, entries: list[dict[str, Any]], combined: dict[str, Any]) -> None:
    make_folder(outdir)
    remove_temporary(outdir, INDEX_FILES)
    lines = [f"# Suite {markdown_text(suite.name)}", ""]
    if suite.description:
        lines += [markdown_text(suite.description), ""]
    lines += ["ROUGE F1 x100 [bootstrap 95% interval]; run s/doc is the wall time of the run per document "
              "(model loading included in the first dataset's run).", ""]
    for entry in entries:
        link = relative_href(str(entry["dataset"]), "report.md")
        heading = markdown_text(entry["dataset"]) + (f" ([report]({link}))" if link else "")
        lines += [f"## {heading}", "", markdown_table(entry["table"]), ""]
    with Staged(outdir) as files:
        files.text(outdir / "report.json", json.dumps(combined, indent=2, ensure_ascii=False) + "\n")
        files.text(outdir / "report.md", "\n".join(lines))
        files.text(outdir / "report.html", index_html(f"Suite {suite.name}", entries, suite.description))

"""Orchestration of ``summarizer eval``: its body is the list of its stages.

    >>> report = evaluate(["out/lead3/summaries.jsonl", "out/default/summaries.jsonl"])  # doctest: +SKIP
    >>> write_report(report, "build/report")                                             # doctest: +SKIP
    >>> report.systems[0].summary["rougeLsum"]                                           # doctest: +SKIP
    {'f': 36.1, 'low': 34.9, 'high': 37.4, 'precision': 33.2, 'recall': 44.0}

    read systems -> read references -> align ids (none in common: an error) -> choose the
    tokenization from the references -> score documents -> aggregate (bootstrap intervals;
    against the first system the paired difference, its interval and the permutation test's
    p_value) -> write JSON, CSV, Markdown and HTML

A failed or empty summary is scored as an empty prediction (0 on every ROUGE type) and
counted; documents a system lacks are listed in the problems, not scored for it.

Besides ROUGE each system gets lengths, faithfulness (numbers and entity-like spans in the
source, novel n-grams), ``model`` (what the model did against copying: the share of summary
sentences found verbatim in the source, repeated sentences, summary words / words of the
extract it was given; see :mod:`summarizer.evaluation.faithfulness`) and speed. The extract
is the record's ``extract`` sentences (of its ``text``), joined by a space, when its stages
had one.

In per_document.csv a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading ``'`` (:func:`csv_cell`), so a spreadsheet shows it instead of running it
as a formula; numbers, and text that is a plain number such as ``-0.5``, are written as they are.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import InputError, OutputError
from .bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, confidence_interval, paired_test
from .data import Problems, Reference, SystemOutput, align, check_overlap, read_system
from .faithfulness import NGRAM_SIZES, measure, model_summary, record_extract
from .files import Staged, make_folder, remove_temporary
from .html import report_html
from .markdown import report_markdown
from .permutation import DEFAULT_PERMUTATIONS, EXACT_MAX_N
from .references import read_references
from .rouge import ROUGE_TYPES, Rouge, Score
from .words import words

if TYPE_CHECKING:
    from .tokens import Tokenization


@dataclass
class EvalConfig:
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    confidence: float = 0.95
    use_stemmer: bool = True
    # Random sign assignments of the paired permutation test beyond EXACT_MAX_N documents.
    permutations: int = DEFAULT_PERMUTATIONS
    # "auto" (chosen from the references' letters), "rouge-score", "unicode" or "cjk".
    tokenization: str = "auto"
    # Best and worst documents shown per system in the HTML report.
    examples: int = 3


@dataclass
class DocumentResult:
    id: str
    status: str  # "ok", "empty" (no summary text) or "failed" (the record has an error)
    summary: str
    reference: str
    rouge: dict[str, Score]
    measures: dict[str, Any]
    fallback: bool = False
    generate_seconds: float | None = None
    pipeline_seconds: float | None = None
    error: str | None = None


@dataclass
class SystemResult:
    name: str
    path: str
    documents: list[DocumentResult]
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    title: str
    config: EvalConfig
    references: str | None
    n_references: int
    systems: list[SystemResult]
    problems: Problems
    tokenization: Tokenization | None = None
    references_kind: str = "records"  # "records", "jsonl", "table" or "folder"

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "settings": {
                "rouge_types": list(ROUGE_TYPES),
                "scale": "x100",
                "stemming": self.config.use_stemmer,
                "rougeLsum": "one sentence per line (summarizer.segment) on both sides",
                "tokenization": self.tokenization.to_dict() if self.tokenization else None,
                "bootstrap": {"resamples": self.config.resamples, "seed": self.config.seed,
                              "confidence": self.config.confidence},
                "permutation_test": {"test": "paired sign-flip, two-sided", "exact_up_to_n": EXACT_MAX_N,
                                     "permutations": self.config.permutations, "seed": self.config.seed},
            },
            "references": {"file": self.references, "kind": self.references_kind, "n": self.n_references},
            "systems": [s.summary for s in self.systems],
            "problems": self.problems.to_dict(),
        }


def evaluate(
    paths: Sequence[str | Path],
    names: Sequence[str] = (),
    references: str | Path | None = None,
    config: EvalConfig | None = None,
    title: str | None = None,
) -> Report:
    """Score the systems' outputs in ``paths`` (named ``names``, by default after their
    folder) against ``references`` (a JSONL, CSV or Parquet file, a folder of text files, or
    the records' own references). Raises InputError when no system has any reference id."""
    from .tokens import choose_tokenization

    config = config or EvalConfig()
    systems = read_systems(paths, names)
    reference_set = read_references(references, systems)
    refs = reference_set.references
    where = str(references or "references")
    problems = align(systems, refs, reference_set.duplicates, where)
    problems.unread_references = reference_set.unread
    check_overlap(systems, refs, where if references else "the records' own 'reference' fields")
    # One tokenization for the whole report, so every system and document is scored alike.
    tokenization = choose_tokenization((ref.reference for ref in refs.values()), config.tokenization)
    rouge = Rouge(use_stemmer=config.use_stemmer, tokenization=tokenization.name)
    results = [SystemResult(s.name, s.path, score_documents(s, refs, rouge)) for s in systems]
    for result in results:
        result.summary = aggregate(result, config)
    for result in results[1:]:
        result.summary["vs_first"] = compare(results[0], result, config)
    if results:
        results[0].summary["vs_first"] = None
    return Report(title or "Summarization evaluation", config, str(references) if references else None,
                  len(refs), results, problems, tokenization, reference_set.kind)


def read_systems(paths: Sequence[str | Path], names: Sequence[str] = ()) -> list[SystemOutput]:
    if not paths:
        raise InputError("no system outputs to score; give one or more summaries.jsonl files.")
    if len(names) > len(paths):
        raise InputError(f"{len(names)} names for {len(paths)} file(s); give at most one --name per file.")
    systems = []
    taken: set[str] = set()
    for i, path in enumerate(paths):
        system = read_system(path, names[i] if i < len(names) else None)
        base, k = system.name, 2
        while system.name in taken:  # two files both called summaries.jsonl in folders "out"
            system.name, k = f"{base}-{k}", k + 1
        taken.add(system.name)
        systems.append(system)
    return systems


def score_documents(system: SystemOutput, references: dict[str, Reference], rouge: Rouge) -> list[DocumentResult]:
    """One result per reference the system has a record for, in the references' order."""
    results = []
    for key, ref in references.items():
        record = system.records.get(key)
        if record is None:
            continue
        error = record.get("error") or None
        summary = record.get("summary") if isinstance(record.get("summary"), str) else ""
        if error:
            summary = ""  # a failed record's partial output is not its summary
        status = "failed" if error else ("ok" if summary.strip() else "empty")
        # The extract the model was given, when an extract stage ran: how much of it the
        # summary keeps (a failed record's extract says nothing of a summary).
        measures = measure(summary, ref.source, None if error else record_extract(record))
        measures["reference_words"] = len(words(ref.reference))
        trace = record.get("trace") if isinstance(record.get("trace"), list) else []
        generate = [t.get("seconds") for t in trace if isinstance(t, dict) and t.get("stage") == "generate"]
        every = [t.get("seconds") for t in trace if isinstance(t, dict) and isinstance(t.get("seconds"), (int, float))]
        results.append(DocumentResult(
            id=key, status=status, summary=summary, reference=ref.reference,
            rouge=rouge.score(ref.reference, summary), measures=measures,
            fallback=bool(record.get("fallback")),
            generate_seconds=sum(generate) if generate and all(isinstance(s, (int, float)) for s in generate) else None,
            pipeline_seconds=sum(every) if every else None,
            error=error,
        ))
    return results


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def aggregate(result: SystemResult, config: EvalConfig) -> dict[str, Any]:
    docs = result.documents
    summary: dict[str, Any] = {
        "name": result.name,
        "file": result.path,
        "n": len(docs),
        "failed": sum(d.status == "failed" for d in docs),
        "empty": sum(d.status != "ok" for d in docs),
        "fallbacks": sum(d.fallback for d in docs),
    }
    for rouge_type in ROUGE_TYPES:
        f = [d.rouge[rouge_type].fmeasure for d in docs]
        interval = confidence_interval(f, config.resamples, config.seed, config.confidence)
        summary[rouge_type] = {
            "f": _mean(f),
            "low": interval[0] if interval else None,
            "high": interval[1] if interval else None,
            "precision": _mean([d.rouge[rouge_type].precision for d in docs]),
            "recall": _mean([d.rouge[rouge_type].recall for d in docs]),
        }
    column = lambda key: [d.measures.get(key) for d in docs]  # noqa: E731
    present = lambda key: sum(v is not None for v in column(key))  # noqa: E731
    lengths = column("summary_words")
    summary["length"] = {
        "summary_words": _mean(lengths),
        "summary_words_median": statistics.median(lengths) if lengths else None,
        "reference_words": _mean(column("reference_words")),
        "compression": _mean(column("compression")),
    }
    summary["faithfulness"] = {
        "numbers_in_source": _mean(column("numbers_share")),
        "documents_with_numbers": present("numbers_share"),
        "entities_in_source": _mean(column("entities_share")),
        "documents_with_entities": present("entities_share"),
        **{f"novel_{n}": _mean(column(f"novel_{n}")) for n in NGRAM_SIZES},
        "documents_without_source": sum(d.measures.get("source_words") is None for d in docs),
    }
    # What the model did, against copying sentences (faithfulness.model_summary).
    summary["model"] = model_summary(d.measures for d in docs)
    timed = [d.generate_seconds for d in docs if d.generate_seconds is not None]
    summary["speed"] = {
        "generate_seconds": _mean(timed),
        "generate_seconds_total": sum(timed) if timed else None,
        "documents_timed": len(timed),
        "pipeline_seconds": _mean([d.pipeline_seconds for d in docs]),
    }
    return summary


def compare(first: SystemResult, other: SystemResult, config: EvalConfig) -> dict[str, Any]:
    """``other`` against ``first`` on the documents both have: the mean difference, its paired
    bootstrap interval and the paired permutation test's ``p_value``."""
    theirs = {d.id: d for d in other.documents}
    shared = [(d, theirs[d.id]) for d in first.documents if d.id in theirs]
    out: dict[str, Any] = {"baseline": first.name, "n": len(shared)}
    for rouge_type in ROUGE_TYPES:
        result = paired_test([a.rouge[rouge_type].fmeasure for a, _ in shared],
                             [b.rouge[rouge_type].fmeasure for _, b in shared],
                             config.resamples, config.seed, config.confidence, config.permutations)
        out[rouge_type] = result.to_dict() if result else None
    return out


def per_document_rows(report: Report) -> list[dict[str, Any]]:
    rows = []
    for system in report.systems:
        for d in system.documents:
            row: dict[str, Any] = {"system": system.name, "id": d.id, "status": d.status}
            for rouge_type in ROUGE_TYPES:
                score = d.rouge[rouge_type]
                row.update({f"{rouge_type}_f": score.fmeasure, f"{rouge_type}_precision": score.precision,
                            f"{rouge_type}_recall": score.recall})
            row.update(d.measures)
            row.update({"fallback": d.fallback, "generate_seconds": d.generate_seconds,
                        "pipeline_seconds": d.pipeline_seconds, "error": d.error,
                        "summary": d.summary, "reference": d.reference})
            rows.append(row)
    return rows


# OWASP's list of the characters that start a formula in Excel, LibreOffice or Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
REPORT_FILES = ("report.json", "per_document.csv", "report.md", "report.html")


def csv_cell(value: Any) -> Any:
    """``value`` safe to open in a spreadsheet: text that would start a formula gets a ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_report(report: Report, outdir: str | Path, html: bool = True) -> list[Path]:
    """Write report.json, per_document.csv, report.md and (unless ``html`` is False)
    report.html into ``outdir``; returns their paths. They are renamed into place only once
    all are written, so the earlier report stays whole when anything fails."""
    import pandas as pd

    outdir = Path(outdir)
    written = [outdir / name for name in REPORT_FILES[:4 if html else 3]]
    _check_not_an_input(report, written)
    make_folder(outdir)
    remove_temporary(outdir, REPORT_FILES)
    rows = [{key: csv_cell(value) for key, value in row.items()} for row in per_document_rows(report)]
    with Staged(outdir) as files:
        files.text(written[0], json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        # CRLF, as RFC 4180 has it: with "\n" alone the csv writer leaves a cell holding a lone
        # "\r" unquoted, and every reader then ends the row there.
        files.write(written[1], lambda temporary: pd.DataFrame(rows).to_csv(temporary, index=False,
                                                                            lineterminator="\r\n"))
        files.text(written[2], report_markdown(report))
        if html:
            files.text(written[3], report_html(report))
    return written


def _check_not_an_input(report: Report, targets: list[Path]) -> None:
    inputs = {Path(s.path).resolve(): s.path for s in report.systems}
    if report.references:
        inputs[Path(report.references).resolve()] = report.references
        folder = Path(report.references)
        if folder.is_dir() and targets and targets[0].parent.resolve().is_relative_to(folder.resolve()):
            # The next eval of that folder would read report.json and per_document.csv as references.
            raise OutputError(f"the output folder {str(targets[0].parent)!r} is inside the references folder "
                              f"{report.references!r}; the report's files would become references. Give an "
                              "output folder outside it with --output.")
    for target in targets:
        source = inputs.get(target.resolve())
        if source is not None:
            raise OutputError(f"{str(target)!r} is one of the inputs ({source}); writing the report there would "
                              "replace it. Give another output folder with --output.")

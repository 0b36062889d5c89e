"""The report as one self-contained HTML page, charts embedded as base64 PNG.

    >>> Path("report.html").write_text(report_html(report))  # doctest: +SKIP

The charts are drawn by :mod:`summarizer.evaluation.charts` and
:mod:`summarizer.evaluation.measure_charts` (matplotlib is imported there, only when a page
is drawn). The best system of each ROUGE measure is bold in the tables and starred in the
charts (:mod:`summarizer.evaluation.best`).

Every text on the page is HTML-escaped, and links are built from path segments by
:func:`summarizer.evaluation.files.relative_href` only. The page names its input files by
relative paths, or by their last folder and name (:func:`display_path`), never by absolute
paths: a report is shared, and where its inputs lay on someone's machine is neither the
reader's business nor any use to them.
"""

from __future__ import annotations

import html
import re
from pathlib import Path, PurePath, PureWindowsPath
from typing import TYPE_CHECKING, Any, Collection, Sequence

from .best import best_by_type
from .charts import BEST_MARK, best_caption, chart_label, grouped_bars, rouge_chart
from .files import relative_href
from .markdown import NOTES, ROUGE_LABELS, Table, measures_table, model_table, rouge_table, significance_table
from .measure_charts import faithfulness_chart, length_chart
from .rouge import ROUGE_TYPES

if TYPE_CHECKING:
    from .report import Report, SystemResult

__all__ = ["chart_label", "grouped_bars", "rouge_chart", "length_chart", "faithfulness_chart", "report_html",
           "index_html", "display_path", "table_html"]

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.text { white-space: pre-wrap; }
td.best { font-weight: bold; background: #fff6d5; }
table.examples { table-layout: fixed; width: 100%; }
table.examples td { overflow-wrap: anywhere; }
figure { margin: 1em 0 2em; }
figcaption { color: #555; font-size: 0.9em; max-width: 60em; }
img { max-width: 100%; }
.problems li { color: #a33; }
.note { color: #555; font-size: 0.9em; }
"""

TABLE_BEST = (f"Bold: the highest mean F1 of the column ({BEST_MARK} in the chart). Where its interval overlaps "
              "another system's, the lead may be chance: the paired test says more.")

_WINDOWS = re.compile(r"[A-Za-z]:[\\/]|\\\\")


def display_path(path: object) -> str:
    """``path`` as the page shows it: a relative path as given (it says where the file is
    from where the command ran); anything else (absolute, or climbing out with ``..``) as
    ``…/folder/name``, its own folder being what tells ``…/lead3/summaries.jsonl`` from
    ``…/default/summaries.jsonl``."""
    text = str(path)
    # A report written on Windows may be read anywhere: its C:\ paths count as absolute too.
    pure = PureWindowsPath(text) if _WINDOWS.match(text) else PurePath(text)
    if not pure.is_absolute() and not pure.drive and ".." not in pure.parts and not text.startswith("~"):
        return pure.as_posix()
    folder = pure.parent.name if pure.parent.name not in ("", "..", "~") else ""
    return f"…/{folder}/{pure.name}" if folder else (pure.name or "…")


def _scrub(text: str, paths: Collection[str]) -> str:
    """``text`` with every one of ``paths`` (as given and resolved) shown by :func:`display_path`."""
    spellings = {}
    for path in paths:
        for spelling in (path, str(Path(path).resolve())):
            spellings[spelling] = display_path(path)
    # Longest first: "/a/b/refs.jsonl" before a shorter path it contains.
    for spelling in sorted(spellings, key=len, reverse=True):
        text = text.replace(spelling, spellings[spelling])
    return text


def rouge_best_cells(headers: Sequence[str], summaries: Sequence[dict[str, Any]]) -> set[tuple[int, int]]:
    """(row, column) of the leading system's cell in each ROUGE column of a table whose rows
    are ``summaries`` in order; columns are found by their heading."""
    best = best_by_type(summaries)
    cells = set()
    for t in ROUGE_TYPES:
        if ROUGE_LABELS[t] in headers:
            column = list(headers).index(ROUGE_LABELS[t])
            cells |= {(row, column) for row, s in enumerate(summaries) if s["name"] in best[t]}
    return cells


def table_html(table: Table, text_columns: Sequence[int] = (), css_class: str = "",
               widths: Sequence[str] = (), best: Collection[tuple[int, int]] = ()) -> str:
    """``table`` as HTML; the (row, column) cells in ``best`` are bold."""
    headers, rows = table
    out = [f'<table class="{css_class}">' if css_class else "<table>"]
    out += [f'<col style="width: {w}">' for w in widths]
    out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>")
    for r, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            classes = (["text"] if i in text_columns else []) + (["best"] if (r, i) in best else [])
            css = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{css}>{html.escape(str(cell))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def examples_table(system: "SystemResult", count: int) -> str:
    ranked = sorted(system.documents, key=lambda d: (-d.rouge["rougeLsum"].fmeasure, d.id))
    best = ranked[:count]
    shown = {d.id for d in best}
    worst = [d for d in ranked[-count:] if d.id not in shown]
    rows = []
    for label, docs in (("best", best), ("worst", worst)):
        for d in docs:
            summary = d.summary if d.status == "ok" else f"[{d.status}] {d.error or ''}".strip()
            rows.append([label, d.id, f"{d.rouge['rougeLsum'].fmeasure:.1f}", summary, d.reference])
    return table_html((["", "id", "ROUGE-Lsum", "summary", "reference"], rows), text_columns=(3, 4),
                      css_class="examples", widths=("5em", "9em", "6em", "auto", "auto"))


def page(title: str, body: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def inputs_html(report: "Report") -> str:
    refs = (html.escape(display_path(report.references)) if report.references
            else "the records' own reference field")
    files = ", ".join(f"{html.escape(s.name)} ({html.escape(display_path(s.path))})" for s in report.systems)
    return f"<p>{report.n_references} reference(s) from {refs}." + (f" Systems: {files}." if files else "") + "</p>"


def report_html(report: "Report") -> str:
    inputs = [s.path for s in report.systems] + ([report.references] if report.references else [])
    body: list[str] = [f"<h1>{html.escape(report.title)}</h1>", inputs_html(report)]
    best = rouge_best_cells(rouge_table(report)[0], [s.summary for s in report.systems])
    body += ["<h2>ROUGE</h2>", table_html(rouge_table(report), best=best)]
    if best:
        body.append(f'<p class="note">{html.escape(TABLE_BEST)}</p>')
    significance = significance_table(report)
    if significance:
        body += ["<h3>Against the first system (paired test)</h3>", table_html(significance)]
    body += [rouge_chart(report)] if report.systems else []
    body += ["<h2>Length, faithfulness, speed</h2>", table_html(measures_table(report))]
    body += ["<h3>What the model did</h3>", table_html(model_table(report))]
    if report.systems:
        body += [length_chart(report), faithfulness_chart(report)]
    body += ["<h2>Notes</h2>", '<ul class="note">', *(f"<li>{html.escape(n)}</li>" for n in NOTES), "</ul>"]
    # A problem names the references file as it was given, which may be an absolute path.
    messages = [_scrub(m, inputs) for m in report.problems.messages()]
    body += ["<h2>Id problems</h2>"]
    body += (['<ul class="problems">'] + [f"<li>{html.escape(m)}</li>" for m in messages] + ["</ul>"]
             if messages else ["<p>None: every system has every reference id once.</p>"])
    body += ["<h2>Best and worst documents (by ROUGE-Lsum)</h2>"]
    for system in report.systems:
        body += [f"<h3>{html.escape(system.name)}</h3>", examples_table(system, report.config.examples)]
    return page(report.title, body)


def index_html(title: str, reports: list[dict[str, Any]], description: str = "") -> str:
    """A page linking one report per dataset, with their ROUGE tables and a ROUGE-Lsum chart;
    the best system of each dataset is starred in the chart and bold in its table."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    if description:
        body.append(f"<p>{html.escape(description)}</p>")
    systems: dict[str, list] = {}
    for entry in reports:
        for s in entry["report"]["systems"]:
            systems.setdefault(s["name"], [])
    for entry in reports:
        by_name = {s["name"]: s["rougeLsum"] for s in entry["report"]["systems"]}
        for name, values in systems.items():
            score = by_name.get(name)
            values.append((score["f"], score["low"], score["high"]) if score else (None, None, None))
    best = [best_by_type(entry["report"]["systems"])["rougeLsum"] for entry in reports]
    if reports:
        caption = "Bars: mean ROUGE-Lsum F1 x100 over the documents; whiskers: seeded bootstrap 95% interval."
        caption += (" " + best_caption("dataset")) if any(best) else ""
        body.append(grouped_bars([chart_label(e["dataset"]) for e in reports], systems, "ROUGE-Lsum F1 x100",
                                 "ROUGE-Lsum per dataset, bootstrap 95% intervals", best=best, caption=caption))
    for entry in reports:
        link = relative_href(str(entry["dataset"]), "report.html")
        anchor = f' (<a href="{html.escape(link)}">full report</a>)' if link else ""
        body.append(f'<h2>{html.escape(str(entry["dataset"]))}{anchor}</h2>')
        cells = rouge_best_cells(entry["table"][0], entry["report"]["systems"])
        body.append(table_html(entry["table"], best=cells))
    return page(title, body)

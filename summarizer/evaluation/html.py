"""The report as one self-contained HTML page, charts embedded as base64 PNG.

    >>> Path("report.html").write_text(report_html(report))  # doctest: +SKIP

matplotlib is imported here and only here, when a page is drawn (``summarizer --help``
never pays for it). Figures are drawn on the Agg canvas directly, without pyplot, so no
display, global figure state or backend setting is involved.

Every text on the page is HTML-escaped, and links are built from path segments by
:func:`summarizer.evaluation.files.relative_href` only; every name drawn in a chart goes
through :func:`chart_label`, so a ``$`` is never read as mathtext.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import re
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from .files import relative_href
from .markdown import NOTES, ROUGE_LABELS, Table, measures_table, model_table, rouge_table, significance_table
from .rouge import ROUGE_TYPES

if TYPE_CHECKING:
    from .report import Report, SystemResult

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.text { white-space: pre-wrap; }
table.examples { table-layout: fixed; width: 100%; }
table.examples td { overflow-wrap: anywhere; }
img { max-width: 100%; }
.problems li { color: #a33; }
.note { color: #555; font-size: 0.9em; }
"""
# One colour per system, the same in every chart (matplotlib's default cycle).
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


LABEL_LENGTH = 40
_SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


def chart_label(name: object) -> str:
    """A name as matplotlib draws it literally: ``$`` escaped (mathtext would parse, and can
    fail on, ``$...$``), line breaks and control characters as one space, and cut to
    :data:`LABEL_LENGTH` characters so that the layout still fits the figure."""
    text = _SPACES.sub(" ", str(name)).strip()
    if len(text) > LABEL_LENGTH:
        text = text[:LABEL_LENGTH - 1] + "…"
    return text.replace("$", "\\$")


@contextlib.contextmanager
def _plain_text() -> Iterator[None]:
    # A matplotlibrc with text.usetex would send every label through LaTeX, which may not be
    # installed and chokes on "%", "&" and "_".
    import matplotlib

    with matplotlib.rc_context({"text.usetex": False}):
        yield


def _figure(width: float = 8, height: float = 3.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def grouped_bars(groups: Sequence[str], series: dict[str, list[tuple[float | None, float | None, float | None]]],
                 ylabel: str, title: str) -> str:
    """Bars of (value, low, high) per group and series; low/high draw the interval. The series
    names go through :func:`chart_label`; ``groups`` are drawn as given (labels of the caller's
    own, or already made with chart_label), so that a label can keep its line break."""
    with _plain_text():
        figure = _figure()
        axes = figure.add_subplot()
        width = 0.8 / max(len(series), 1)
        bars = []
        for k, (name, values) in enumerate(series.items()):
            xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(groups))]
            heights = [v[0] or 0.0 for v in values]
            errors = [[max(0.0, (v[0] or 0) - v[1]) if v[1] is not None else 0.0 for v in values],
                      [max(0.0, v[2] - (v[0] or 0)) if v[2] is not None else 0.0 for v in values]]
            has_interval = any(v[1] is not None for v in values)
            bars.append(axes.bar(xs, heights, width, yerr=errors if has_interval else None, capsize=3,
                                 color=COLOURS[k % len(COLOURS)]))
        axes.set_xticks(range(len(groups)), list(groups))
        axes.set_ylabel(ylabel)
        axes.set_title(title)
        axes.grid(axis="y", alpha=0.3)
        if bars:
            # Handles given, not found from labels: a label starting with "_" would be left out.
            axes.legend(bars, [chart_label(name) for name in series], fontsize="small")
        return _png(figure)


def rouge_chart(report: "Report") -> str:
    series = {s.name: [(s.summary[t]["f"], s.summary[t]["low"], s.summary[t]["high"]) for t in ROUGE_TYPES]
              for s in report.systems}
    return grouped_bars([ROUGE_LABELS[t] for t in ROUGE_TYPES], series, "F1 x100",
                        "ROUGE F1 with bootstrap 95% intervals")


def length_chart(report: "Report") -> str:
    with _plain_text():
        figure = _figure()
        axes = figure.add_subplot()
        data = [[d.measures["summary_words"] for d in s.documents] for s in report.systems]
        labels = [chart_label(s.name) for s in report.systems]
        if report.systems:
            data.append([d.measures["reference_words"] for d in report.systems[0].documents])
            labels.append("reference")
        parts = axes.boxplot(data, tick_labels=labels, patch_artist=True, showmeans=True)
        for k, box in enumerate(parts["boxes"]):
            box.set_facecolor(COLOURS[k % len(COLOURS)] if k < len(report.systems) else "#dddddd")
            box.set_alpha(0.6)
        axes.set_ylabel("words per summary")
        axes.set_title("Summary length (triangle: mean)")
        axes.grid(axis="y", alpha=0.3)
        return _png(figure)


def faithfulness_chart(report: "Report") -> str:
    keys = [("faithfulness", "numbers_in_source", "numbers\nin source"),
            ("faithfulness", "entities_in_source", "entities\nin source"),
            ("faithfulness", "novel_1", "novel\n1-grams"), ("faithfulness", "novel_2", "novel\n2-grams"),
            ("faithfulness", "novel_3", "novel\n3-grams"), ("model", "verbatim_share", "verbatim\nsentences")]
    series = {}
    for s in report.systems:
        values = [s.summary[section][key] for section, key, _ in keys]
        series[s.name] = [(None if v is None else 100 * v, None, None) for v in values]
    return grouped_bars([label for _, _, label in keys], series, "% (mean over documents)",
                        "Faithfulness, novelty and copying")


def table_html(table: Table, text_columns: Sequence[int] = (), css_class: str = "",
               widths: Sequence[str] = ()) -> str:
    headers, rows = table
    out = [f'<table class="{css_class}">' if css_class else "<table>"]
    out += [f'<col style="width: {w}">' for w in widths]
    out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>")
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ' class="text"' if i in text_columns else ""
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


def report_html(report: "Report") -> str:
    refs = report.references or "the records' own reference field"
    body: list[str] = [f"<h1>{html.escape(report.title)}</h1>",
                       f"<p>{report.n_references} reference(s) from {html.escape(refs)}.</p>"]
    body += ["<h2>ROUGE</h2>", table_html(rouge_table(report))]
    significance = significance_table(report)
    if significance:
        body += ["<h3>Against the first system (paired bootstrap)</h3>", table_html(significance)]
    body += [rouge_chart(report)] if report.systems else []
    body += ["<h2>Length, faithfulness, speed</h2>", table_html(measures_table(report))]
    body += ["<h3>What the model did</h3>", table_html(model_table(report))]
    if report.systems:
        body += [length_chart(report), faithfulness_chart(report)]
    body += ["<h2>Notes</h2>", '<ul class="note">', *(f"<li>{html.escape(n)}</li>" for n in NOTES), "</ul>"]
    messages = report.problems.messages()
    body += ["<h2>Id problems</h2>"]
    body += (['<ul class="problems">'] + [f"<li>{html.escape(m)}</li>" for m in messages] + ["</ul>"]
             if messages else ["<p>None: every system has every reference id once.</p>"])
    body += ["<h2>Best and worst documents (by ROUGE-Lsum)</h2>"]
    for system in report.systems:
        body += [f"<h3>{html.escape(system.name)}</h3>", examples_table(system, report.config.examples)]
    return page(report.title, body)


def index_html(title: str, reports: list[dict[str, Any]], description: str = "") -> str:
    """A page linking one report per dataset, with their ROUGE tables and a ROUGE-Lsum chart."""
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
    if reports:
        body.append(grouped_bars([chart_label(e["dataset"]) for e in reports], systems, "ROUGE-Lsum F1 x100",
                                 "ROUGE-Lsum per dataset, bootstrap 95% intervals"))
    for entry in reports:
        link = relative_href(str(entry["dataset"]), "report.html")
        anchor = f' (<a href="{html.escape(link)}">full report</a>)' if link else ""
        body.append(f'<h2>{html.escape(str(entry["dataset"]))}{anchor}</h2>')
        body.append(table_html(entry["table"]))
    return page(title, body)

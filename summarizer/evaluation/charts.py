"""Drawing the report's charts: the figure plumbing, grouped bars, and the ROUGE chart.

    >>> html = rouge_chart(report)  # doctest: +SKIP
    '<figure><img ...><figcaption>...'

matplotlib is imported inside the functions only, when a page is drawn (``summarizer --help``
never pays for it). Figures are drawn on the Agg canvas directly, without pyplot, so no
display, global figure state or backend setting is involved. Every chart comes back as an
HTML ``<figure>`` with its caption: what a mark means is written under the chart, where the
reader looks for it.

Every name drawn in a chart goes through :func:`chart_label`, so a ``$`` is never read as
mathtext. The length and faithfulness charts are in :mod:`summarizer.evaluation.measure_charts`.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import re
from typing import TYPE_CHECKING, Iterator, Sequence

from .best import best_by_type
from .markdown import ROUGE_LABELS
from .rouge import ROUGE_TYPES

if TYPE_CHECKING:
    from .report import Report

# One colour per system, the same in every chart (matplotlib's default cycle).
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
BEST_MARK = "★"

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
def plain_text() -> Iterator[None]:
    # A matplotlibrc with text.usetex would send every label through LaTeX, which may not be
    # installed and chokes on "%", "&" and "_".
    import matplotlib

    with matplotlib.rc_context({"text.usetex": False}):
        yield


def new_figure(width: float = 8, height: float = 3.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def figure_html(figure, alt: str, caption: str = "") -> str:
    """The figure as an embedded PNG inside ``<figure>``, with ``caption`` under it."""
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    image = f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
    text = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f"<figure>{image}{text}</figure>"


def best_marker_handle():
    from matplotlib.lines import Line2D

    return Line2D([], [], marker="*", color="black", linestyle="none", markersize=10)


def best_caption(group: str = "measure") -> str:
    """What the star means, for a chart whose bars are grouped by ``group``."""
    return (f"{BEST_MARK} (bold in the tables): the highest mean F1 of that {group}. Where its interval overlaps "
            "another system's, the lead may be chance: the paired test says more.")


def bars_figure(groups: Sequence[str], series: dict[str, list[tuple[float | None, float | None, float | None]]],
                ylabel: str, title: str, best: Sequence[set[str]] = ()):
    """Bars of (value, low, high) per group and series; low/high draw the interval, and a
    star above the bars of the series named in ``best[group]``."""
    figure = new_figure()
    axes = figure.add_subplot()
    width = 0.8 / max(len(series), 1)
    bars, stars = [], []
    for k, (name, values) in enumerate(series.items()):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(groups))]
        heights = [v[0] or 0.0 for v in values]
        errors = [[max(0.0, (v[0] or 0) - v[1]) if v[1] is not None else 0.0 for v in values],
                  [max(0.0, v[2] - (v[0] or 0)) if v[2] is not None else 0.0 for v in values]]
        has_interval = any(v[1] is not None for v in values)
        bars.append(axes.bar(xs, heights, width, yerr=errors if has_interval else None, capsize=3,
                             color=COLOURS[k % len(COLOURS)]))
        for i, (x, v) in enumerate(zip(xs, values)):
            if i < len(best) and name in best[i] and v[0] is not None:
                stars.append((x, max(v[0], v[2] if v[2] is not None else v[0])))
    if stars:
        # Above the interval, not the bar, so that the star never sits on a whisker.
        top = max(y for _, y in stars) or 1.0
        axes.plot([x for x, _ in stars], [y + 0.04 * top for _, y in stars], marker="*", color="black",
                  linestyle="none", markersize=10)
        axes.set_ylim(top=max(axes.get_ylim()[1], 1.12 * top))
    axes.set_xticks(range(len(groups)), list(groups))
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    if bars:
        # Handles given, not found from labels: a label starting with "_" would be left out.
        handles = bars + ([best_marker_handle()] if stars else [])
        labels = [chart_label(name) for name in series] + (["best mean"] if stars else [])
        # Beside the plot, never over a bar.
        axes.legend(handles, labels, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                    borderaxespad=0)
    return figure


def grouped_bars(groups: Sequence[str], series: dict[str, list[tuple[float | None, float | None, float | None]]],
                 ylabel: str, title: str, best: Sequence[set[str]] = (), caption: str = "") -> str:
    """:func:`bars_figure` as HTML. The series names go through :func:`chart_label`; ``groups``
    are drawn as given (labels of the caller's own, or already made with chart_label), so that
    a label can keep its line break."""
    with plain_text():
        return figure_html(bars_figure(groups, series, ylabel, title, best), title, caption)


def rouge_series(report: "Report") -> dict[str, list[tuple[float | None, float | None, float | None]]]:
    return {s.name: [(s.summary[t]["f"], s.summary[t]["low"], s.summary[t]["high"]) for t in ROUGE_TYPES]
            for s in report.systems}


def rouge_best(report: "Report") -> list[set[str]]:
    best = best_by_type([s.summary for s in report.systems])
    return [best[t] for t in ROUGE_TYPES]


def rouge_figure(report: "Report"):
    return bars_figure([ROUGE_LABELS[t] for t in ROUGE_TYPES], rouge_series(report), "F1 x100",
                       "ROUGE F1 with bootstrap 95% intervals", rouge_best(report))


def rouge_chart(report: "Report") -> str:
    caption = "Bars: mean F1 x100 over the documents; whiskers: seeded bootstrap 95% interval."
    if any(rouge_best(report)):
        caption += " " + best_caption()
    with plain_text():
        return figure_html(rouge_figure(report), "ROUGE F1 per system", caption)

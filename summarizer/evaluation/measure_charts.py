"""The report's length and faithfulness charts, each drawn on a scale its data can be read on.

    >>> html = length_chart(report)        # doctest: +SKIP
    >>> html = faithfulness_chart(report)  # doctest: +SKIP

Length: one reference of 1,800 words on a shared axis squeezes 50-word summaries into a line.
The axis ends at the longest box whisker instead (Tukey's 1.5 IQR rule, the one the boxes
use), when some value lies well beyond it; those values are drawn as ▸ past a dotted line
at the edge, with their count and the longest, and the title and caption state the cut
(:func:`length_clip`).

Faithfulness: shares near 100% (numbers found in the source) and near 0% (novel n-grams of
an extractive system) both vanish on one 0-100 axis. Each measure gets its own panel and
its own range around its data (:func:`panel_range`), a dot for the mean with the value
written above it, and a seeded bootstrap interval of the mean like ROUGE's (computed here
from the per-document values, with the report's resamples and seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from .bootstrap import confidence_interval
from .charts import COLOURS, chart_label, figure_html, new_figure, plain_text

if TYPE_CHECKING:
    from .report import Report

REFERENCE_COLOUR = "#bbbbbb"
# Cut only when it gains room: values just past the whisker fit without hiding anything.
CLIP_GAIN = 1.25
# (per-document measure key, panel title, what its percentage counts): short enough that
# three panels side by side keep their labels apart beside 40-character system names.
FAITHFULNESS = [
    ("numbers_share", "numbers in source", "% found in the source"),
    ("entities_share", "entities in source", "% found in the source"),
    ("novel_1", "novel 1-grams", "% not in the source"),
    ("novel_2", "novel 2-grams", "% not in the source"),
    ("novel_3", "novel 3-grams", "% not in the source"),
    ("verbatim_share", "verbatim sentences", "% copied as they are"),
]
# Narrowest panel range, in percentage points: 99.8% against 100% is not worth a full axis.
MIN_SPAN = 4.0


@dataclass
class Clip:
    limit: float  # the axis ends here
    hidden: list[tuple[int, float]]  # (series index, value) beyond the limit

    def counts(self) -> dict[int, tuple[int, float]]:
        """Series index -> (values beyond the limit, the largest of them)."""
        out: dict[int, tuple[int, float]] = {}
        for k, value in self.hidden:
            count, top = out.get(k, (0, value))
            out[k] = (count + 1, max(top, value))
        return out


def upper_whisker(values: Sequence[float]) -> float | None:
    """Where a box plot's upper whisker ends: the largest value within Q3 + 1.5 IQR."""
    import numpy as np

    if not values:
        return None
    q1, q3 = np.percentile(values, [25, 75])
    reach = q3 + 1.5 * (q3 - q1)
    return float(max(v for v in values if v <= reach))


def length_clip(series: Sequence[Sequence[float]]) -> Clip | None:
    """The cut of the length axis at the longest whisker of ``series``; None when every value
    is within :data:`CLIP_GAIN` times it (nothing worth hiding)."""
    whiskers = [w for w in map(upper_whisker, series) if w is not None]
    values = [v for s in series for v in s]
    if not whiskers or not values:
        return None
    limit = max(whiskers)
    if max(values) <= CLIP_GAIN * limit or limit <= 0:
        return None
    return Clip(limit, [(k, v) for k, s in enumerate(series) for v in s if v > limit])


def _lengths(report: "Report") -> tuple[list[list[float]], list[str]]:
    data = [[d.measures["summary_words"] for d in s.documents] for s in report.systems]
    labels = [chart_label(s.name) for s in report.systems]
    if report.systems:
        data.append([d.measures["reference_words"] for d in report.systems[0].documents])
        labels.append("reference")
    return data, labels


def _horizontal() -> dict[str, object]:
    import matplotlib

    # "orientation" arrived in matplotlib 3.10, which deprecates the "vert" of 3.9.
    major, minor = (int(part) for part in matplotlib.__version__.split(".")[:2])
    return {"orientation": "horizontal"} if (major, minor) >= (3, 10) else {"vert": False}


def length_figure(report: "Report"):
    """The length box plots, one row per system and the references last, and the clip."""
    data, labels = _lengths(report)
    clip = length_clip(data)
    figure = new_figure(8, 1.4 + 0.5 * len(data))
    axes = figure.add_subplot()
    # Rows top-down in the tables' order: positions count down.
    positions = list(range(len(data), 0, -1))
    parts = axes.boxplot(data, positions=positions, tick_labels=labels, patch_artist=True, showmeans=True,
                         widths=0.55, medianprops={"color": "black", "linewidth": 1.5},
                         meanprops={"markerfacecolor": "white", "markeredgecolor": "black"}, **_horizontal())
    for k, box in enumerate(parts["boxes"]):
        box.set_facecolor(COLOURS[k % len(COLOURS)] if k < len(report.systems) else REFERENCE_COLOUR)
        box.set_alpha(0.6)
    axes.set_xlim(left=0)
    title = "Words per summary"
    if clip is not None:
        edge, cut = clip.limit * 1.065, clip.limit * 1.03
        axes.set_xlim(0, clip.limit * 1.1)
        for k, (count, top) in clip.counts().items():
            y = positions[k]
            axes.plot([edge], [y], marker=">", color="black", markersize=7, linestyle="none")
            # Above the row and left of the edge: inside the frame, where the layout keeps it,
            # and in the gap between two rows' boxes.
            axes.annotate(f"{count} longer, up to {top:,.0f}", (edge, y + 0.3), xytext=(-4, 0),
                          textcoords="offset points", ha="right", va="bottom", fontsize="small")
        axes.axvline(cut, color="#888888", linestyle=":", linewidth=1)
        title += f" (axis cut at {clip.limit:,.0f}: ▸ marks longer ones)"
    # Room above the top row for its note, should that row be the one cut.
    axes.set_ylim(0.4, len(data) + 0.65)
    axes.set_xlabel("words")
    axes.set_title(title, fontsize="medium")
    axes.grid(axis="x", alpha=0.3)
    return figure, clip


BOX_CAPTION = ("Box: the middle half of the documents; black bar: median; white triangle: mean; whiskers: "
               "the furthest length within 1.5 box widths of the box; circles: lengths beyond the whiskers.")


def clip_caption(clip: Clip | None, labels: Sequence[str]) -> str:
    if clip is None:
        return BOX_CAPTION + " Every length is shown."
    parts = [f"{labels[k]}: {count}, up to {top:,.0f} words" for k, (count, top) in sorted(clip.counts().items())]
    return (f"{BOX_CAPTION} The axis is cut at {clip.limit:,.0f} words, where the longest whisker ends: "
            f"{len(clip.hidden)} longer value(s) are drawn as ▸ "
            f"past the dotted line instead of at their length ({'; '.join(parts)}). The means include them.")


def length_chart(report: "Report") -> str:
    with plain_text():
        figure, clip = length_figure(report)
        labels = [s.name for s in report.systems] + ["reference"]
        return figure_html(figure, "Summary and reference lengths in words", clip_caption(clip, labels))


def panel_range(lows: Sequence[float], highs: Sequence[float]) -> tuple[float, float]:
    """An axis range in percent that holds every interval, at least :data:`MIN_SPAN` wide,
    with a margin. It stays within 0-100 but for that margin, so that a dot at 0% or 100%
    is drawn whole, inside the frame, rather than cut in half by it."""
    low, high = min(lows), max(highs)
    span = max(high - low, MIN_SPAN)
    middle = (low + high) / 2
    low, high = middle - span / 2, middle + span / 2
    if low < 0:
        low, high = 0.0, min(100.0, high - low)
    if high > 100:
        low, high = max(0.0, low - (high - 100)), 100.0
    margin = 0.1 * (high - low)
    return low - margin, high + margin


def _percent_ticks(axes) -> None:
    # The margin may reach past 0 or 100; a tick at -1% or 101% would read as a value.
    low, high = axes.get_xlim()
    axes.set_xticks([t for t in axes.get_xticks() if max(low, 0) <= t <= min(high, 100)])


@dataclass
class Point:
    mean: float  # percent
    low: float
    high: float
    documents: int


def measure_points(report: "Report", key: str) -> list[Point | None]:
    """Per system, the mean of ``key`` over the documents that have it, with its bootstrap
    interval, in percent; None for a system without any."""
    config = report.config
    points: list[Point | None] = []
    for system in report.systems:
        values = [d.measures.get(key) for d in system.documents]
        values = [100 * v for v in values if v is not None]
        interval = confidence_interval(values, config.resamples, config.seed, config.confidence)
        if interval is None:
            points.append(None)
            continue
        points.append(Point(sum(values) / len(values), interval[0], interval[1], len(values)))
    return points


def faithfulness_figure(report: "Report"):
    """One panel per measure, systems as rows, each panel on its own range."""
    count = len(report.systems)
    figure = new_figure(10, 2 * (1.2 + 0.5 * count))
    panels = figure.subplots(2, 3, sharey=True).flatten()
    rows = list(range(count, 0, -1))
    for axes, (key, title, meaning) in zip(panels, FAITHFULNESS):
        points = measure_points(report, key)
        present = [p for p in points if p is not None]
        for k, (point, y) in enumerate(zip(points, rows)):
            if point is None:
                axes.text(0.5, y, "no data", transform=axes.get_yaxis_transform(), ha="center", va="center",
                          fontsize="small", color="#777777")
                continue
            colour = COLOURS[k % len(COLOURS)]
            # max(0, ...): with every document alike, the mean and the resampled means differ by rounding.
            below, above = max(0.0, point.mean - point.low), max(0.0, point.high - point.mean)
            axes.errorbar([point.mean], [y], xerr=[[below], [above]],
                          fmt="o", color=colour, capsize=3, markersize=6, clip_on=False)
            axes.annotate(f"{point.mean:.1f}%", (point.mean, y), xytext=(0, 6), textcoords="offset points",
                          ha="center", va="bottom", fontsize="small")
        if present:
            axes.set_xlim(*panel_range([p.low for p in present], [p.high for p in present]))
        else:
            axes.set_xlim(0, 100)
        _percent_ticks(axes)
        axes.set_title(title, fontsize="medium")
        axes.set_xlabel(meaning, fontsize="small")
        axes.grid(axis="x", alpha=0.3)
        axes.tick_params(axis="x", labelsize="small")
    panels[0].set_ylim(0.5, count + 0.8)
    panels[0].set_yticks(rows, [chart_label(s.name) for s in report.systems])
    return figure


def faithfulness_chart(report: "Report") -> str:
    caption = ("Dots: mean over the documents that have the measure, written above; lines: seeded bootstrap "
               "95% interval of that mean. Each panel has its own range, so read the numbers, not the "
               "distances between panels. Neither end of the novelty and copying panels is better in "
               "itself: they say how far the summary departs from the source's wording.")
    with plain_text():
        return figure_html(faithfulness_figure(report), "Faithfulness, novelty and copying per system", caption)

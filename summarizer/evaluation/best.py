"""Which system leads each ROUGE measure: the one marked in the report's tables and charts.

    >>> best_names([("a", 31.2), ("b", 38.15), ("c", None)])
    {'b'}

"Best" is the highest mean F1 as the tables print it (two decimals), so that two cells that
read the same are both marked rather than one of them by a difference nobody can see.
Whether the lead is more than chance is for the paired test and the intervals to say; the
captions say so.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from .rouge import ROUGE_TYPES

DIGITS = 2


def best_names(scores: Iterable[tuple[str, float | None]]) -> set[str]:
    """The names whose score, rounded as printed, is the highest; empty when fewer than two
    systems have a score (a lone system is not "best" of anything)."""
    present = [(name, round(score, DIGITS)) for name, score in scores if score is not None]
    if len(present) < 2:
        return set()
    top = max(score for _, score in present)
    return {name for name, score in present if score == top}


def best_by_type(summaries: Sequence[Mapping[str, Any]]) -> dict[str, set[str]]:
    """ROUGE type -> the leading system names, from the systems' summary dicts (``name`` and
    ``{type: {"f": ...}}``, as in report.json)."""
    return {t: best_names((s["name"], (s.get(t) or {}).get("f")) for s in summaries) for t in ROUGE_TYPES}

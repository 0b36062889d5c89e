"""Reading systems' outputs and references, and lining them up by id.

    >>> from summarizer.evaluation.references import read_references
    >>> systems = [read_system("out/lead3/summaries.jsonl")]          # doctest: +SKIP
    >>> refs = read_references(None, systems)                        # doctest: +SKIP
    >>> problems = align(systems, refs.references, refs.duplicates)  # doctest: +SKIP

A system's output is JSONL with at least ``id`` and ``summary`` per line (what
``summarizer run`` writes; ``reference``, ``text``, ``error``, ``fallback`` and ``trace`` are
used when present). References (:mod:`summarizer.evaluation.references`) come from the
records' own ``reference`` field, or from a separate JSONL file, table or folder joined by
``id``, whose reference is its ``summary``, ``reference`` or ``highlights`` and whose source
text (for the faithfulness measures) is its ``text``, ``article`` or ``document``.

Nothing is dropped silently: duplicate ids (the first one counts), ids a system lacks,
a system's ids that have no reference, and reference files or rows that could not be read
are all collected in :class:`Problems`, which the report prints and stores. When no system
has a single id among the references, :func:`check_overlap` refuses to score at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..records import json_lines

REFERENCE_FIELDS = ("summary", "reference", "highlights")
SOURCE_FIELDS = ("text", "article", "document")


@dataclass
class SystemOutput:
    name: str
    path: str
    # id -> record, first occurrence of each id, in file order.
    records: dict[str, dict[str, Any]]
    duplicates: list[str] = field(default_factory=list)


@dataclass
class Reference:
    id: str
    reference: str
    source: str | None = None


@dataclass
class Problems:
    # file or system name -> ids
    duplicate_ids: dict[str, list[str]] = field(default_factory=dict)
    # system -> reference ids the system has no record for (not scored for that system)
    missing: dict[str, list[str]] = field(default_factory=dict)
    # system -> its ids that have no reference (not scored)
    unmatched: dict[str, list[str]] = field(default_factory=dict)
    # reference id -> why that file or row gave no reference (unreadable, empty)
    unread_references: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"duplicate_ids": self.duplicate_ids, "missing": self.missing, "unmatched": self.unmatched,
                "unread_references": self.unread_references}

    def messages(self) -> list[str]:
        """One line per problem, for stderr and the Markdown report."""
        lines = []
        for where, ids in self.duplicate_ids.items():
            lines.append(f"{where}: {len(ids)} duplicate id(s), only the first of each is used: {_few(ids)}")
        for system, ids in self.missing.items():
            lines.append(f"{system}: {len(ids)} reference id(s) missing from the output, not scored: {_few(ids)}")
        for system, ids in self.unmatched.items():
            lines.append(f"{system}: {len(ids)} id(s) without a reference, not scored: {_few(ids)}")
        if self.unread_references:
            shown = "; ".join(f"{key!r}: {why}" for key, why in list(self.unread_references.items())[:3])
            more = len(self.unread_references) - 3
            lines.append(f"references: {len(self.unread_references)} file(s) or row(s) gave no reference: {shown}"
                         + (f"; and {more} more" if more > 0 else ""))
        return lines


def _few(ids: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError(f"{str(path)!r} does not exist or is not a file; give a JSONL file such as "
                         "OUTDIR/summaries.jsonl written by 'summarizer run'.")
    rows = []
    try:
        with path.open(encoding="utf-8") as handle:
            for lineno, row in json_lines(handle, str(path)):
                if not isinstance(row, dict) or row.get("id") in (None, ""):
                    raise InputError(f"{path}, line {lineno}: every line needs an 'id'; "
                                     f"got {sorted(row) if isinstance(row, dict) else type(row).__name__}.")
                rows.append(row)
    except UnicodeDecodeError as exc:
        # The decoder reads blocks ahead of the lines; find the line again, in bytes.
        where = _first_non_utf8(path)
        raise InputError(f"{path}, line {where or '?'}: not UTF-8 text ({exc.reason}); JSONL is UTF-8: "
                         "save it as UTF-8 (e.g. iconv -f latin1 -t utf-8).") from exc
    except OSError as exc:
        raise InputError(f"{str(path)!r} cannot be read ({exc.strerror or exc}).") from exc
    return rows


def _first_non_utf8(path: Path) -> int | None:
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return lineno
    return None


def first_by_id(rows: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    by_id: dict[str, dict[str, Any]] = {}
    duplicates: list[str] = []
    for row in rows:
        key = str(row["id"])
        if key in by_id:
            duplicates.append(key)
        else:
            by_id[key] = row
    return by_id, duplicates


def default_name(path: str | Path) -> str:
    """``out/lead3/summaries.jsonl`` -> ``lead3``; ``runs/a.jsonl`` -> ``a``."""
    path = Path(path)
    if path.stem == "summaries" and path.parent.name:
        return path.parent.name
    return path.stem


def read_system(path: str | Path, name: str | None = None) -> SystemOutput:
    path = Path(path)
    rows = read_jsonl(path)
    if rows and not any("summary" in row or "error" in row for row in rows):
        raise InputError(
            f"{path} has no 'summary' field in any record (fields: {sorted(rows[0])}); "
            "score the output of 'summarizer run' (or of 'summarizer filter')."
        )
    records, duplicates = first_by_id(rows)
    return SystemOutput(name=name or default_name(path), path=str(path), records=records, duplicates=duplicates)


def first_text(row: dict[str, Any], fields: tuple[str, ...]) -> str | None:
    for key in fields:
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def align(systems: list[SystemOutput], references: dict[str, Reference],
          reference_duplicates: list[str] = (), references_name: str = "references") -> Problems:
    """Every problem with the ids: duplicates, missing and unmatched ones."""
    problems = Problems()
    if reference_duplicates:
        problems.duplicate_ids[references_name] = list(reference_duplicates)
    for system in systems:
        if system.duplicates:
            problems.duplicate_ids[system.name] = system.duplicates
        missing = [key for key in references if key not in system.records]
        unmatched = [key for key in system.records if key not in references]
        if missing:
            problems.missing[system.name] = missing
        if unmatched:
            problems.unmatched[system.name] = unmatched
    return problems


def check_overlap(systems: list[SystemOutput], references: dict[str, Reference], where: str) -> None:
    """Refuse to score when no system has any reference id: a report of n = 0 everywhere
    would only hide that the ids do not match (references of another folder, say)."""
    if any(key in system.records for system in systems for key in references):
        return
    sides = [f"the references ({where}) have {len(references)} id(s), e.g. {_few(list(references), 3)}"]
    sides += [f"{s.name} has {len(s.records)} id(s)" + (f", e.g. {_few(list(s.records), 3)}" if s.records else "")
              for s in systems]
    raise InputError(
        "nothing to score: no system has an id of the references, so every n would be 0. "
        + "; ".join(sides) + ". Ids are matched exactly: give the references of the documents the systems "
        "were run on (for a folder, ids are the files' paths relative to it, without the suffix, as "
        "'summarizer run' names them; for a table, its 'id' column)."
    )

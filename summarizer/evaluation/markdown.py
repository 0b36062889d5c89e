"""The report's tables, and the report as Markdown.

    >>> print(report_markdown(report))  # doctest: +SKIP
    # Summarization evaluation
    | system | n | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-Lsum |
    ...

Its tables: ROUGE with intervals (and the tokenization used); the paired differences against
the first system, with their intervals and p-values; lengths, faithfulness and speed; what the
model did (verbatim sentences, summary/extract words, repeated sentences); then the notes and
the id problems. :func:`summary_tables` is what ``summarizer eval`` prints.

The tables are built once as (headers, rows of strings) and rendered here as Markdown and
by :mod:`summarizer.evaluation.html` as HTML, so both reports always show the same numbers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .permutation import DEFAULT_PERMUTATIONS, EXACT_MAX_N
from .rouge import ROUGE_TYPES

if TYPE_CHECKING:
    from .report import Report

Table = tuple[list[str], list[list[str]]]

ROUGE_LABELS = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L", "rougeLsum": "ROUGE-Lsum"}


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _share_of(share: float | None, documents: int) -> str:
    return "–" if share is None else f"{_pct(share)} of {documents} doc(s)"


def rouge_cell(score: dict[str, Any]) -> str:
    if score["f"] is None:
        return "–"
    if score["low"] is None:
        return _num(score["f"])
    return f"{score['f']:.2f} [{score['low']:.2f}, {score['high']:.2f}]"


def rouge_table(report: "Report") -> Table:
    headers = ["system", "n", *(ROUGE_LABELS[t] for t in ROUGE_TYPES)]
    rows = [[s.summary["name"], str(s.summary["n"]), *(rouge_cell(s.summary[t]) for t in ROUGE_TYPES)]
            for s in report.systems]
    return headers, rows


def p_value_text(p_value: float) -> str:
    """A p-value as it is, to three significant digits: ``0.0156``, ``0.5``, ``1``."""
    return f"p={p_value:.3g}"


def significance_table(report: "Report") -> Table | None:
    """Every system against the first, on the documents both have: the mean difference, its
    paired bootstrap interval and the paired permutation test's p-value."""
    if len(report.systems) < 2:
        return None
    headers = ["system", f"vs {report.systems[0].name}: shared n",
               *(f"Δ {ROUGE_LABELS[t]} [95% CI], p" for t in ROUGE_TYPES)]
    rows = []
    for system in report.systems[1:]:
        comparison = system.summary["vs_first"]
        cells = []
        for t in ROUGE_TYPES:
            result = comparison[t]
            if result is None:
                cells.append("–")
                continue
            mark = " *" if result["p_value"] < 0.05 else ""
            cells.append(f"{result['delta']:+.2f} [{result['low']:+.2f}, {result['high']:+.2f}], "
                         f"{p_value_text(result['p_value'])}{mark}")
        rows.append([system.name, str(comparison["n"]), *cells])
    return headers, rows


TOKENIZATION_NAMES = {
    "rouge-score": "rouge-score's default tokenizer (lowercased ASCII letters and digits), so the figures "
                   "compare with published ones",
    "unicode": "Unicode words (the letters of every script kept; rouge-score's tokenizer would drop them)",
    "cjk": "one token per Chinese or Japanese character (character-level ROUGE), Unicode words otherwise",
}


def tokenization_note(report: "Report") -> str | None:
    """Which tokenization ROUGE used for this report's references, and why; None when unknown."""
    tokenization = report.tokenization
    if tokenization is None:
        return None
    return f"ROUGE tokenization: {tokenization.name}, {TOKENIZATION_NAMES[tokenization.name]}; {tokenization.reason}."


def summary_tables(report: "Report") -> str:
    """The ROUGE table and, with two systems or more, the differences against the first one."""
    parts = [markdown_table(rouge_table(report))]
    significance = significance_table(report)
    if significance:
        parts += ["", markdown_table(significance)]
    return "\n".join(parts)


def measures_table(report: "Report") -> Table:
    headers = ["system", "words (median)", "reference words", "compression", "numbers in source",
               "entities in source", "novel 1/2/3-grams", "empty (failed)", "fallbacks", "generate s/doc"]
    rows = []
    for s in report.systems:
        m = s.summary
        length, faith, speed = m["length"], m["faithfulness"], m["speed"]
        novel = "/".join(_pct(faith[f"novel_{n}"]) for n in (1, 2, 3))
        rows.append([
            m["name"],
            f"{_num(length['summary_words'], 1)} ({_num(length['summary_words_median'], 0)})",
            _num(length["reference_words"], 1),
            _num(length["compression"], 1),
            _share_of(faith["numbers_in_source"], faith["documents_with_numbers"]),
            _share_of(faith["entities_in_source"], faith["documents_with_entities"]),
            novel,
            f"{m['empty']} ({m['failed']})",
            str(m["fallbacks"]),
            _num(speed["generate_seconds"], 2),
        ])
    return headers, rows


def model_table(report: "Report") -> Table:
    """What the model did, against copying the extract's sentences (``summary["model"]``)."""
    headers = ["system", "sentences/summary", "verbatim sentences %", "summary/extract words", "repeats"]
    rows = []
    for s in report.systems:
        model = s.summary["model"]
        ratio = model["extract_ratio"]
        rows.append([
            s.summary["name"],
            _num(model["sentences_per_summary"], 1),
            _share_of(model["verbatim_share"], model["documents_with_source"]),
            "–" if ratio is None else f"{ratio:.2f} ({model['documents_with_extract']} doc(s))",
            f"{model['repeated_sentences']} in {model['documents_with_repeats']} doc(s)",
        ])
    return headers, rows


# Markdown viewers render raw HTML, links and code spans: none of that may come from a
# summary, an id or a name. "|" as an entity, not "\\|": a backslash before it in the text
# would otherwise turn the escape back into a cell break.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;", "\\": "\\\\", "`": "\\`"})
# Every link form needs "](", "][" or "]:" (a definition for "[text]"); escaping that "]" is
# enough, and spares the report's own "12.30 [11.90, 12.70]" cells.
_LINK_CLOSE = re.compile(r"\](?=[(\[:])")
# Line breaks end a table row; other control characters (ESC) act on a terminal that cats the file.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def markdown_text(text: object) -> str:
    """``text`` as inert Markdown on one line: shown as written, never as HTML, a link or a table break."""
    return _BREAKS.sub(" ", _LINK_CLOSE.sub(r"\\]", str(text).translate(_ESCAPES)))


def markdown_table(table: Table) -> str:
    headers, rows = table
    lines = ["| " + " | ".join(map(markdown_text, headers)) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(map(markdown_text, row)) + " |" for row in rows]
    return "\n".join(lines)


NOTES = [
    "ROUGE: F1 x100 (mean over documents) with its seeded bootstrap 95% interval; rouge-score with "
    "Porter stemming, rougeLsum on one sentence per line, tokenized as stated under the ROUGE table. "
    "Failed and empty summaries score 0.",
    "Δ: mean difference from the first system on the documents both have, with its paired bootstrap 95% "
    "interval. p: two-sided paired permutation test, the signs of the per-document differences flipped: "
    f"exact (all 2^n assignments) up to {EXACT_MAX_N} documents, else over {DEFAULT_PERMUTATIONS:,} seeded "
    "random assignments (unless set otherwise) with p = (count + 1) / (assignments + 1), so never 0. "
    "* marks p < 0.05.",
    "numbers / entities in source: share of the summary's digit strings / capitalised spans "
    "(a heuristic, not NER) that occur in the source, averaged over the documents that have any.",
    "novel n-grams: share of the summary's distinct n-grams absent from the source.",
    "verbatim sentences %: share of the summary's sentences found as they are in the source (white space, "
    "case, quotes and a final full stop aside; part of a source sentence counts), averaged over the "
    "summaries; 100% is pure copying. summary/extract words: summary words / words of the extract the "
    "model was given (below 1: it shortened), averaged over the documents whose record has an extract. "
    "repeats: summary sentences repeating an earlier one of the same summary.",
    "words: Unicode words, unstemmed (a Chinese or Japanese character counts as one); compression: "
    "source words / summary words.",
]


def report_markdown(report: "Report") -> str:
    parts = [f"# {markdown_text(report.title)}", ""]
    refs = markdown_text(report.references) if report.references else "the records' own `reference` field"
    parts += [f"{report.n_references} reference(s) from {refs}.", ""]
    parts += ["## ROUGE", "", markdown_table(rouge_table(report)), ""]
    note = tokenization_note(report)
    if note:
        parts += [markdown_text(note), ""]
    significance = significance_table(report)
    if significance:
        parts += ["## Against the first system", "", markdown_table(significance), ""]
    parts += ["## Length, faithfulness, speed", "", markdown_table(measures_table(report)), ""]
    parts += ["## What the model did", "", markdown_table(model_table(report)), ""]
    parts += ["## Notes", "", *(f"- {note}" for note in NOTES), ""]
    messages = report.problems.messages()
    parts += ["## Id problems", ""]
    parts += ([f"- {markdown_text(line)}" for line in messages] if messages
              else ["None: every system has every reference id once."])
    return "\n".join(parts) + "\n"

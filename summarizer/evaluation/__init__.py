"""Evaluation: score summaries against references and write reports people can read.

    summarizer eval out/lead3/summaries.jsonl out/default/summaries.jsonl -o build/report
    summarizer eval-suite eval/news.toml -o build/eval

    >>> from summarizer.evaluation.report import evaluate, write_report
    >>> write_report(evaluate(["out/lead3/summaries.jsonl"]), "build/report")  # doctest: +SKIP
    >>> import evaluate                                                         # doctest: +SKIP
    >>> rouge = evaluate.load(rouge_metric_path())  # the same ROUGE, x100      # doctest: +SKIP

The modules, in the order the work flows:

- ``data``: read systems' JSONL outputs, line them up with the references by id, list problems;
- ``references``: the references from JSONL, CSV or Parquet, or a folder of text files (ids as
  ``summarizer run`` gives them), or the records' own;
- ``words``: the unstemmed words lengths and n-grams count, without rouge-score (``summarizer run`` uses it);
- ``tokens``: rouge-score's own tokenizer, one that keeps every script's words (CJK by character),
  and the choice between them from the references' letters;
- ``rouge``: ROUGE-1/2/L/Lsum through rouge-score, with the settings of published tables;
- ``faithfulness``: numbers and named-entity-like spans found in the source, novel n-grams, lengths,
  and what the model did (verbatim and repeated sentences, summary words / extract words);
- ``bootstrap``: seeded confidence intervals, and the paired comparison between systems;
- ``permutation``: the paired permutation (sign-flip) test, exact for few documents;
- ``report``: the orchestration, report.json and per_document.csv;
- ``markdown`` / ``html``: report.md, and report.html with matplotlib charts;
- ``suite``: suites as data (``eval/*.toml``), run and reported per dataset;
- ``files``: plain names for what becomes a folder, and writing whole files inside the output folder only;
- ``commands``: the ``eval`` and ``eval-suite`` click commands;
- ``rouge_metric/``: the same ROUGE as a Hugging Face ``evaluate`` module (package data, not
  imported here): :func:`rouge_metric_path` is the folder to give ``evaluate.load``.

Nothing heavy (numpy, pandas, matplotlib, rouge-score) is imported by this package itself.
"""

from pathlib import Path


def rouge_metric_path() -> str:
    """The folder of the ``evaluate`` metric module, inside the installed package, as a str
    for ``evaluate.load(rouge_metric_path())``: offline, scores x100 (the hub's ``rouge`` 0-1)."""
    return str(Path(__file__).resolve().parent / "rouge_metric")

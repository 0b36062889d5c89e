"""Evaluation: score summaries against references and write reports people can read.

    summarizer eval out/lead3/summaries.jsonl out/default/summaries.jsonl -o build/report
    summarizer eval-suite eval/news.toml -o build/eval

    >>> from summarizer.evaluation.report import evaluate, write_report
    >>> write_report(evaluate(["out/lead3/summaries.jsonl"]), "build/report")  # doctest: +SKIP

The modules, in the order the work flows:

- ``data``: read systems' JSONL outputs and references, line them up by id, list problems;
- ``words``: the unstemmed words lengths and n-grams count, without rouge-score (``summarizer run`` uses it);
- ``tokens``: a rouge-score tokenizer that keeps non-ASCII words (rouge-score's own on ASCII);
- ``rouge``: ROUGE-1/2/L/Lsum through rouge-score, with the settings of published tables;
- ``faithfulness``: numbers and named-entity-like spans found in the source, novel n-grams, lengths,
  and what the model did (verbatim and repeated sentences, summary words / extract words);
- ``bootstrap``: seeded confidence intervals and the paired test between systems;
- ``report``: the orchestration, report.json and per_document.csv;
- ``markdown`` / ``html``: report.md, and report.html with matplotlib charts;
- ``suite``: suites as data (``eval/*.toml``), run and reported per dataset;
- ``files``: plain names for what becomes a folder, and writing whole files inside the output folder only;
- ``commands``: the ``eval`` and ``eval-suite`` click commands.

Nothing heavy (numpy, pandas, matplotlib, rouge-score) is imported by this package itself.
"""

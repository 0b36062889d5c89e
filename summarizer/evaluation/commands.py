"""The ``eval`` and ``eval-suite`` commands; registered on the main group in ``summarizer.cli``.

    summarizer eval out/lead3/summaries.jsonl out/default/summaries.jsonl -o build/report
    summarizer eval-suite eval/news.toml -o build/eval

Only click is imported here: the library is imported inside the commands, so
``summarizer --help`` stays instant.
"""

from __future__ import annotations


import click

from ..cliutils import library_errors
from .markdown import summary_tables, tokenization_note


def _echo_problems(lines: list[str]) -> None:
    for line in lines:
        click.echo(f"warning: {line}", err=True)


@click.command("eval", short_help="Score summaries against references (ROUGE and more); write a report.")
@click.argument("files", nargs=-1, required=True, metavar="SUMMARIES.jsonl...")
@click.option("--output", "-o", "outdir", required=True, type=click.Path(file_okay=False),
              help="Folder for report.json, per_document.csv, report.md and report.html (created if missing).")
@click.option("--references", "-r", default=None, metavar="PATH",
              help="The reference summaries, joined to the summaries by id: a JSONL, CSV or Parquet file with "
                   "'id' and the reference in 'summary', 'reference' or 'highlights' (and the source in 'text', "
                   "'article' or 'document'), or a folder of text files, one reference each, whose ids are their "
                   "paths relative to the folder without the suffix, as 'summarizer run' names a folder's "
                   "documents (a folder of articles/ and summaries/ gives the summaries) "
                   "[default: the records' own 'reference'].")
@click.option("--name", "names", multiple=True,
              help="Name of each system, in the order of the files (repeatable) [default: the file's folder].")
@click.option("--title", default=None, help="Title of the report.")
@click.option("--resamples", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Bootstrap resamples (the confidence intervals).")
@click.option("--permutations", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Random sign flips of the paired permutation test (p-values) above 16 shared documents; "
                   "up to 16 every one of the 2^n is counted.")
@click.option("--seed", type=int, default=12345, show_default=True, help="Seed of the bootstrap and the permutations.")
@click.option("--tokenization", type=click.Choice(["auto", "rouge-score", "unicode", "cjk"]), default="auto",
              show_default=True,
              help="ROUGE tokens: auto picks rouge-score's own tokenizer for English-like references (at most 1% "
                   "non-ASCII letters), cjk (one token per character) for Chinese or Japanese, unicode (words of "
                   "every script) otherwise.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the scores (report.json's content) to stdout instead of the tables.")
@click.option("--no-html", is_flag=True, help="Skip report.html (and matplotlib).")
@library_errors
def eval_command(files, outdir, references, names, title, resamples, permutations, seed, tokenization, as_json,
                 no_html):
    """Score SUMMARIES.jsonl... (outputs of `summarizer run`, one file per system) against
    reference summaries with ROUGE (rouge-score, stemmed, rougeLsum on one sentence per line,
    x100, seeded bootstrap 95% intervals) and faithfulness measures, and write a report.
    Against the first system it gives each other system's mean difference, its interval and
    the p-value of a paired permutation test (exact up to 16 documents).

    \b
    Example:
      summarizer run data.jsonl -o out/lead3 --pipeline lead3
      summarizer run data.jsonl -o out/default
      summarizer eval out/lead3/summaries.jsonl out/default/summaries.jsonl -o build/report
      summarizer eval out/lead3/summaries.jsonl -r bbc/summaries -o build/report

    Ids that are duplicated, missing from a system or without a reference are reported
    here and in the report; failed and empty summaries score 0 and are counted. When no
    system has any id of the references, nothing is written and the exit status is 1.
    """
    import json

    # report imports rouge_score and nltk (through .tokens): only when the command runs, so --help stays fast
    from .report import EvalConfig, evaluate, write_report

    config = EvalConfig(resamples=resamples, seed=seed, permutations=permutations, tokenization=tokenization)
    report = evaluate(list(files), names=list(names), references=references, config=config, title=title)
    _echo_problems(report.problems.messages())
    written = write_report(report, outdir, html=not no_html)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(summary_tables(report))
    note = tokenization_note(report)
    if note:
        click.echo(note, err=True)
    click.echo(f"Report: {', '.join(str(p) for p in written)}", err=True)


@click.command("eval-suite", short_help="Run a suite's pipelines on its datasets; report each dataset.")
@click.argument("suite_file", metavar="SUITE.toml")
@click.option("--output", "-o", "outdir", required=True, type=click.Path(file_okay=False),
              help="Folder for the runs, one report per dataset and the index (created if missing).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the first N documents of every dataset (overrides the suite's limits).")
@library_errors
def eval_suite_command(suite_file, outdir, limit):
    """Run the suite SUITE.toml (e.g. eval/news.toml): every pipeline on every dataset, then
    one report per dataset in OUTDIR/<dataset>/ and an index in OUTDIR/report.{md,html,json}.

    \b
    Example:
      summarizer eval-suite eval/quick.toml -o build/eval-quick
    """
    from pathlib import Path

    # suite imports rouge_score and nltk (through .report): only when the command runs, so --help stays fast
    from .suite import load_suite, run_suite

    suite = load_suite(suite_file)
    run_suite(suite, outdir, limit=limit)
    click.echo(Path(outdir, "report.md").read_text(encoding="utf-8"))
    click.echo(f"Index: {Path(outdir, 'report.html')}", err=True)

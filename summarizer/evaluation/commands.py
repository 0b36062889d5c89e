"""The ``eval`` and ``eval-suite`` commands; registered on the main group in ``summarizer.cli``.

    summarizer eval out/lead3/summaries.jsonl out/default/summaries.jsonl -o build/report
    summarizer eval-suite eval/news.toml -o build/eval

Only click is imported here: the library is imported inside the commands, so
``summarizer --help`` stays instant.
"""

from __future__ import annotations


import click

from ..cliutils import library_errors
from .markdown import markdown_table, rouge_table


def _echo_problems(lines: list[str]) -> None:
    for line in lines:
        click.echo(f"warning: {line}", err=True)


@click.command("eval", short_help="Score summaries against references (ROUGE and more); write a report.")
@click.argument("files", nargs=-1, required=True, metavar="SUMMARIES.jsonl...")
@click.option("--output", "-o", "outdir", required=True, type=click.Path(file_okay=False),
              help="Folder for report.json, per_document.csv, report.md and report.html (created if missing).")
@click.option("--references", "-r", default=None, metavar="FILE",
              help="JSONL with 'id' and the reference in 'summary', 'reference' or 'highlights' "
                   "(and the source in 'text', 'article' or 'document') [default: the records' own 'reference'].")
@click.option("--name", "names", multiple=True,
              help="Name of each system, in the order of the files (repeatable) [default: the file's folder].")
@click.option("--title", default=None, help="Title of the report.")
@click.option("--resamples", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Bootstrap resamples.")
@click.option("--seed", type=int, default=12345, show_default=True, help="Bootstrap seed.")
@click.option("--no-html", is_flag=True, help="Skip report.html (and matplotlib).")
@library_errors
def eval_command(files, outdir, references, names, title, resamples, seed, no_html):
    """Score SUMMARIES.jsonl... (outputs of `summarizer run`, one file per system) against
    reference summaries with ROUGE (rouge-score, stemmed, rougeLsum on one sentence per line,
    x100, seeded bootstrap 95% intervals) and faithfulness measures, and write a report.

    \b
    Example:
      summarizer run data.jsonl -o out/lead3 --pipeline lead3
      summarizer run data.jsonl -o out/default
      summarizer eval out/lead3/summaries.jsonl out/default/summaries.jsonl -o build/report

    Ids that are duplicated, missing from a system or without a reference are reported
    here and in the report; failed and empty summaries score 0 and are counted.
    """
    # report imports rouge_score and nltk (through .tokens): only when the command runs, so --help stays fast
    from .report import EvalConfig, evaluate, write_report

    config = EvalConfig(resamples=resamples, seed=seed)
    report = evaluate(list(files), names=list(names), references=references, config=config, title=title)
    _echo_problems(report.problems.messages())
    written = write_report(report, outdir, html=not no_html)
    click.echo(markdown_table(rouge_table(report)))
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

"""Command line: parses arguments, calls the library, turns its errors into messages.

Exit codes: 0 every document summarized; 1 the run could not start or stopped (bad input
path, bad setting, model not loadable, output folder in use); 2 bad command-line usage;
3 finished, but some documents failed (each failed record says why in its ``error``
field); 4 stopped by ``--fail-fast`` at a failed document (rerun to continue); 130
interrupted (Ctrl-C; rerun to continue).
"""

from __future__ import annotations

import json
import logging
import os
import sys

import click

from .cliutils import library_errors

EXIT_SOME_FAILED = 3
EXIT_STOPPED = 4
EXIT_INTERRUPTED = 130


def pipeline_options(func):
    """Options shared by `run` and every model-dependent stage command."""
    options = [
        click.option("--pipeline", "-p", default="default", show_default=True,
                     help="Built-in pipeline name (see `summarizer pipelines`) or path of a .toml file."),
        click.option("--model", "-m", default=None,
                     help="'default', a Hugging Face model id, a local model folder or a .gguf file "
                          "[default: the pipeline's generate.model]."),
        click.option("--adapter", metavar="FOLDER", default=None, expose_value=False, callback=_remember_adapter,
                     help="A fine-tuned adapter folder (written by `summarizer finetune`), merged into the model "
                          "[default: the pipeline's generate.adapter, none]."),
        _generate_option("--device", "device", str, "auto, cpu, cuda, cuda:N or mps [default: auto]."),
        _generate_option("--dtype", "dtype", str, "auto, float32, bfloat16 or float16 [default: auto: "
                         "bfloat16 on CUDA, float32 on a CPU]."),
        _generate_option("--batch-size", "batch_size", click.IntRange(min=0),
                         "Prompts generated together [default: the pipeline's; 0 = auto: 4 on a CPU, 16 on a GPU]."),
        _generate_option("--threads", "threads", click.IntRange(min=0),
                         "CPU threads for the model [default: the pipeline's; 0 = auto: torch's default, "
                         "the physical cores]."),
        click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
                     help="Override a pipeline setting, e.g. --set extract.budget_tokens=300 (repeatable)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _generate_option(flag: str, setting: str, kind, help: str):
    """An option that is a shorthand for ``--set generate.<setting>=VALUE``."""

    def remember(ctx: click.Context, param, value):
        if value is not None:
            ctx.meta.setdefault("generate_overrides", []).append(f"generate.{setting}={value}")
        return value

    return click.option(flag, type=kind, default=None, expose_value=False, callback=remember, help=help)


def _remember_adapter(ctx: click.Context, param, value):
    """``--adapter FOLDER`` is a shorthand for ``--set generate.adapter="FOLDER"`` (quoted: a
    path is a TOML string whatever characters it has)."""
    if value is not None:
        ctx.meta.setdefault("generate_overrides", []).append(f"generate.adapter={json.dumps(value)}")
    return value


def _load_pipeline(pipeline, model, overrides):
    from .pipeline import Pipeline

    shorthand = click.get_current_context().meta.get("generate_overrides", [])
    return Pipeline.load(pipeline, model=model, overrides=[*shorthand, *overrides])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="summarizer")
@click.option("--quiet", "-q", is_flag=True, help="Only print warnings and errors.")
def main(quiet: bool) -> None:
    """Summarize articles with an extractive stage and a causal language model.

    \b
    Quick start:
      summarizer run examples/articles -o out/          # summaries.jsonl in out/
      summarizer run data.jsonl -o out/ --pipeline lead3 --limit 20
    \b
    Stages, one command each, JSONL on stdin/stdout:
      summarizer ingest examples/articles | summarizer chunk | summarizer extract \\
        | summarizer prompt | summarizer generate | summarizer filter
    """
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s", stream=sys.stderr)
    # transformers' own progress bars and advice would drown the tool's messages.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


@main.command(short_help="Summarize folders, files and tables into OUTDIR/summaries.jsonl.")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--output", "-o", "outdir", required=True, type=click.Path(file_okay=False),
              help="Folder for summaries.jsonl (created if missing).")
@pipeline_options
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Summarize only the first N documents.")
@click.option("--text-field", default=None, help="Table column holding the text [default: auto-detected].")
@click.option("--reference-field", default=None, help="Table column holding a reference summary [default: auto-detected].")
@click.option("--txt", "write_txt", is_flag=True, help="Also write one OUTDIR/txt/<id>.txt per summary.")
@click.option("--show", is_flag=True, help="Print every summary when done.")
@click.option("--force", is_flag=True,
              help="Recompute every document, even those an earlier run on OUTDIR already finished.")
@click.option("--fail-fast", is_flag=True,
              help="Stop at the first document that fails (exit code 4); run again to continue.")
@library_errors
def run(inputs, outdir, pipeline, model, overrides, limit, text_field, reference_field,
        write_txt, show, force, fail_fast):
    """Summarize INPUT... (folders, files, .jsonl/.csv/.parquet tables) into OUTDIR/summaries.jsonl.

    A run that is stopped (Ctrl-C, kill, a crash) continues where it stopped when the same
    command is run again: finished documents are reused when their text and the pipeline
    settings are unchanged (--force recomputes them).

    Exit codes: 0 all summarized; 3 finished, but some documents failed (their records say
    why); 4 stopped by --fail-fast; 1 could not run; 130 interrupted.
    """
    from .pipeline import run_to_folder
    from .store import PARTIAL

    pipe = _load_pipeline(pipeline, model, overrides)
    try:
        result = run_to_folder(inputs, outdir, pipe, limit=limit, text_field=text_field,
                               reference_field=reference_field, write_txt=write_txt,
                               resume=not force, fail_fast=fail_fast)
    except KeyboardInterrupt:
        click.echo(f"\nInterrupted. Finished documents are kept in {os.path.join(outdir, PARTIAL)}; "
                   "run the same command again to continue.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if show:
        for record in result.records:
            click.echo(f"== {record.id}")
            click.echo(record.summary if record.error is None else f"[failed] {record.error}")
            click.echo()
    summarized = result.total - result.failed
    click.echo(
        f"{result.total} document(s) in {result.seconds:.1f} s: {summarized} summarized "
        f"({result.reused} reused from an earlier run), {result.failed} failed, "
        f"{result.fallbacks} extractive fallback(s), {result.warned} with warnings.",
        err=True,
    )
    for record in [r for r in result.records if r.error][:10]:
        click.echo(f"  failed {record.id}: {record.error}", err=True)
    if result.failed > 10:
        click.echo(f"  ... and {result.failed - 10} more (see the records' 'error' field)", err=True)
    for record in [r for r in result.records if r.warnings][:5]:
        click.echo(f"  warning {record.id}: {record.warnings[0]}", err=True)
    if result.warned > 5:
        click.echo(f"  ... and {result.warned - 5} more document(s) with warnings (their 'warnings' field)", err=True)
    if not result.complete:
        click.echo(
            f"Stopped at the first failed document, {result.stopped_at.id} (--fail-fast). "
            f"Records so far: {os.path.join(outdir, PARTIAL)}; fix the problem and run the same command "
            "again to continue.", err=True,
        )
        sys.exit(EXIT_STOPPED)
    click.echo(f"Output: {result.output}", err=True)
    if result.failed:
        sys.exit(EXIT_SOME_FAILED)


@main.command(short_help="Read folders, files and tables; write one JSONL record per document.")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="JSONL output [default: stdout].")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N documents.")
@click.option("--text-field", default=None, help="Table column holding the text [default: auto-detected].")
@click.option("--reference-field", default=None, help="Table column holding a reference summary.")
@library_errors
def ingest(inputs, output, limit, text_field, reference_field):
    """Read INPUT... (folders, files, tables) and write one JSONL record per document."""
    from .ingest import ingest as ingest_inputs
    from .records import write_records

    for _ in write_records(ingest_inputs(inputs, text_field, reference_field, limit), output):
        pass


def _stage_command(name: str, summary: str):
    @click.option("--input", "-i", "source", type=click.File("r", encoding="utf-8"), default="-",
                  help="JSONL records [default: stdin].")
    @click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-",
                  help="JSONL records [default: stdout].")
    @pipeline_options
    @library_errors
    def command(source, output, pipeline, model, overrides):
        from .records import read_records, write_records
        from .stages import STAGES

        pipe = _load_pipeline(pipeline, model, overrides)
        for _ in write_records(STAGES.get(name)(read_records(source), pipe.ctx), output):
            pass

    command.__doc__ = f"{summary}\n\nReads JSONL records (stdin by default) and writes them with the stage's fields added."
    return main.command(name=name, short_help=summary)(command)


_stage_command("chunk", "Split each document into sentences and token-bounded chunks.")
_stage_command("extract", "Select the salient sentences that fit the token budget.")
_stage_command("prompt", "Format the extract as the model's prompt.")
_stage_command("generate", "Generate a summary for each prompt with the causal LM.")
_stage_command("filter", "Clean the generation into the final summary (extractive fallback).")


@main.command()
@library_errors
def pipelines():
    """List the built-in pipelines."""
    from .config import builtin_pipelines, load_pipeline

    for name in sorted(builtin_pipelines()):
        config = load_pipeline(name)
        click.echo(f"{name:12s} {' -> '.join(config.stages):40s} {config.description}")


from .evaluation.commands import eval_command, eval_suite_command  # noqa: E402

main.add_command(eval_command)
main.add_command(eval_suite_command)

if __name__ == "__main__":
    main()

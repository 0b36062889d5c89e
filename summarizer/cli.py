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

from .cliutils import PrintableFormatter, library_errors, printable
from .config import builtin_pipelines, load_pipeline
from .evaluation.commands import eval_command, eval_suite_command
from .finetune import FinetuneConfig, finetune as run_finetune
from .ingest import ingest as ingest_inputs
from .outputs import RUN_META, check_not_input
from .pipeline import Pipeline
from .records import read_records
from .runner import run_to_folder
from .stages import STAGES
from .store import PARTIAL, write_error

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
                          "[default: the pipeline's generate.adapter: the built-in one for the embedded model in "
                          "the default pipeline]."),
        click.option("--no-adapter", is_flag=True, default=False, expose_value=False, callback=_no_adapter,
                     help="Run the model without any adapter, also the built-in one."),
        _generate_option("--device", "device", str, "auto, cpu, cuda, cuda:N or mps [default: auto]."),
        _generate_option("--dtype", "dtype", str, "auto, float32, mixed (bf16 matrix products, fp32 "
                         "elsewhere), bfloat16 or float16 [default: auto: bfloat16 on CUDA, float32 on a CPU]."),
        _generate_option("--batch-size", "batch_size", click.IntRange(min=0),
                         "Prompts generated together [default: the pipeline's; 0 = auto: 16 on a CPU, 32 on a GPU]."),
        _generate_option("--threads", "threads", click.IntRange(min=0),
                         "CPU threads for the model [default: the pipeline's; 0 = auto: torch's default, "
                         "the physical cores]."),
        click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
                     help="Override a pipeline setting, e.g. --set extract.budget_tokens=300 (repeatable)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def follow_links_option(func):
    return click.option(
        "--follow-links/--no-follow-links", default=True, show_default=True,
        help="Read the files and folders that symbolic links inside an input folder point to, also outside it; "
             "--no-follow-links reads only what is inside the input folders (links leading out become failed "
             "records).")(func)


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


def _no_adapter(ctx: click.Context, param, value):
    if value:
        ctx.meta["no_adapter"] = True
    return value


def _load_pipeline(pipeline, model, overrides):
    meta = click.get_current_context().meta
    shorthand = meta.get("generate_overrides", [])
    if meta.get("no_adapter"):  # last: it wins over the pipeline's and any --set
        if any(o.startswith("generate.adapter=") for o in shorthand):
            raise click.UsageError("--no-adapter and --adapter contradict each other; give one of them.")
        return Pipeline.load(pipeline, model=model, overrides=[*shorthand, *overrides, 'generate.adapter=""'])
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
    handler = logging.StreamHandler(sys.stderr)
    # Messages name files and ids from the input: their control characters must not reach the terminal.
    handler.setFormatter(PrintableFormatter("%(message)s"))
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, handlers=[handler])
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
@click.option("--parquet", "parquet_rows", type=click.IntRange(min=1), default=None, metavar="ROWS",
              help="Also write OUTDIR/parquet/part-NNNNN.parquet shards of ROWS records each.")
@click.option("--show", is_flag=True, help="Print every summary when done.")
@click.option("--force", is_flag=True,
              help="Recompute every document, even those an earlier run on OUTDIR already finished.")
@click.option("--fail-fast", is_flag=True,
              help="Stop at the first document that fails (exit code 4); run again to continue.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: this process. ray: Ray Data, on a cluster or a local Ray instance "
                   "(pip install 'summarizer[ray]').")
@click.option("--ray-address", default=None, metavar="ADDR",
              help="Ray cluster to run on, e.g. 10.0.0.5:6379 or 'auto' [default: start Ray on this machine].")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Ray engine: model workers, each loading the model once [default: one per GPU, or 1].")
@follow_links_option
@library_errors
def run(inputs, outdir, pipeline, model, overrides, limit, text_field, reference_field,
        write_txt, parquet_rows, show, force, fail_fast, engine, ray_address, workers, follow_links):
    """Summarize INPUT... (folders, files, .jsonl/.csv/.parquet tables) into OUTDIR/summaries.jsonl.

    A run that is stopped (Ctrl-C, kill, a crash) continues where it stopped when the same
    command is run again: finished documents are reused when their text and the pipeline
    settings are unchanged (--force recomputes them).

    Exit codes: 0 all summarized; 3 finished, but some documents failed (their records say
    why); 4 stopped by --fail-fast; 1 could not run; 130 interrupted.
    """
    pipe = _load_pipeline(pipeline, model, overrides)
    try:
        result = run_to_folder(inputs, outdir, pipe, limit=limit, text_field=text_field,
                               reference_field=reference_field, write_txt=write_txt, parquet_rows=parquet_rows or 0,
                               resume=not force, fail_fast=fail_fast, engine=engine,
                               ray_address=ray_address, workers=workers, follow_links=follow_links)
    except KeyboardInterrupt:
        click.echo(f"\nInterrupted. Finished documents are kept in {os.path.join(outdir, PARTIAL)}; "
                   "run the same command again to continue.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if show:
        for record in result.records:
            click.echo(f"== {printable(record.id)}")
            click.echo(printable(record.summary, lines=True) if record.error is None
                       else f"[failed] {printable(record.error)}")
            click.echo()
    summarized = result.total - result.failed
    click.echo(
        f"{result.total} document(s) in {result.seconds:.1f} s: {summarized} summarized "
        f"({result.reused} reused from an earlier run), {result.failed} failed, "
        f"{result.fallbacks} extractive fallback(s), {result.warned} with warnings.",
        err=True,
    )
    model = result.model or {}
    if pipe.config.uses_model and model.get("sentences"):
        verbatim = model.get("sentences_verbatim")
        ratio = model.get("extract_ratio")
        click.echo(
            f"The model wrote {model['sentences']} summary sentence(s)"
            + (f", {1 - verbatim:.0%} of them not copied from the article" if verbatim is not None else "")
            + (f"; summaries {ratio:.2f}x the extract's words" if ratio is not None else "")
            + f" ({os.path.join(outdir, RUN_META)}).", err=True)
    for record in [r for r in result.records if r.error][:10]:
        click.echo(f"  failed {printable(record.id)}: {printable(record.error)}", err=True)
    if result.failed > 10:
        click.echo(f"  ... and {result.failed - 10} more (see the records' 'error' field)", err=True)
    for record in [r for r in result.records if r.warnings][:5]:
        click.echo(f"  warning {printable(record.id)}: {printable(record.warnings[0])}", err=True)
    if result.warned > 5:
        click.echo(f"  ... and {result.warned - 5} more document(s) with warnings (their 'warnings' field)", err=True)
    if not result.complete:
        click.echo(
            f"Stopped at the first failed document, {printable(result.stopped_at.id)} (--fail-fast). "
            f"Records so far: {os.path.join(outdir, PARTIAL)}; fix the problem and run the same command "
            "again to continue.", err=True,
        )
        sys.exit(EXIT_STOPPED)
    click.echo(f"Output: {result.output}", err=True)
    if result.failed:
        sys.exit(EXIT_SOME_FAILED)


@main.command(short_help="Read folders, files and tables; write one JSONL record per document.")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="JSONL output [default: stdout].")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N documents.")
@click.option("--text-field", default=None, help="Table column holding the text [default: auto-detected].")
@click.option("--reference-field", default=None, help="Table column holding a reference summary.")
@follow_links_option
@library_errors
def ingest(inputs, output, limit, text_field, reference_field, follow_links):
    """Read INPUT... (folders, files, tables) and write one JSONL record per document."""
    check_not_input(output, inputs)
    # An output file inside an input folder is not read back as input.
    records = ingest_inputs(inputs, text_field, reference_field, limit, exclude=[] if output == "-" else [output],
                            follow_links=follow_links)
    _write_jsonl(records, output)


def _write_jsonl(records, output: str) -> None:
    """Write records to ``output`` ("-": stdout) as they come; a failed write (a full disk) is
    a sentence, a closed pipe (``| head``) the normal end. Errors while the records are read
    or computed are not write errors, and pass through as they are."""
    where = output if output != "-" else "standard output"
    then = "nothing was lost from the input; write to another place and run the command again"
    try:
        stream = click.open_file(output, "w", encoding="utf-8")
    except OSError as exc:
        raise write_error(exc, where, then) from exc
    try:
        for record in records:
            try:
                stream.write(record.to_json() + "\n")
                stream.flush()
            except BrokenPipeError:
                # The reader has gone; Python would print a second error when flushing stdout at exit.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return
            except OSError as exc:
                raise write_error(exc, where, then) from exc
    finally:
        try:
            stream.close()
        except OSError:
            pass  # what did not get through was reported by the write or flush that failed


def _stage_command(name: str, summary: str):
    @click.option("--input", "-i", "source", type=click.Path(dir_okay=False, allow_dash=True), default="-",
                  help="JSONL records [default: stdin].")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
                  help="JSONL records [default: stdout].")
    @pipeline_options
    @library_errors
    def command(source, output, pipeline, model, overrides):
        check_not_input(output, [source])  # before anything is opened for writing
        pipe = _load_pipeline(pipeline, model, overrides)
        try:
            stream = click.open_file(source, "r", encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {source!r} ({exc.strerror or exc}).", param_hint="--input")
        with stream:
            _write_jsonl(STAGES.get(name)(read_records(stream), pipe.ctx), output)

    command.__doc__ = f"{summary}\n\nReads JSONL records (stdin by default) and writes them with the stage's fields added."
    return main.command(name=name, short_help=summary)(command)


_stage_command("chunk", "Split each document into sentences and token-bounded chunks.")
_stage_command("extract", "Select the salient sentences that fit the token budget.")
_stage_command("prompt", "Format the extract as the model's prompt.")
_stage_command("generate", "Generate a summary for each prompt with the causal LM.")
_stage_command("rewrite", "Rewrite each extracted sentence shorter with the causal LM (extract, then compress).")
_stage_command("filter", "Clean the generation into the final summary (extractive fallback).")


@main.command(short_help="Fine-tune the pipeline's model on article/summary pairs (a LoRA adapter).")
@click.argument("pairs", metavar="PAIRS.jsonl")
@click.option("--output", "-o", "outdir", required=True, type=click.Path(file_okay=False),
              help="Adapter folder (created if missing); an interrupted run there is resumed.")
@click.option("--eval", "eval_path", default=None, metavar="PAIRS.jsonl",
              help="Held-out pairs: training pairs that are also in them are refused, and their loss is "
                   "measured before and after training (the first --eval-docs of them).")
@click.option("--pipeline", "-p", default="default", show_default=True,
              help="Pipeline whose model stage the model learns (built-in name or .toml path): a generate stage "
                   "learns to summarize the prompt of the stages before it (the extract, in default), a rewrite "
                   "stage to shorten one sentence.")
@click.option("--model", "-m", default=None,
              help="Base model to fine-tune [default: the pipeline's generate.model].")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override a pipeline setting (repeatable); use the same settings when running with the adapter.")
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Passes over the training pairs.")
@click.option("--max-steps", type=click.IntRange(min=0), default=0,
              help="Stop after N optimizer steps (overrides --epochs) [default: 0 = as many as --epochs take].")
@click.option("--learning-rate", "--lr", "learning_rate", type=click.FloatRange(min=0, min_open=True),
              default=2e-4, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Pairs per forward pass.")
@click.option("--grad-accum", type=click.IntRange(min=1), default=8, show_default=True,
              help="Forward passes per optimizer step (effective batch = batch size x this).")
@click.option("--lora-r", type=click.IntRange(min=1), default=8, show_default=True, help="LoRA rank.")
@click.option("--lora-alpha", type=click.IntRange(min=1), default=None, help="LoRA alpha [default: 2 x rank].")
@click.option("--lora-dropout", type=click.FloatRange(0, 1, max_open=True), default=0.05, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of LoRA's initialization and the data order.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N usable training pairs.")
@click.option("--max-target-tokens", type=click.IntRange(min=0), default=0,
              help="Reference tokens kept per pair [default: 0 = the pipeline's generate.max_new_tokens].")
@click.option("--save-steps", type=click.IntRange(min=1), default=25, show_default=True,
              help="A checkpoint every N steps (what an interrupted run resumes from).")
@click.option("--gradient-checkpointing", is_flag=True,
              help="Recompute activations in the backward pass: less memory (~1 GB on the default model), "
                   "more time (1.4x on a CPU).")
@click.option("--eval-docs", type=click.IntRange(min=0), default=64, show_default=True,
              help="Held-out pairs whose loss is measured before and after training (0: none).")
@click.option("--device", default=None, help="auto, cpu, cuda, cuda:N or mps [default: auto: a GPU when there is one].")
@click.option("--threads", type=click.IntRange(min=0), default=None, help="CPU threads [default: torch's].")
@click.option("--text-field", default=None, help="Table column holding the article [default: auto-detected].")
@click.option("--reference-field", default=None, help="Table column holding the reference summary [default: auto-detected].")
@click.option("--keep-unsupported", is_flag=True,
              help="Keep reference sentences with numbers or names the model's input lacks [default: left out, "
                   "so the model does not learn to invent them].")
@click.option("--force", is_flag=True, help="Start over, replacing an earlier run's adapter or checkpoints in OUTPUT.")
@library_errors
def finetune(pairs, outdir, eval_path, pipeline, model, overrides, epochs, max_steps, learning_rate, batch_size,
             grad_accum, lora_r, lora_alpha, lora_dropout, seed, limit, max_target_tokens, save_steps,
             gradient_checkpointing, eval_docs, device, threads, text_field, reference_field, keep_unsupported, force):
    """Fine-tune the pipeline's model on PAIRS.jsonl (articles with reference summaries) and
    write a LoRA adapter to OUTPUT.

    The model learns the task of the pipeline's model stage on the pipeline's own prompts
    (its stages before the model stage run on every article). For a generate stage (fusion)
    the target is the reference sentences whose numbers and names the extract holds; for a
    rewrite stage (compression) each reference sentence drawn from one article sentence and
    shorter than it. What each derivation kept and dropped is logged and kept in the
    metadata; the loss counts the target tokens only. Use the adapter with `run --adapter OUTPUT` (or `--model OUTPUT`), `summarize(...,
    adapter=OUTPUT)` or `adapter = "OUTPUT"` in an eval suite. A GPU is used when there is one.

    \b
    Example:
      summarizer finetune train.jsonl -o build/adapter --eval heldout.jsonl --max-steps 100
      summarizer run heldout.jsonl -o out/tuned --adapter build/adapter

    Stopped runs (Ctrl-C, a crash) continue from the last checkpoint when the same command
    is run again. Pairs that cannot be used are left out and listed; training pairs that are
    also in --eval stop the run.
    """
    settings = list(overrides)
    if device:
        settings.insert(0, f"generate.device={json.dumps(device)}")
    if threads is not None:
        settings.insert(0, f"generate.threads={threads}")
    config = FinetuneConfig(
        epochs=epochs, max_steps=max_steps, learning_rate=learning_rate, batch_size=batch_size, grad_accum=grad_accum,
        lora_r=lora_r, lora_alpha=lora_alpha or 2 * lora_r, lora_dropout=lora_dropout, seed=seed, limit=limit,
        max_target_tokens=max_target_tokens, save_steps=save_steps, eval_docs=eval_docs,
        gradient_checkpointing=gradient_checkpointing, check_facts=not keep_unsupported,
    )
    try:
        result = run_finetune(pairs, outdir, pipeline=pipeline, model=model, overrides=settings, eval_path=eval_path,
                              config=config, text_field=text_field, reference_field=reference_field, force=force)
    except KeyboardInterrupt:
        click.echo(f"\nInterrupted. Checkpoints are kept in {os.path.join(outdir, 'checkpoints')}; run the same "
                   "command again to continue from the last one.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    meta = result.metadata
    training, data = meta["training"], meta["data"]
    click.echo(
        f"Adapter: {result.output} ({'already finished; ' if not result.trained else ''}{training['steps']} steps, "
        f"{data['pairs_used']} pairs used, {data['pairs_left_out']} left out; training loss {training['loss_first']} "
        f"-> {training['loss_last_10pct']}"
        + (f"; held-out loss {training['eval_loss_before']:.4f} -> {training['eval_loss_after']:.4f}"
           if training.get("eval_loss_after") is not None else "") + ").",
        err=True,
    )
    click.echo(f"Use it: summarizer run INPUT -o OUT --adapter {result.output}", err=True)


@main.command()
@library_errors
def pipelines():
    """List the built-in pipelines."""
    for name in sorted(builtin_pipelines()):
        config = load_pipeline(name)
        click.echo(f"{name:12s} {' -> '.join(config.stages):40s} {config.description}")


main.add_command(eval_command)
main.add_command(eval_suite_command)

if __name__ == "__main__":
    main()

"""Command line: parses arguments, calls the library, turns its errors into messages.

The options several commands share are declared in :mod:`summarizer.cliutils`, ``summarize``
in :mod:`summarizer.summarize_command`, ``eval`` in :mod:`summarizer.evaluation.commands`.

Exit codes: 0 every document summarized; 1 the run could not start or stopped (bad input
path, bad setting, model not loadable, output folder in use); 2 bad command-line usage;
3 finished, but some documents failed (each failed record says why in its ``error``
field; ``summarize`` names them on stderr); 4 stopped by ``--fail-fast`` at a failed
document (rerun to continue); 130 interrupted (Ctrl-C; rerun to continue).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import sys

import click

from .cliutils import (DeviceType, PrintableFormatter, length_options, library_errors, model_option,
                       pipeline_from_options, pipeline_option, pipeline_options, printable, set_option, set_verbosity,
                       verbosity_callback, verbosity_given, verbosity_params)
from .config import builtin_pipelines, load_pipeline
from .evaluation.commands import eval_command, eval_suite_command
from .finetune import FinetuneConfig, finetune as run_finetune
from .ingest import ingest as ingest_inputs
from .outputs import RUN_META, check_not_input
from .records import read_records
from .runner import run_to_folder
from .stages import STAGES
from .store import PARTIAL, write_error
from .summarize_command import summarize_command
from .tomlcompat import tomllib

EXIT_SOME_FAILED = 3
EXIT_STOPPED = 4
EXIT_INTERRUPTED = 130


def follow_links_option(func):
    return click.option(
        "--follow-links/--no-follow-links", default=True, show_default=True,
        help="Read the files and folders that symbolic links inside an input folder point to, also outside it; "
             "--no-follow-links reads only what is inside the input folders (links leading out become failed "
             "records).")(func)


def default_stages() -> list[str]:
    """The stages of the built-in default pipeline, read from its file alone (no stage module
    imported, nothing checked: the help must stay instant); [] when it cannot be read."""
    try:
        return list(tomllib.loads(builtin_pipelines()["default"].read_text(encoding="utf-8"))["stages"])
    except (OSError, KeyError, TypeError, ValueError):
        return []


def _pipe_example(stages: list[str], width: int = 76) -> str:
    """``summarizer ingest ... | summarizer <stage> | ...`` over lines of at most ``width``."""
    lines, line = [], "  summarizer ingest examples/articles"
    for name in stages:
        piece = f" | summarizer {name}"
        if len(line) + len(piece) + 2 > width:
            lines.append(line + " \\")
            line = "   "
        line += piece
    return "\n".join([*lines, line])


class MainGroup(click.Group):
    """The command group: -q/-v on every command, also those declared in other modules; the
    help shows the default pipeline's stages as its file has them."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not any(param.name in ("quiet", "verbose") for param in cmd.params):
            cmd.params.extend(verbosity_params())
        super().add_command(cmd, name)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        stages = default_stages()
        chain = " -> ".join(stages) if stages else "see `summarizer pipelines`"
        original = self.help
        # cleaned first: the example's own indentation must not change the docstring's dedent
        self.help = inspect.cleandoc(original).replace("{default_chain}", chain).replace(
            "{pipe_example}", _pipe_example(stages))
        try:
            super().format_help_text(ctx, formatter)
        finally:
            self.help = original


EPILOG = """\b
Environment: every option can be given as SUMMARIZER_<COMMAND>_<OPTION>, in capitals
with dashes as underscores; the command line wins. E.g.
  SUMMARIZER_RUN_PIPELINE=lead3  SUMMARIZER_SUMMARIZE_MAX_WORDS=60  SUMMARIZER_QUIET=1
\b
Shell completion of commands, options and their choices, in ~/.bashrc:
  eval "$(_SUMMARIZER_COMPLETE=bash_source summarizer)"
zsh: eval "$(_SUMMARIZER_COMPLETE=zsh_source summarizer)" in ~/.zshrc;
fish: _SUMMARIZER_COMPLETE=fish_source summarizer | source
"""


@click.group(cls=MainGroup, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "SUMMARIZER"})
@click.version_option(package_name="summarizer")
@click.option("--quiet", "-q", is_flag=True, expose_value=False, callback=verbosity_callback,
              help="Only print warnings and errors (also an option of every command).")
@click.option("--verbose", "-v", is_flag=True, expose_value=False, callback=verbosity_callback,
              help="Also print debug messages (also an option of every command).")
def main() -> None:
    """Summarize articles: the salient sentences are extracted, then a causal language model
    writes the summary from them or shortens them (lead3 and extractive stop at the extract).

    \b
    Quick start:
      cat article.txt | summarizer summarize --pipeline lead3   # the summary on stdout
      summarizer summarize a.txt b.html --sentences 2           # one summary per file
      summarizer run examples/articles -o out/                  # summaries.jsonl in out/
      summarizer run data.jsonl -o out/ --pipeline lead3 --limit 20 --max-words 60
    \b
    The default pipeline: {default_chain}.
    Its stages, one command each, JSONL on stdin/stdout:
    {pipe_example}
    """
    handler = logging.StreamHandler(sys.stderr)
    # Messages name files and ids from the input: their control characters must not reach the terminal.
    handler.setFormatter(PrintableFormatter("%(message)s"))
    logging.basicConfig(handlers=[handler])
    ctx = click.get_current_context()
    if not verbosity_given(ctx):
        set_verbosity(ctx, "normal")
    # transformers' own progress bars and advice would drown the tool's messages.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


@main.command(short_help="Summarize folders, files and tables into OUTDIR/summaries.jsonl.")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--output", "-o", "outdir", required=True, type=click.Path(file_okay=False),
              help="Folder for summaries.jsonl (created if missing).")
@pipeline_options
@length_options
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
def run(inputs, outdir, pipeline, model, overrides, sentences, max_words, limit, text_field, reference_field,
        write_txt, parquet_rows, show, force, fail_fast, engine, ray_address, workers, follow_links):
    """Summarize INPUT... (folders, files, .jsonl/.csv/.parquet tables) into OUTDIR/summaries.jsonl.
    '-' is standard input, one document (id "stdin"); `summarizer summarize` prints summaries instead.

    A run that is stopped (Ctrl-C, kill, a crash) continues where it stopped when the same
    command is run again: finished documents are reused when their text and the pipeline
    settings are unchanged (--force recomputes them).

    Exit codes: 0 all summarized; 3 finished, but some documents failed (their records say
    why); 4 stopped by --fail-fast; 1 could not run; 130 interrupted.
    """
    if outdir == "-":
        raise click.BadParameter(
            "'-': run writes a folder (summaries.jsonl and the files that let a stopped run continue), not "
            "standard output, and would make a folder named '-'. To print summaries: summarizer summarize FILE... "
            "(text, or --json records); for JSONL records on stdout: summarizer ingest INPUT... | summarizer chunk "
            "| ... (summarizer --help); for a folder of that name: -o ./-", param_hint="'--output' / '-o'")
    inputs = _stdin_as_path(inputs)
    pipe = pipeline_from_options(pipeline, model, overrides, sentences, max_words)
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


def _stdin_as_path(inputs: tuple[str, ...]) -> list[str]:
    """``inputs`` with '-' as the path of standard input, which run reads as it reads a file
    named on the command line (a pipe too: ``run <(zcat a.txt.gz)``)."""
    if inputs.count("-") > 1:
        raise click.BadParameter("'-' (standard input) is given more than once; it holds one document, read once.",
                                 param_hint="INPUT")
    if "-" in inputs and not os.path.exists("/dev/stdin"):
        raise click.BadParameter("'-': this system has no /dev/stdin for run to read; give a file, or print the "
                                 "summary of standard input with: summarizer summarize", param_hint="INPUT")
    return ["/dev/stdin" if raw == "-" else raw for raw in inputs]


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


def _stage_command(name: str, summary: str, options: list):
    @click.option("--input", "-i", "source", type=click.Path(dir_okay=False, allow_dash=True), default="-",
                  help="JSONL records [default: stdin].")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
                  help="JSONL records [default: stdout].")
    @library_errors
    def command(source, output, pipeline, overrides, model=None):
        check_not_input(output, [source])  # before anything is opened for writing
        pipe = pipeline_from_options(pipeline, model, overrides)
        try:
            stream = click.open_file(source, "r", encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {source!r} ({exc.strerror or exc}).", param_hint="--input")
        with stream:
            _write_jsonl(STAGES.get(name)(read_records(stream), pipe.ctx), output)

    for option in reversed(options):
        command = option(command)
    command.__doc__ = f"{summary}\n\nReads JSONL records (stdin by default) and writes them with the stage's fields added."
    return main.command(name=name, short_help=summary)(command)


# Each stage command takes the options its stage reads. The model's own tokenizer counts the
# tokens in chunk (chunk.tokenizer = "model") and tells prompt whether the model is a chat
# model (prompt.format = "auto") and what its chat template is: they take --model. extract
# and filter never look at the model; generate and rewrite run it.
MODEL_FREE = [pipeline_option, set_option]
TOKENIZER = [pipeline_option, model_option, set_option]
_stage_command("chunk", "Split each document into sentences and token-bounded chunks.", TOKENIZER)
_stage_command("extract", "Select the salient sentences that fit the token budget.", MODEL_FREE)
_stage_command("prompt", "Format the extract as the model's prompt.", TOKENIZER)
_stage_command("generate", "Generate a summary for each prompt with the causal LM.", [pipeline_options])
_stage_command("rewrite", "Rewrite each extracted sentence shorter with the causal LM (extract, then compress).",
               [pipeline_options])
_stage_command("filter", "Clean the generation into the final summary (extractive fallback).", MODEL_FREE)


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
@click.option("--device", type=DeviceType(), default=None, help="[default: auto: a GPU when there is one].")
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


@main.command("train-extractor", short_help="Train the learned extract strategy's model on article/summary pairs.")
@click.argument("pairs", nargs=-1, required=True, metavar="PAIRS...")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), metavar="MODEL.json",
              help="The model file to write (JSON).")
@click.option("--heldout", multiple=True, metavar="PAIRS",
              help="Held-out pairs (repeatable): measured, never trained on [default: --heldout-share of PAIRS].")
@click.option("--heldout-share", type=click.FloatRange(0, 0.9), default=0.1, show_default=True,
              help="Share of each input's pairs held out (seeded) when no --heldout is given; 0: no report.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split, the folds and the networks.")
@click.option("--pipeline", "-p", default="extractive", show_default=True,
              help="Pipeline whose chunk and candidate settings the model is trained for and whose extract "
                   "settings it is measured with (built-in name or .toml path).")
@set_option
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True,
              help="Folds of the out-of-fold scores the length head learns from.")
@click.option("--epochs", type=click.IntRange(min=1), default=600, show_default=True, help="Full-batch training steps.")
@click.option("--hidden", type=click.IntRange(2, 512), default=32, show_default=True, help="Units per hidden layer.")
@click.option("--members", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Networks averaged in the scorer and the length head, each from its own seed (steadier; "
                   "training takes this many times as long).")
@click.option("--max-sentences", type=click.IntRange(1, 50), default=5, show_default=True,
              help="The longest summary the model may choose, in sentences.")
@click.option("--text-field", default=None, help="Table column holding the article [default: auto-detected].")
@click.option("--reference-field", default=None, help="Table column holding the summary [default: auto-detected].")
@library_errors
def train_extractor(pairs, output, heldout, heldout_share, seed, pipeline, overrides, folds, epochs, hidden,
                    members, max_sentences, text_field, reference_field):
    """Train a sentence scorer and summary-length model on PAIRS... (JSONL, CSV or Parquet
    tables or folders with articles and reference summaries) for the learned extract
    strategy, and write it to MODEL.json.

    Progress and, at the end, the held-out ROUGE of lead-1, lead-3 and the pipeline with the
    new model go to stderr; the held-out scores are also kept in the model's metadata. Use
    the model in any pipeline with --set extract.strategy=learned --set extract.scorer=MODEL.json
    (the model picks each summary's length where extract.max_sentences is 0; --sentences fixes it).

    \b
    Example:
      summarizer train-extractor news.jsonl -o build/news-extractor.json
      summarizer run articles/ -o out -p extractive --set extract.scorer=build/news-extractor.json
    """
    from .train_extractor import ExtractorTraining, train_extractor as train

    check_not_input(output, pairs + heldout)
    settings = ExtractorTraining(heldout_share=heldout_share, seed=seed, folds=folds, epochs=epochs, hidden=hidden,
                                 members=members, max_sentences=max_sentences)
    result = train(pairs, output, heldout=heldout, pipeline=pipeline, overrides=overrides, settings=settings,
                   text_field=text_field, reference_field=reference_field, say=lambda line: click.echo(line, err=True))
    gain = result.report.get("all", {}).get("gain_over_lead3") if result.report else None
    measured = (f"; ROUGE-1 {gain['rouge1']:+.2f} over lead-3 on {result.report['all']['pairs']} held-out pairs"
                if gain else "; not measured (no held-out pairs)")
    click.echo(f"Model: {result.output}{measured}.", err=True)
    click.echo(f"Use it: summarizer run INPUT -o OUT -p {pipeline} --set extract.strategy=learned "
               f"--set extract.scorer={result.output}", err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True,
              help='One JSON object per line: {"name", "stages", "description", "uses_model", "model", "adapter"} '
                   "(model and adapter null when no model is used).")
@library_errors
def pipelines(as_json):
    """List the built-in pipelines: name, stages, description."""
    for name in sorted(builtin_pipelines()):
        config = load_pipeline(name)
        if as_json:
            uses = config.uses_model
            click.echo(json.dumps({"name": name, "stages": config.stages, "description": config.description,
                                   "uses_model": uses, "model": config.generate.model if uses else None,
                                   "adapter": (config.generate.adapter or None) if uses else None}))
        else:
            click.echo(f"{name:12s} {' -> '.join(config.stages):40s} {config.description}")


main.add_command(summarize_command)
main.add_command(eval_command)
main.add_command(eval_suite_command)

if __name__ == "__main__":
    main()

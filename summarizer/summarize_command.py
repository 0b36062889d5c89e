"""``summarizer summarize``: the summary of each file, or of standard input, on standard output.

    cat article.txt | summarizer summarize --pipeline lead3
    summarizer summarize a.txt b.html --sentences 2 --json

Each FILE is one document, read as ``summarizer run`` reads a file (encoding detection, HTML
to text, binary and PDF files refused with advice); ``-``, or no FILE at all, is standard
input, one document. Summaries are printed in input order as they are finished, separated by
a blank line, or as one JSON record per line. A document that cannot be read or summarized
is named on standard error, the others are still printed, and the exit code is 3 (as for
``run``). Folders and tables hold many documents: they are ``run``'s.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import BinaryIO, Iterator

import click

from . import ingest
from .cliutils import length_options, library_errors, pipeline_from_options, pipeline_options, printable
from .filetext import byte_limit, bytes_to_text, clean, document_record
from .backend import check_backend
from .records import Record
from .sources import TABLE_SUFFIXES, Source

log = logging.getLogger("summarizer")

EXIT_SOME_FAILED = 3
STDIN = "-"


@click.command("summarize", short_help="Print the summary of each FILE (or of stdin) to stdout.")
@click.argument("files", nargs=-1, metavar="[FILE]...")
@pipeline_options
@length_options
@click.option("--json", "as_json", is_flag=True,
              help='One JSON record per line instead: {"input", "summary", "error", "fallback", "warnings"} '
                   "(a failed document too, with its error).")
@library_errors
def summarize_command(files, pipeline, model, overrides, sentences, max_words, as_json):
    """Print the summary of each FILE to stdout, in order, separated by a blank line.

    Each FILE is one document (text, Markdown or HTML, read as `run` reads a file); with no
    FILE, or '-', the text comes from standard input. A document that fails is named on
    stderr and the others are still printed; the exit code is then 3.

    \b
    Examples:
      cat article.txt | summarizer summarize --pipeline lead3
      summarizer summarize a.txt b.txt --sentences 2 --max-words 60
      summarizer summarize --json *.txt > summaries.jsonl
    """
    names = list(files) or [STDIN]
    if names.count(STDIN) > 1:
        raise click.UsageError("'-' (standard input) is given more than once; it holds one document, read once.")
    stdin = sys.stdin.buffer
    if not files and stdin.isatty():
        raise click.UsageError("no FILE given, and standard input is a terminal. Give FILE..., or pipe the text "
                               "in: cat article.txt | summarizer summarize (or '-' to type it, ending with Ctrl-D).")
    pipe = pipeline_from_options(pipeline, model, overrides, sentences, max_words)
    if pipe.config.uses_model:
        # A wrong model spec or adapter folder fails now, with one message, not once per file.
        check_backend(pipe.config.generate)
    failed = 0
    printed = 0
    for name, record in zip(names, pipe.run(read_documents(names, stdin))):
        if record.error is not None:
            failed += 1
            reason = record.error.removeprefix("ingest: ")
            click.echo(f"Error: {printable(_shown(name))}: {printable(reason)}", err=True)
        for warning in record.warnings:
            log.warning("%s: %s", _shown(name), warning)
        if as_json:
            line = json.dumps({"input": name, "summary": record.summary if record.error is None else None,
                               "error": record.error, "fallback": record.fallback, "warnings": record.warnings},
                              ensure_ascii=False)
        elif record.error is None:
            line = ("\n" if printed else "") + printable(record.summary, lines=True)
        else:
            continue
        if not _echo(line):
            return  # the reader has gone (| head): nothing more to print
        printed += 1
    if failed:
        sys.exit(EXIT_SOME_FAILED)


def read_documents(names: list[str], stdin: BinaryIO) -> Iterator[Record]:
    """One record per name, in order ('-': ``stdin``); a name that cannot be read is a
    failed record saying why, so the other names are still summarized."""
    for name in names:
        yield read_stdin(stdin) if name == STDIN else read_file(name)


def read_file(name: str) -> Record:
    """The document in file ``name``, read as ``run`` reads a file named on its command line."""
    path = Path(name)
    doc_id = clean(name)
    if path.is_dir():
        return _failed(doc_id, "a folder; summarize reads files, one document each. For every document in "
                               f"it: summarizer run {name} -o OUTDIR --show")
    if path.suffix.lower() in TABLE_SUFFIXES:
        return _failed(doc_id, f"a table ({path.suffix.lower()}), one document per row; summarize reads one "
                               f"document per file. For its rows: summarizer run {name} -o OUTDIR --show")
    if not path.exists() and not path.is_symlink():  # a broken link is read_source's to explain
        return _failed(doc_id, "no such file; give a text, Markdown or HTML file, or '-' for standard input")
    record = next(ingest.read_source(Source(path, doc_id)))
    record.id = doc_id
    return record


def read_stdin(stream: BinaryIO) -> Record:
    """Standard input as one document, with a file's limits and decoding."""
    limit = ingest.MAX_FILE_BYTES
    try:
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"standard input holds more than {byte_limit(limit)}; a document that large is not "
                             "read whole (memory): split it, or give a table as .jsonl to summarizer run")
        text, encoding, note = bytes_to_text(data)
    except ValueError as exc:
        return _failed(STDIN, str(exc))
    meta = {"source": "<stdin>"} | ({"encoding": encoding} if encoding != "utf-8" else {})
    record = document_record(STDIN, text, None, meta)
    if note:
        record.warnings.insert(0, f"ingest: {note}")
    return record


def _failed(doc_id: str, problem: str) -> Record:
    return Record(id=doc_id, text="", error=f"ingest: {problem}")


def _shown(name: str) -> str:
    return "standard input" if name == STDIN else repr(name)


def _echo(line: str) -> bool:
    """Print ``line``; False when the reader of standard output has gone."""
    try:
        click.echo(line)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would print a second error when flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return False
    return True

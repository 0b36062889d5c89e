"""Hostile names, texts and folders for `summarizer eval` and eval suites (issue #16).

Every test uses the model-free pipelines or hand-written records, and tiny tables in tmp_path.
"""

import csv
import errno
import json
import os
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from summarizer.cli import main
from summarizer.errors import ConfigError, InputError, OutputError
from summarizer.evaluation.report import EvalConfig, evaluate, write_report
from summarizer.evaluation.suite import DatasetSpec, PipelineSpec, Suite, load_suite, run_suite

FAST = EvalConfig(resamples=20)
ARTICLE = "The council approved the new bridge on Monday. It will cost 4.5 million crowns. Work starts in May."
REFERENCE = "The council approved a bridge costing 4.5 million crowns."


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def record(id, summary, reference=REFERENCE, **extra):
    return {"id": id, "text": ARTICLE, "reference": reference, "summary": summary, "error": None, **extra}


def suite_file(tmp_path, body, name="s.toml"):
    write_jsonl(tmp_path / "d.jsonl", [{"id": "1", "text": ARTICLE, "summary": REFERENCE}])
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def is_message(result):
    """A clean CLI failure: exit 1 with click's 'Error: ...', not an escaped exception."""
    return result.exit_code == 1 and isinstance(result.exception, SystemExit) and "Traceback" not in result.output


def tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# 1. Names that become paths -----------------------------------------------------------------

BAD_NAMES = ["../../x", "/abs/dir", "a/b", "a\\b", ".", "..", "", "javascript:alert(1)", "x" * 65,
             "-lead", ".hidden", "two words", "name\n", "café"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_dataset_names_must_be_plain(tmp_path, bad):
    path = suite_file(tmp_path, f'pipelines = ["lead3"]\n[datasets.{json.dumps(bad)}]\npath = "d.jsonl"\n')
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    message = str(info.value)
    assert repr(bad) in message and "dataset" in message
    assert "letters A-Z a-z, digits, '.', '_' and '-'" in message and "Rename it" in message


@pytest.mark.parametrize("bad", ["/abs/dir", "../up", "a:b"])
def test_pipeline_names_must_be_plain(tmp_path, bad):
    path = suite_file(tmp_path, f'[datasets.d]\npath = "d.jsonl"\n[pipelines.{json.dumps(bad)}]\npipeline = "lead3"\n')
    with pytest.raises(ConfigError, match="pipeline name .* is not a plain name"):
        load_suite(path)


def test_plain_names_are_accepted(tmp_path):
    name = "A" + "b" * 63
    suite = load_suite(suite_file(tmp_path, f'pipelines = ["lead3"]\n[datasets.{name}]\npath = "d.jsonl"\n'
                                            '[datasets."cnn_dm-v1.2"]\npath = "d.jsonl"\n'))
    assert [d.name for d in suite.datasets] == [name, "cnn_dm-v1.2"]


def test_short_pipeline_list_needs_plain_distinct_names(tmp_path):
    with pytest.raises(ConfigError, match=r"pipelines: 'lead3' is listed twice"):
        load_suite(suite_file(tmp_path, 'pipelines = ["lead3", "lead3"]\n[datasets.d]\npath = "d.jsonl"\n'))
    with pytest.raises(ConfigError, match=r"\[pipelines.NAME\] table with pipeline = "):
        load_suite(suite_file(tmp_path, 'pipelines = ["configs/my.toml"]\n[datasets.d]\npath = "d.jsonl"\n'))


def test_names_that_share_a_folder_are_refused(tmp_path):
    # Different keys to TOML, one folder on a case-insensitive file system (macOS, Windows).
    with pytest.raises(ConfigError, match="'News' and 'news' differ only in case"):
        load_suite(suite_file(tmp_path, 'pipelines = ["lead3"]\n[datasets.News]\npath = "d.jsonl"\n'
                                        '[datasets.news]\npath = "d.jsonl"\n'))
    # OUT/report.md is the index's own file.
    with pytest.raises(ConfigError, match="'report.md' is the name of one of the index's files"):
        load_suite(suite_file(tmp_path, 'pipelines = ["lead3"]\n[datasets."report.md"]\npath = "d.jsonl"\n'))


def test_run_suite_never_writes_outside_the_output_folder(tmp_path):
    """Names from elsewhere than load_suite (a Suite built in code) are checked again."""
    data = write_jsonl(tmp_path / "data" / "d.jsonl", [record("1", "")])
    out = tmp_path / "work" / "out"
    out.mkdir(parents=True)
    for dataset, pipeline in [("../escaped", "lead3"), ("d", "../../escaped"), (str(tmp_path / "abs"), "lead3")]:
        suite = Suite("s", tmp_path / "s.toml", [DatasetSpec(dataset, data)], [PipelineSpec(pipeline, "lead3")],
                      eval=FAST)
        with pytest.raises((OutputError, ConfigError), match="outside the output folder|not a plain name"):
            run_suite(suite, out, progress=False)
    assert not (tmp_path / "work" / "escaped").exists() and not (out / "escaped").exists()
    assert not (tmp_path / "abs").exists()


def test_every_write_is_checked_to_stay_inside_the_output_folder(tmp_path):
    from summarizer.evaluation.files import Staged, make_folder

    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(OutputError, match="outside the output folder"):
        with Staged(out) as files:
            files.text(out / "report.md", "kept back")
            files.text(out / ".." / "escaped.md", "never")
    with pytest.raises(OutputError, match="outside the output folder"):
        make_folder(out / "a" / ".." / ".." / "up", root=out)
    assert tree(tmp_path) == ["out"]  # not even the first file: all or none


def test_links_out_of_the_output_folder_are_not_followed(tmp_path):
    data = write_jsonl(tmp_path / "data" / "d.jsonl", [record("1", "")])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "d").symlink_to(elsewhere)
    suite = Suite("s", tmp_path / "s.toml", [DatasetSpec("d", data)], [PipelineSpec("lead3", "lead3")], eval=FAST)
    with pytest.raises(OutputError, match="outside the output folder"):
        run_suite(suite, out, progress=False)
    assert list(elsewhere.iterdir()) == []


def test_write_report_does_not_write_through_a_link(tmp_path):
    path = write_jsonl(tmp_path / "run" / "summaries.jsonl", [record("d1", "A bridge.")])
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.md").symlink_to(victim)
    with pytest.raises(OutputError, match="outside the output folder"):
        write_report(evaluate([path], config=FAST), out, html=False)
    assert victim.read_text() == "keep me"


# 2. HTML ---------------------------------------------------------------------------------------

def test_index_html_links_only_to_quoted_relative_paths():
    from summarizer.evaluation.html import index_html

    report = {"systems": []}
    entries = [{"dataset": name, "report": report, "table": (["system"], [["<b>x</b>"]])}
               for name in ("javascript:alert(1)", "..", "a b/<c>", "ok")]
    page = index_html("<script>t</script>", entries, description="<img src=x onerror=alert(1)>")
    assert "javascript:alert" not in page.replace("<h2>javascript:alert(1)", "")
    assert 'href="javascript%3Aalert%281%29/report.html"' in page
    assert 'href="../report.html"' not in page and 'href="ok/report.html"' in page
    assert 'href="a%20b%2F%3Cc%3E/report.html"' in page
    assert "<script>" not in page and "<img src=x" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;t&lt;/script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_report_html_escapes_summaries_ids_and_system_names(tmp_path):
    from summarizer.evaluation.html import report_html

    hostile_id = "<img src=x onerror=alert(1)>"
    path = write_jsonl(tmp_path / "s.jsonl", [
        record(hostile_id, "<script>alert('summary')</script> The council approved a bridge."),
        record("d2", "Bridge.", reference="<iframe src=//evil></iframe> A bridge."),
    ])
    page = report_html(evaluate([path], names=['<b onmouseover="x">sys</b>'], config=FAST,
                                title="<title>t</title>"))
    for raw in ("<script>alert", "<img src=x", "<iframe", "<b onmouseover", "<title>t</title>"):
        assert raw not in page
    assert "&lt;script&gt;alert(&#x27;summary&#x27;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;b onmouseover=&quot;x&quot;&gt;" in page


# 3. CSV formula injection ----------------------------------------------------------------------

def test_per_document_csv_defuses_formulas_and_keeps_numbers(tmp_path):
    import pandas as pd

    ids = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "-0.5", "-3", "plain"]
    path = write_jsonl(tmp_path / "s.jsonl", [record(i, "=cmd|' /C calc'!A0", error=None) for i in ids])
    written = write_report(evaluate([path], names=["=sys"], config=FAST), tmp_path / "r", html=False)
    with open(written[1], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["'=HYPERLINK(\"http://evil\",\"x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tTAB",
                                       "'\rCR", "-0.5", "-3", "plain"]
    assert {r["summary"] for r in rows} == {"'=cmd|' /C calc'!A0"} and {r["system"] for r in rows} == {"'=sys"}
    table = pd.read_csv(written[1])
    assert len(table) == len(ids)  # the "\r" stayed inside its cell
    assert table["rouge1_f"].dtype.kind == "f" and table["fallback"].dtype == bool
    assert all(not str(v).startswith(("=", "+", "-", "@", "\t", "\r"))
               for column in ("system", "id", "summary", "reference", "status") for v in table[column]
               if not isinstance(v, float) and str(v) not in ("-0.5", "-3"))


# 4. Markdown -----------------------------------------------------------------------------------

def test_report_md_escapes_html_links_and_table_breakers(tmp_path):
    first = write_jsonl(tmp_path / "a.jsonl", [record("d1", "A."), record("<script>alert(1)</script>", "B.")])
    second = write_jsonl(tmp_path / "b.jsonl", [record("d1", "A."), record("d1", "dup"),
                                                record("<img src=x onerror=alert(1)>", "x", reference=None)])
    written = write_report(evaluate([first, second], names=["<b>a</b>|x", "[y](javascript:alert(1))\nz"],
                                    config=FAST, title="<h1>T</h1> & co"), tmp_path / "r", html=False)
    text = written[2].read_text()
    for raw in ("<script>", "<img", "<b>", "<h1>", "[y](javascript:"):
        assert raw not in text
    assert "# &lt;h1&gt;T&lt;/h1&gt; &amp; co" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    rouge_rows = [line for line in text.splitlines() if line.startswith("| &lt;b&gt;") or line.startswith("| [y\\](")]
    # Every row of the ROUGE table still has its 6 cells: no | or newline broke it.
    assert rouge_rows and all(line.count(" | ") == 5 for line in rouge_rows[:2])


def test_suite_index_md_and_html_escape_names(tmp_path):
    from summarizer.evaluation.suite import write_index

    suite = Suite("s<x>", tmp_path / "s.toml", [], [], description="<script>d</script>")
    entries = [{"dataset": "<i>ds</i>|x", "report": {"systems": []}, "table": (["system"], [["<b>s</b>|"]])}]
    write_index(suite, tmp_path / "out", entries, {"suite": "s"})
    text = (tmp_path / "out" / "report.md").read_text()
    assert "<" not in text.replace("<!--", "")
    assert "&lt;i&gt;ds&lt;/i&gt;&#124;x" in text and "&lt;b&gt;s&lt;/b&gt;&#124;" in text
    assert "(%3Ci%3Eds%3C%2Fi%3E%7Cx/report.md)" in text
    assert "<script>" not in (tmp_path / "out" / "report.html").read_text()


# 5. Output folders that cannot be written ---------------------------------------------------------

def eval_args(tmp_path, out):
    path = write_jsonl(tmp_path / "run" / "summaries.jsonl", [record("d1", "The council approved a bridge.")])
    return ["eval", str(path), "-o", str(out), "--resamples", "20"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_eval_into_a_read_only_folder_is_a_message(tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        result = CliRunner().invoke(main, eval_args(tmp_path, out))
    finally:
        out.chmod(0o700)
    assert is_message(result) and str(out) in result.output and "give a folder you can write to" in result.output


def fail_writes(monkeypatch, number):
    """Make every text and CSV write raise OSError(number), as a read-only or full disk would."""
    import pandas as pd

    def refuse(*args, **kwargs):
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr(Path, "write_text", refuse)
    monkeypatch.setattr(pd.DataFrame, "to_csv", refuse)


@pytest.mark.parametrize("number, words", [(errno.EACCES, "give a folder you can write to"),
                                           (errno.EROFS, "give a folder you can write to"),
                                           (errno.ENOSPC, "the disk is full")])
def test_eval_write_errors_are_messages_and_leave_no_half_report(tmp_path, monkeypatch, number, words):
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.md").write_text("the earlier report\n")
    args = eval_args(tmp_path, out)
    fail_writes(monkeypatch, number)
    result = CliRunner().invoke(main, args)
    assert is_message(result), result.output
    assert words in result.output and str(out) in result.output
    assert tree(out) == ["report.md"] and (out / "report.md").read_text() == "the earlier report\n"


def test_a_failure_on_the_last_file_leaves_the_whole_earlier_report(tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "run" / "summaries.jsonl", [record("d1", "A bridge.")])
    out = tmp_path / "report"
    write_report(evaluate([path], config=FAST), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = Path.write_text

    def full_on_html(self, *args, **kwargs):
        if self.name.startswith(".report.html."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_on_html)
    with pytest.raises(OutputError, match="the disk is full"):
        write_report(evaluate([path], names=["renamed"], config=FAST), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_eval_into_a_path_below_a_file_is_a_message(tmp_path):
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(main, eval_args(tmp_path, tmp_path / "file" / "report"))
    assert is_message(result) and "is a file" in result.output


def test_eval_suite_full_disk_while_writing_the_index_is_a_message(tmp_path, monkeypatch):
    path = suite_file(tmp_path, 'resamples = 20\npipelines = ["lead3"]\n[datasets.d]\npath = "d.jsonl"\n')
    out = tmp_path / "out"
    import summarizer.evaluation.suite as suite_module

    real = suite_module.write_index

    def full(*args, **kwargs):
        fail_writes(monkeypatch, errno.ENOSPC)
        return real(*args, **kwargs)

    monkeypatch.setattr(suite_module, "write_index", full)
    result = CliRunner().invoke(main, ["eval-suite", str(path), "-o", str(out)])
    assert is_message(result) and "the disk is full" in result.output
    assert not [p for p in tree(out) if p.endswith(".tmp")]


def test_eval_suite_write_errors_of_a_run_are_messages(tmp_path, monkeypatch):
    import summarizer.runner

    suite = load_suite(suite_file(tmp_path, 'resamples = 20\npipelines = ["lead3"]\n[datasets.d]\npath = "d.jsonl"\n'))
    errors = iter([OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),  # a write to an open file names none
                   PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path / "d.jsonl"))])

    def run_to_folder(*args, **kwargs):
        raise next(errors)

    monkeypatch.setattr(summarizer.runner, "run_to_folder", run_to_folder)
    with pytest.raises(OutputError, match=r"runs/lead3': the disk is full"):
        run_suite(suite, tmp_path / "out", progress=False)
    with pytest.raises(PermissionError):  # reading an input is not the output folder's fault
        run_suite(suite, tmp_path / "out", progress=False)


def test_leftover_temporary_files_are_removed(tmp_path):
    path = write_jsonl(tmp_path / "run" / "summaries.jsonl", [record("d1", "A bridge.")])
    out = tmp_path / "report"
    out.mkdir()
    (out / ".report.md.1a2b3c4d.tmp").write_text("half a report")
    (out / "notes.tmp").write_text("not ours")
    write_report(evaluate([path], config=FAST), out, html=False)
    assert tree(out) == ["notes.tmp", "per_document.csv", "report.json", "report.md"]


# 6. Chart labels -----------------------------------------------------------------------------

def test_chart_labels_are_plain_text():
    from summarizer.evaluation.html import chart_label

    assert chart_label("cost$1$") == r"cost\$1\$"
    assert chart_label("two\nlines\r\tx") == "two lines x"
    assert chart_label("x" * 200) == "x" * 39 + "…"


def test_charts_draw_names_with_dollars_newlines_underscores_and_length(tmp_path):
    from summarizer.evaluation.html import chart_label, grouped_bars, report_html

    names = [r"$\frac{$", "cost$1$", "_hidden", "x" * 300, "two\nlines"]
    paths = [write_jsonl(tmp_path / f"{k}.jsonl", [record("d1", "The council approved a bridge."),
                                                    record("d2", "Work starts in May.")]) for k in range(len(names))]
    report = evaluate(paths, names=names, config=FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Tight layout not applied" from a huge label, among others
        page = report_html(report)
        grouped_bars([chart_label(r"$x^$"), "g"], {"$": [(1, 0, 2), (1, None, None)]}, "y", "t")
    assert page.count("data:image/png;base64,") == 3


def test_charts_ignore_a_usetex_matplotlibrc(tmp_path):
    import matplotlib

    from summarizer.evaluation.html import grouped_bars

    with matplotlib.rc_context({"text.usetex": True}):
        assert "base64" in grouped_bars(["50% & more_x"], {"a_b": [(1, None, None)]}, "y", "t")


# 7. The suite file itself --------------------------------------------------------------------

def test_latin1_suite_file_is_a_clear_error(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes('description = "Café"\npipelines = ["lead3"]\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert str(path) in str(info.value) and "UTF-8" in str(info.value) and "line 1" in str(info.value)


def test_suite_path_that_is_a_folder_or_a_fifo(tmp_path):
    with pytest.raises(ConfigError, match="is not a file.*a folder"):
        load_suite(tmp_path)
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="is not a file"):
        load_suite(fifo)  # would block forever if it were opened
    with pytest.raises(ConfigError, match="does not exist"):
        load_suite(tmp_path / "none.toml")


def test_eval_suite_cli_latin1_is_a_message(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(b'description = "caf\xe9"\n')
    result = CliRunner().invoke(main, ["eval-suite", str(path), "-o", str(tmp_path / "o")])
    assert is_message(result) and "save it as UTF-8" in result.output


# 8. Nearby -------------------------------------------------------------------------------------

def test_deeply_nested_json_line_is_a_clear_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps(record("a", "x")) + "\n" + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(InputError, match=r"deep.jsonl, line 2: .*nested too deeply"):
        evaluate([path], config=FAST)
    result = CliRunner().invoke(main, ["eval", str(path), "-o", str(tmp_path / "r")])
    assert is_message(result) and "line 2" in result.output


def test_non_utf8_summaries_file_is_a_clear_error(tmp_path):
    path = tmp_path / "latin.jsonl"
    latin1 = '{"id": "b", "summary": "café"}\n'.encode("latin-1")
    path.write_bytes(json.dumps(record("a", "x")).encode() + b"\n" + latin1)
    with pytest.raises(InputError, match=r"latin.jsonl, line 2: not UTF-8.*save it as UTF-8"):
        evaluate([path], config=FAST)


def test_odd_record_fields_do_not_crash(tmp_path):
    odd = [None, {"stage": "generate", "seconds": "x"}]
    path = write_jsonl(tmp_path / "s.jsonl", [record("a", "A bridge.", trace=5),
                                              record("b", "Bridge.", trace={"stage": "generate"}),
                                              record("c", "Bridge.", trace=odd)])
    docs = evaluate([path], config=FAST).systems[0].documents
    assert [d.status for d in docs] == ["ok", "ok", "ok"] and all(d.generate_seconds is None for d in docs)


def test_eval_refuses_to_overwrite_its_own_inputs(tmp_path):
    out = tmp_path / "out"
    system = write_jsonl(out / "report.md", [record("a", "A bridge.")])  # an input named like an output
    before = system.read_text()
    result = CliRunner().invoke(main, ["eval", str(system), "-o", str(out), "--resamples", "20"])
    assert is_message(result) and "is one of the inputs" in result.output
    assert system.read_text() == before


def test_suite_dataset_folder_that_holds_the_output_is_refused(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "d.jsonl", [record("1", "")])
    path = tmp_path / "s.toml"
    path.write_text('resamples = 20\npipelines = ["lead3"]\n[datasets.d]\npath = "data"\n')
    # Otherwise the second run reads the first one's summaries.jsonl and per_document.csv as articles.
    with pytest.raises(ConfigError, match="would read its own output"):
        run_suite(load_suite(path), data / "eval", progress=False)
    assert not (data / "eval").exists()

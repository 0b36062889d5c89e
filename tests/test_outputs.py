"""Nothing a run or a stage command writes ever destroys an input or a file it did not write,
and every extra output (.txt files, Parquet shards) is written, replaced and cleaned up under
the folder's lock. All with the model-free pipelines."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from filelock import FileLock, Timeout

from summarizer import outputs, runner, store
from summarizer.cli import main
from summarizer.errors import OutputError
from summarizer.outputs import MANIFEST, check_not_input, safe_filename

from .conftest import ARTICLES, read_jsonl

SUMMARIZER = [sys.executable, "-m", "summarizer.cli"]


def run_cli(*args, input=None):
    return CliRunner().invoke(main, list(map(str, args)), input=input)


def jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def table(tmp_path) -> Path:
    return jsonl(tmp_path / "f.jsonl", [{"id": k, "text": v} for k, v in ARTICLES.items()])


# --- input == output ---------------------------------------------------------------------

@pytest.mark.parametrize("command", [["ingest", "{f}", "-o", "{f}"], ["chunk", "-p", "lead3", "-i", "{f}", "-o", "{f}"]])
def test_writing_over_the_input_is_refused_and_the_input_kept(table, command):
    before = table.read_bytes()
    # A subprocess with a timeout: on the old code this never ends (the file grows until the disk is full).
    done = subprocess.run(SUMMARIZER + [c.format(f=table) for c in command], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "would destroy the input" in done.stderr and str(table) in done.stderr
    assert table.read_bytes() == before


def test_writing_over_the_input_through_a_link_is_refused(table, tmp_path):
    link = tmp_path / "link.jsonl"
    link.symlink_to(table)
    hard = tmp_path / "hard.jsonl"
    os.link(table, hard)
    before = table.read_bytes()
    for output in (link, hard):
        result = run_cli("ingest", table, "-o", output)
        assert result.exit_code == 1 and "would destroy the input" in result.output
    assert table.read_bytes() == before


def test_appending_stdout_to_the_input_is_refused(table):
    before = table.read_bytes()
    with table.open("a") as append:
        done = subprocess.run(SUMMARIZER + ["ingest", str(table)], stdout=append, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    assert done.returncode == 1 and "standard output is the input" in done.stderr
    assert table.read_bytes() == before
    with table.open("r") as stdin, table.open("a") as append:
        done = subprocess.run(SUMMARIZER + ["chunk", "-p", "lead3"], stdin=stdin, stdout=append,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 1 and table.read_bytes() == before


def test_check_not_input_lets_other_files_and_dashes_through(table, tmp_path):
    check_not_input(tmp_path / "new.jsonl", [table])
    check_not_input("-", ["-"])  # a terminal or a pipe, not a file
    with pytest.raises(OutputError):
        check_not_input(str(table), ["other", str(table)])


def test_an_ingest_output_inside_the_input_folder_is_not_read_back(article_folder):
    out = article_folder / "records.jsonl"
    for _ in range(2):
        assert run_cli("ingest", article_folder, "-o", out).exit_code == 0
        assert sorted(r["id"] for r in read_jsonl(out)) == sorted(ARTICLES)


def test_a_full_disk_is_a_sentence_for_stage_commands(table):
    done = subprocess.run(SUMMARIZER + ["ingest", str(table), "-o", "/dev/full"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "disk is full" in done.stderr and "Traceback" not in done.stderr


# --- summarizer run over its inputs ------------------------------------------------------

def test_run_refuses_to_replace_a_summaries_file_that_is_its_input(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    final = jsonl(folder / "summaries.jsonl", [{"id": "a", "text": ARTICLES["bridge"], "extra": 1}])
    before = final.read_bytes()
    result = run_cli("run", final, "-o", folder, "-p", "lead3")
    assert result.exit_code == 1 and "would destroy the input" in result.output
    assert final.read_bytes() == before


def test_run_refuses_to_replace_a_users_summaries_file(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLES["bridge"], encoding="utf-8")
    final = jsonl(folder / "summaries.jsonl", [{"id": "mine", "summary": "my own", "score": 3}])
    before = final.read_bytes()
    result = run_cli("run", folder, "-o", folder, "-p", "lead3")
    assert result.exit_code == 1 and "was not written by 'summarizer run'" in result.output
    assert final.read_bytes() == before


def test_run_into_its_input_folder_reruns_on_its_own_output(article_folder):
    for _ in range(2):
        result = run_cli("run", article_folder, "-o", article_folder, "-p", "lead3", "--txt", "--parquet", "2")
        assert result.exit_code == 0, result.output
        assert sorted(r["id"] for r in read_jsonl(article_folder / "summaries.jsonl")) == sorted(ARTICLES)


def test_a_named_input_that_is_one_of_the_runs_own_txt_files_is_refused(article_folder, tmp_path):
    out = tmp_path / "out"
    assert run_cli("run", article_folder, "-o", out, "-p", "lead3", "--txt").exit_code == 0
    result = run_cli("run", out / "txt" / "bridge.txt", "-o", out, "-p", "lead3", "--txt")
    assert result.exit_code == 1 and "would destroy the input" in result.output


# --- Parquet shards ----------------------------------------------------------------------

def test_parquet_keeps_the_users_files_and_replaces_only_its_own_shards(article_folder, tmp_path):
    import pandas as pd

    out = tmp_path / "out"
    (out / "parquet").mkdir(parents=True)
    mine = out / "parquet" / "mine.parquet"
    pd.DataFrame({"text": ["a user's own table"]}).to_parquet(mine)
    (out / "parquet" / "notes.md").write_text("keep me", encoding="utf-8")
    assert run_cli("run", article_folder, "-o", out, "-p", "lead3", "--parquet", "1").exit_code == 0
    shards = sorted(p.name for p in (out / "parquet").glob("part-*.parquet"))
    assert shards == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    # Fewer shards now: the third of the last run goes, the user's files stay.
    assert run_cli("run", article_folder, "-o", out, "-p", "lead3", "--parquet", "2").exit_code == 0
    assert sorted(p.name for p in (out / "parquet").iterdir()) == ["mine.parquet", "notes.md",
                                                                     "part-00000.parquet", "part-00001.parquet"]
    assert pd.read_parquet(mine)["text"].tolist() == ["a user's own table"]
    rows = pd.concat(pd.read_parquet(out / "parquet" / f"part-0000{i}.parquet") for i in range(2))
    assert sorted(rows["id"]) == sorted(ARTICLES)


def test_parquet_refuses_before_the_run_to_replace_a_shard_it_did_not_write(article_folder, tmp_path):
    import pandas as pd

    out = tmp_path / "out"
    (out / "parquet").mkdir(parents=True)
    pd.DataFrame({"x": [1]}).to_parquet(out / "parquet" / "part-00000.parquet")
    result = run_cli("run", article_folder, "-o", out, "-p", "lead3", "--parquet", "1")
    assert result.exit_code == 1 and "did not write" in result.output
    assert not (out / "summaries.jsonl").exists()
    assert pd.read_parquet(out / "parquet" / "part-00000.parquet")["x"].tolist() == [1]


def test_parquet_in_the_input_folder_keeps_the_inputs_tables(tmp_path):
    import pandas as pd

    folder = tmp_path / "x"
    (folder / "parquet").mkdir(parents=True)
    pd.DataFrame({"id": ["p1", "p2"], "text": [ARTICLES["bridge"], ARTICLES["flood"]]}).to_parquet(
        folder / "parquet" / "articles.parquet")
    for _ in range(2):
        result = run_cli("run", folder, "-o", folder, "-p", "lead3", "--parquet", "1")
        assert result.exit_code == 0, result.output
        # Its own shards are not read back as input on the second run.
        assert [r["id"] for r in read_jsonl(folder / "summaries.jsonl")] == ["p1", "p2"]
    assert (folder / "parquet" / "articles.parquet").is_file()


# --- .txt files --------------------------------------------------------------------------

def test_txt_names_fit_255_bytes(tmp_path):
    long_id = "中" * 100
    table = jsonl(tmp_path / "t.jsonl", [{"id": long_id, "text": ARTICLES["bridge"]}, {"id": "é" * 200, "text": ARTICLES["flood"]}])
    result = run_cli("run", table, "-o", tmp_path / "out", "-p", "lead3", "--txt")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out" / "txt").glob("*.txt"))
    assert len(names) == 2 and all(len(n.encode("utf-8")) <= 255 for n in names)
    assert all(len(safe_filename(i * n).encode()) + len(".txt.tmp") <= 255 for i in "a中😀" for n in (1, 100, 300))


def test_txt_rerun_removes_files_of_documents_that_now_fail_and_keeps_the_users(article_folder, tmp_path):
    out = tmp_path / "out"
    (out / "txt").mkdir(parents=True)
    (out / "txt" / "bridge.txt").write_text("the user's own notes\n", encoding="utf-8")
    assert run_cli("run", article_folder, "-o", out, "-p", "lead3", "--txt").exit_code == 0
    txt = out / "txt"
    assert (txt / "bridge.txt").read_text(encoding="utf-8") == "the user's own notes\n"  # never overwritten
    ours = sorted(p.name for p in txt.iterdir() if p.name != "bridge.txt")
    assert len(ours) == 3 and any(n.startswith("bridge-") for n in ours)
    (article_folder / "flood.txt").write_text("   \n", encoding="utf-8")  # now an empty document: it fails
    assert run_cli("run", article_folder, "-o", out, "-p", "lead3", "--txt").exit_code == 3
    assert not (txt / "flood.txt").exists()
    assert (txt / "market.txt").exists() and (txt / "bridge.txt").read_text(encoding="utf-8") == "the user's own notes\n"
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert "flood.txt" not in manifest["txt"] and "market.txt" in manifest["txt"]


def test_txt_where_a_file_is_in_the_way_is_a_sentence_before_the_run(article_folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "txt").write_text("not a folder", encoding="utf-8")
    result = run_cli("run", article_folder, "-o", out, "-p", "lead3", "--txt")
    assert result.exit_code == 1 and "is a file" in result.output and result.exception.__class__ is SystemExit
    assert not (out / "summaries.jsonl").exists()


def test_an_unwritable_txt_folder_is_a_sentence(article_folder, tmp_path, monkeypatch):
    # As root, permissions do not stop a write; the error the OS would give is raised instead.
    real = Path.write_text

    def refuse(self, *args, **kwargs):
        if self.parent.name == "txt":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", refuse)
    result = run_cli("run", article_folder, "-o", tmp_path / "out", "-p", "lead3", "--txt")
    assert result.exit_code == 1, result.output
    assert "not writable" in result.output and "Traceback" not in result.output
    assert not list((tmp_path / "out" / "txt").glob("*.tmp"))


# --- the lock and a full disk ------------------------------------------------------------

def test_the_lock_is_held_until_the_txt_files_and_shards_are_written(article_folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    held = []
    real = outputs.write_extras

    def probe(outdir, *args):
        try:
            FileLock(str(outdir / store.LOCK), timeout=0).acquire()
            held.append(False)
        except Timeout:
            held.append(True)
        return real(outdir, *args)

    monkeypatch.setattr(runner, "write_extras", probe)
    assert run_cli("run", article_folder, "-o", out, "-p", "lead3", "--txt", "--parquet", "2").exit_code == 0
    assert held == [True]


def test_a_full_disk_while_finishing_is_a_sentence_and_leaves_no_temporary_file(article_folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = os.fsync

    def full(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(store.TMP):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(store.os, "fsync", full)
    result = run_cli("run", article_folder, "-o", out, "-p", "lead3")
    assert result.exit_code == 1 and "disk is full" in result.output, result.output
    assert not (out / store.TMP).exists() and not (out / store.FINAL).exists()
    assert len(read_jsonl(out / store.PARTIAL)) == 3  # nothing finished is lost
    monkeypatch.setattr(store.os, "fsync", real)
    result = run_cli("run", article_folder, "-o", out, "-p", "lead3")
    assert result.exit_code == 0 and "3 reused" in result.output


def test_a_full_disk_while_appending_keeps_whole_records(article_folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = store.RunFolder.__enter__
    writes = []

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            writes.append(data)
            if len(writes) == 2:
                self.handle.write(data[:10])  # a torn line, then the disk is full
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.handle.write(data)

        def __getattr__(self, name):
            return getattr(self.handle, name)

    def enter(self):
        folder = real(self)
        self._out = Full(self._out)
        return folder

    monkeypatch.setattr(store.RunFolder, "__enter__", enter)
    result = run_cli("run", article_folder, "-o", out, "-p", "lead3")
    assert result.exit_code == 1 and "disk is full" in result.output
    assert len(read_jsonl(out / store.PARTIAL)) == 1  # the whole first record, not the torn second


def test_a_deeply_nested_line_in_the_partial_file_is_computed_again(article_folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / store.PARTIAL).write_text("[" * 100000 + "]" * 100000 + "\n", encoding="utf-8")
    result = run_cli("run", article_folder, "-o", out, "-p", "lead3")
    assert result.exit_code == 0, result.output
    assert len(read_jsonl(out / store.FINAL)) == 3


# --- what is printed ---------------------------------------------------------------------

def test_ids_and_summaries_are_printed_without_terminal_escapes(tmp_path):
    table = jsonl(tmp_path / "t.jsonl", [{"id": "evil\x1b[2J\nfake line", "text": ARTICLES["bridge"]},
                                         {"id": "bad\x07", "text": ""}])
    result = run_cli("run", table, "-o", tmp_path / "out", "-p", "lead3", "--show")
    assert result.exit_code == 3
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "evil\\x1b[2J\\nfake line" in result.output and "failed bad\\x07" in result.output


def test_log_lines_about_hostile_file_names_are_escaped(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(ARTICLES["bridge"], encoding="utf-8")
    (folder / "evil\x1b[2J.xyz").write_text("skipped type", encoding="utf-8")
    (folder / "loop\x1b]0;title\x07").symlink_to(folder)
    done = subprocess.run(SUMMARIZER + ["run", str(folder), "-o", str(tmp_path / "out"), "-p", "lead3"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "loop\\x1b]0;title\\x07" in done.stderr and "\x1b" not in done.stderr and "\x07" not in done.stderr


def test_a_rerun_recognises_its_own_output_whose_first_record_is_long(tmp_path):
    # The "run" stamp is the last field of a record's line: after a long text, far into the line.
    table = jsonl(tmp_path / "t.jsonl", [{"id": "long", "text": ARTICLES["bridge"] + " More words here." * 120_000}])
    out = tmp_path / "out"
    for _ in range(2):
        result = run_cli("run", table, "-o", out, "-p", "lead3")
        assert result.exit_code == 0, result.output
    assert "1 reused" in result.output


# --- .summarizer-run: what the run made of its output ---------------------------------------

def test_the_run_meta_says_what_was_copied_over_every_record_of_the_output(article_folder, tmp_path):
    from summarizer.pipeline import Pipeline
    from summarizer.segment import segment

    (article_folder / "blank.txt").write_text("  \n", encoding="utf-8")  # a failed record: left out
    out = tmp_path / "out"
    lead3 = Pipeline.load("lead3")
    first = runner.run_to_folder([article_folder], out, lead3, limit=2, progress=False)
    assert json.loads((out / outputs.RUN_META).read_text(encoding="utf-8"))["model"]["documents"] == 1
    result = runner.run_to_folder([article_folder], out, lead3, progress=False, resume=True)
    assert first.failed == 1 and result.reused == 1  # the blank document is tried again
    meta = json.loads((out / outputs.RUN_META).read_text(encoding="utf-8"))
    assert (meta["documents"], meta["failed"], meta["reused"]) == (4, 1, 1)
    assert meta["fingerprint"] == lead3.config.fingerprint()
    model = meta["model"]
    assert model == result.model
    records = [r for r in read_jsonl(out / store.FINAL) if r["error"] is None]
    # Every finished record, the one reused from the first run too, and only those.
    assert model["documents"] == len(records) == 3
    assert model["sentences"] == sum(len(segment(r["summary"])) for r in records)
    # lead3 copies its first three sentences: all verbatim, nothing new, the extract's length.
    assert model["verbatim_share"] == 1.0 and model["sentences_verbatim"] == 1.0
    assert model["novel_1"] == model["novel_2"] == 0
    assert model["extract_ratio"] == pytest.approx(1.0) and model["documents_with_extract"] == 3
    assert (model["repeated_sentences"], model["documents_with_repeats"]) == (0, 0)
    assert model["numbers_in_source"] == model["entities_in_source"] == 1.0
    assert model["documents_with_numbers"] == 3


def test_the_run_meta_of_a_rewriting_pipeline_counts_what_it_changed(tmp_path, monkeypatch):
    from summarizer.evaluation.words import words
    from summarizer.pipeline import Pipeline
    from summarizer.records import Record

    table = jsonl(tmp_path / "t.jsonl", [{"id": k, "text": v} for k, v in ARTICLES.items()])
    real = Pipeline.run

    def rewrite(self, records):  # a stand-in model: an extracted sentence, twice, and one of its own
        for record in real(self, records):
            copied = record.sentence_text(record.extract[-1])
            record.summary = f"{copied} {copied} The town of Kessel will pay 9 million crowns."
            yield record

    monkeypatch.setattr(Pipeline, "run", rewrite)
    result = runner.run_to_folder([table], tmp_path / "out", Pipeline.load("lead3"), progress=False)
    model = result.model
    assert model["verbatim_share"] == pytest.approx(2 / 3) and model["repeated_sentences"] == 3
    assert model["numbers_in_source"] < 1 and model["entities_in_source"] < 1  # 9; Kessel
    assert 0 < model["novel_2"] < 1
    finished = [Record.from_dict(r) for r in read_jsonl(tmp_path / "out" / store.FINAL)]
    ratios = [len(words(r.summary)) / len(words(r.extract_text())) for r in finished]
    assert model["extract_ratio"] == pytest.approx(sum(ratios) / 3) and model["extract_ratio"] > 1  # it added


def test_a_run_meta_that_cannot_be_written_is_a_warning_and_no_stale_file(article_folder, tmp_path, monkeypatch,
                                                                         caplog):
    from summarizer.pipeline import Pipeline

    out = tmp_path / "out"
    assert runner.run_to_folder([article_folder], out, Pipeline.load("lead3"), progress=False).model
    assert (out / outputs.RUN_META).is_file()

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner, "write_run_meta", full)
    result = runner.run_to_folder([article_folder], out, Pipeline.load("lead3"), progress=False, resume=False)
    assert result.total == 3 and result.model is None and (out / store.FINAL).is_file()
    assert not (out / outputs.RUN_META).exists()  # not the last run's, which described another output
    assert "could not write" in caplog.text and "No space left" in caplog.text

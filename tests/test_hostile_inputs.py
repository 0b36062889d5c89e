"""A hostile folder and hostile tables, all made here, run to the end: one record per document,
a clear error on each bad one, unique ids, no traceback, and only the run's own files written."""

import json
import os

import pytest
from click.testing import CliRunner

import summarizer.ingest
from summarizer.cli import main

from .conftest import ARTICLES, read_jsonl

GOOD = ARTICLES["bridge"]
HOSTILE_IDS = ["a", "a", "a~2", "javascript:alert(1)", "evil\x1b[2J\nfake", "../../etc/passwd", "中" * 100,
               "=HYPERLINK(\"http://x\")", "<script>alert(1)</script>"]


@pytest.fixture
def small_limits(monkeypatch):
    # The real limits are 256 MB; the same code paths with a 1 MB one keep the test fast.
    for name in ("MAX_LINE_BYTES", "MAX_FILE_BYTES", "MAX_ROW_GROUP_BYTES"):
        monkeypatch.setattr(summarizer.ingest, name, 2**20)


def hostile_tables(folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    nested = "[" * 100_000 + "]" * 100_000
    (folder / "deep.jsonl").write_text(nested + "\n" + json.dumps({"id": "after-deep", "text": GOOD}) + "\n",
                                       encoding="utf-8")
    (folder / "deep.json").write_text('{"a":' * 50_000 + "1" + "}" * 50_000, encoding="utf-8")
    (folder / "long-line.jsonl").write_text(json.dumps({"id": "huge", "text": "word " * 300_000}) + "\n"
                                            + json.dumps({"id": "after-huge", "text": GOOD}) + "\n", encoding="utf-8")
    (folder / "ids.jsonl").write_text("".join(json.dumps({"id": i, "text": GOOD}, ensure_ascii=False) + "\n"
                                              for i in HOSTILE_IDS), encoding="utf-8")
    # Compresses to a few KB, expands to far more than the limit.
    table = pa.table({"id": ["big"], "text": ["the same sentence again. " * 60_000]})
    pq.write_table(table, folder / "expands.parquet")
    return [folder / n for n in ("deep.jsonl", "deep.json", "long-line.jsonl", "ids.jsonl", "expands.parquet")]


def hostile_folder(root):
    folder = root / "in"
    hostile_tables(folder)
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    (folder / "latin1.txt").write_bytes(GOOD.replace("Dr.", "Sr.").encode("utf-8") + " Caf\xe9 noir.".encode("latin-1"))
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    (folder / "divs.html").write_text("<div>" * 50_000 + "Text deep down. " + "</div>" * 50_000, encoding="utf-8")
    os.mkfifo(folder / "pipe.txt")
    (root / "secret.txt").write_text("A secret outside the input folder.", encoding="utf-8")
    (folder / "leak.txt").symlink_to(root / "secret.txt")
    (folder / "loop").symlink_to(folder)
    return folder


def check_run(result, out):
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    records = read_jsonl(out / "summaries.jsonl")
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))  # one record per document, never two sharing an id
    for record in records:
        assert (record["error"] is None) != (record["summary"] is None), record["id"]
    return records


def test_a_hostile_folder_runs_to_the_end(tmp_path, small_limits):
    folder = hostile_folder(tmp_path)
    out = tmp_path / "out"
    args = ["run", str(folder), "-o", str(out), "-p", "lead3", "--txt", "--parquet", "4", "--no-follow-links", "--show"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, result.output  # finished; some documents failed
    records = check_run(result, out)
    by_id = {r["id"]: r for r in records}
    assert by_id["leak.txt"]["error"] and "outside" in by_id["leak.txt"]["error"]
    assert "A secret" not in (out / "summaries.jsonl").read_text(encoding="utf-8")
    assert "named pipe" in by_id["pipe"]["error"] and "PNG" in by_id["image"]["error"]
    assert "nested" in by_id["deep.jsonl:1"]["error"] and "nested" in by_id["deep.json"]["error"]
    assert "over" in by_id["long-line:1"]["error"] and "row group" in by_id["expands:1"]["error"]
    assert by_id["divs"]["summary"] == "Text deep down."
    for good in ("good", "after-deep", "after-huge", "latin1", *HOSTILE_IDS):
        assert by_id.get(good, by_id.get("a~2~2"))["summary"], good
    assert "\x1b" not in result.output
    # .txt names stay inside the folder and fit a file name; nothing is written outside OUTDIR.
    names = [p.name for p in (out / "txt").iterdir()]
    assert all(len(n.encode()) <= 255 and "/" not in n for n in names)
    assert not (tmp_path / "etc").exists()
    # Rerun: everything that succeeded is reused, nothing is read back from OUTDIR.
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 3 and len(read_jsonl(out / "summaries.jsonl")) == len(records)


def test_hostile_tables_named_directly_run_to_the_end(tmp_path, small_limits):
    tables = hostile_tables(tmp_path / "tables")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", *map(str, tables), "-o", str(out), "-p", "extractive"])
    assert result.exit_code == 3, result.output
    records = check_run(result, out)
    ids = [r["id"] for r in records]
    assert ids.count("a") == 1 and "a~2" in ids and "a~2~2" in ids
    errors = {r["id"]: r["error"] for r in records if r["error"]}
    # A table named directly is known by its stem: deep.json is "deep", the first row of deep.jsonl "deep:1".
    assert sorted(errors) == ["deep", "deep:1", "expands:1", "long-line:1"], errors


def test_a_record_stream_with_a_bad_meta_is_a_sentence(tmp_path):
    stream = json.dumps({"id": "x", "text": GOOD, "meta": 5}) + "\n"
    result = CliRunner().invoke(main, ["chunk", "-p", "lead3"], input=stream)
    assert result.exit_code == 1 and "meta" in result.output
    assert isinstance(result.exception, SystemExit)

"""Bad input never stops a batch: every case below becomes a record with a clear ``error`` or
``warnings``, or a clear message and exit code 1 for a path that cannot be used at all.

The corpus is generated here (no committed binaries). The tests run as root, so permissions
cannot make a file unreadable: the permission case raises PermissionError from
``Path.open`` for one file instead, which is the exact error a non-root user gets.
"""

import errno
import json
import os
import pathlib
import random

import pytest
from click.testing import CliRunner

from summarizer.cli import main
from summarizer.errors import InputError
from summarizer.ingest import ingest
from summarizer.outputs import safe_filename

from .conftest import read_jsonl

PROSE = "The council approved the new bridge on Monday. Work starts in May. Residents welcomed it."
# id -> (substring of the error or None, substring of a warning or None, substring of the summary or None)
EXPECTED = {
    "a/same": (None, None, "Nested a"),
    "arabic": (None, None, "العربية"),
    "b/same": (None, None, "Nested b"),
    "blank": ("empty document", None, None),
    "chinese": (None, None, "北京"),
    "dangling": ("broken symbolic link", None, None),
    "empty": ("empty document", None, None),
    "folder.txt/inner": (None, None, "Inside a folder"),
    "latin1": (None, "guessed as cp1252", "Café crème"),
    "long_line": (None, None, "word"),
    "loop_a": ("symbolic link loop", None, None),
    "loop_b": ("symbolic link loop", None, None),
    "mostly_utf8": (None, "1 invalid UTF-8 byte", "été à Noël"),
    "no_punct": (None, "no sentence punctuation", "this line has no punctuation"),
    "noise": ("binary file", None, None),
    "noise_no_nul": ("not text", None, None),
    "page": (None, None, "Visible paragraph."),
    "photo": ("PNG image", None, None),
    "pipe": ("named pipe", None, None),
    "quoted:1": (None, None, "First line."),
    "quoted:2": (None, None, "Plain row."),
    "russian": (None, None, "Москва"),
    "rows:1": (None, None, "A good row."),
    "rows:2": ("line 2 is not valid JSON", None, None),
    "rows:3": ("no text field", None, None),
    "rows:4": ("field 'text' is int, not text", None, None),
    "rows:5": ("field 'text' is null, not text", None, None),
    "rows:6": ("line 6 is list, not a JSON object", None, None),
    "rows:7": (None, "unpaired surrogates", "Broken"),
    "rows:8": ("not valid JSON", None, None),  # the last line, cut off mid-object
    "same.md": (None, None, "Top-level markdown"),
    "same.txt": (None, None, "Top-level text"),
    "scan": ("PDF file", None, None),
    "scan_as_txt": ("PDF file", None, None),
    "unreadable": ("permission denied", None, None),
    "utf16": (None, None, "Straße gesperrt."),
    "utf16_no_bom": (None, "no byte-order mark", "Straße gesperrt."),
}


def make_bad_corpus(folder: pathlib.Path) -> pathlib.Path:
    rng = random.Random(7)
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_text("  \n\t\n\u00a0 \r\n")
    (folder / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(500))
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 900 /Filter /DCTDecode >>\nstream\n" + rng.randbytes(900)
    (folder / "scan.pdf").write_bytes(pdf)
    (folder / "scan_as_txt.txt").write_bytes(pdf)
    (folder / "noise.txt").write_bytes(rng.randbytes(4000))
    (folder / "noise_no_nul.txt").write_bytes(bytes(b or 1 for b in rng.randbytes(4000)))
    (folder / "mostly_utf8.txt").write_bytes("Le thé est bon. En été à Noël, ça coûte 5 €.".encode() + b" \xff Fin.")
    (folder / "latin1.txt").write_bytes("Café crème brûlée. Ça coûte 5 euros.".encode("cp1252"))
    (folder / "utf16.txt").write_bytes("Straße gesperrt. Umleitung über Nordweg.".encode("utf-16"))
    (folder / "utf16_no_bom.txt").write_bytes("Straße gesperrt. Umleitung über Nordweg.".encode("utf-16-le"))
    (folder / "page.html").write_text(
        "<html><head><title>T</title><style>body { color: red }</style><script>alert('head')</script></head>"
        "<body><script>document.write('body script')</script><p>Visible paragraph.</p>"
        "<noscript>Enable JavaScript</noscript><p>Second one.</p></body></html>"
    )
    (folder / "long_line.txt").write_text(" ".join(["word"] * 400_000))  # 2 MB, one line, no full stop
    (folder / "no_punct.txt").write_text("this line has no punctuation\nnor does this one\nor this")
    (folder / "chinese.txt").write_text("北京今天下了大雪。交通受到影响！市民出行请注意安全。")
    (folder / "russian.txt").write_text("Москва — столица России. Сегодня идёт дождь. Завтра будет солнце.")
    (folder / "arabic.txt").write_text("هذه جملة باللغة العربية. وهذه جملة ثانية.")
    os.mkfifo(folder / "pipe.txt")
    (folder / "folder.txt").mkdir()  # a folder named like a file: read as a folder
    (folder / "folder.txt" / "inner.txt").write_text("Inside a folder named like a file.")
    os.symlink("does-not-exist.txt", folder / "dangling.txt")
    os.symlink("loop_b.txt", folder / "loop_a.txt")
    os.symlink("loop_a.txt", folder / "loop_b.txt")
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "up")  # a folder link back to its parent: not followed forever
    for name in ("a", "b"):
        (folder / name).mkdir()
        (folder / name / "same.txt").write_text(f"Nested {name} text.")
    (folder / "same.txt").write_text("Top-level text.")
    (folder / "same.md").write_text("Top-level markdown.")
    (folder / "rows.jsonl").write_bytes(
        b'{"id": "", "text": "A good row."}\n'
        b"{not json\n"
        b'{"title": "no text"}\n'
        b'{"text": 42}\n'
        b'{"text": null}\n'
        b"[1, 2]\n"
        b'{"text": "Broken \\ud800 surrogate.", "summary": 5}\n'
        b'{"text": "cut off'
    )
    (folder / "quoted.csv").write_text('text,summary\n"First line.\nSecond line, quoted.",ref one\nPlain row.,ref two\n')
    (folder / "unreadable.txt").write_text("You cannot read me.")
    (folder / "notes.bin").write_bytes(b"\x00skipped")
    return folder


@pytest.fixture
def bad_corpus(tmp_path, monkeypatch):
    folder = make_bad_corpus(tmp_path / "corpus")
    real_open = pathlib.Path.open

    def open_(self, *args, **kwargs):
        if self.name == "unreadable.txt":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", open_)
    return folder


def test_every_bad_input_becomes_a_record_with_a_clear_error_or_warning(bad_corpus, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(bad_corpus), "-o", str(out), "-p", "lead3"])
    assert result.exit_code == 3, result.output
    records = read_jsonl(out / "summaries.jsonl")
    by_id = {r["id"]: r for r in records}
    assert len(by_id) == len(records), "ids must be unique"
    assert sorted(by_id) == sorted(EXPECTED)
    for doc_id, (error, warning, summary) in EXPECTED.items():
        record = by_id[doc_id]
        if error:
            assert error in (record["error"] or ""), (doc_id, record["error"])
            assert record["summary"] is None
        else:
            assert record["error"] is None, (doc_id, record["error"])
            assert summary in record["summary"], (doc_id, record["summary"])
        if warning:
            assert any(warning in w for w in record["warnings"]), (doc_id, record["warnings"])
    failed = sum(1 for e, _, _ in EXPECTED.values() if e)
    assert f"{len(EXPECTED) - failed} summarized" in result.output and f"{failed} failed" in result.output
    assert "failed blank: ingest: empty document" in result.output
    assert "with warnings" in result.output
    # What a reader of the output needs: scripts and styles gone, the pipe never opened.
    assert "alert" not in by_id["page"]["text"] and "color" not in by_id["page"]["text"]
    assert by_id["utf16"]["meta"]["encoding"] == "utf-16"
    assert max(e - s for s, e in by_id["long_line"]["sentences"]) <= 1500
    assert by_id["rows:7"]["reference"] is None and "not text; ignored" in by_id["rows:7"]["warnings"][0]


def test_skipped_types_and_link_loops_are_logged(bad_corpus, caplog):
    records = list(ingest([bad_corpus]))
    assert len(records) == len(EXPECTED)
    assert "skipped 1 file(s) of types that are not read: .bin (1)" in caplog.text
    assert "a symbolic link to one of its own parent folders (a loop)" in caplog.text


def test_ids_are_stable_across_runs(bad_corpus):
    assert [r.id for r in ingest([bad_corpus])] == [r.id for r in ingest([bad_corpus])]


def test_missing_path_empty_folder_and_broken_link_fail_before_any_work(tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(main, ["run", str(tmp_path / "nope"), "-o", str(out), "-p", "lead3"])
    assert result.exit_code == 1 and "does not exist" in result.output and "Traceback" not in result.output
    assert not out.exists()
    (tmp_path / "empty").mkdir()
    result = runner.invoke(main, ["run", str(tmp_path / "empty"), "-o", str(out), "-p", "lead3"])
    assert result.exit_code == 1 and "has no files to summarize" in result.output and "it is empty" in result.output
    (tmp_path / "only_images").mkdir()
    (tmp_path / "only_images" / "a.png").write_bytes(b"\x89PNG")
    result = runner.invoke(main, ["run", str(tmp_path / "only_images"), "-o", str(out), "-p", "lead3"])
    assert result.exit_code == 1 and "it has only .png (1)" in result.output
    os.symlink("gone.txt", tmp_path / "link.txt")
    good = tmp_path / "good.txt"
    good.write_text("Fine.")
    # The bad path is second: it must still fail before the first is summarized.
    result = runner.invoke(main, ["run", str(good), str(tmp_path / "link.txt"), "-o", str(out), "-p", "lead3"])
    assert result.exit_code == 1 and "symbolic link that cannot be followed" in result.output
    assert not out.exists()


def test_a_folder_that_cannot_be_listed_is_a_failed_record(tmp_path, monkeypatch):
    (tmp_path / "ok.txt").write_text("Readable.")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "hidden.txt").write_text("Never seen.")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    records = {r.id: r for r in ingest([tmp_path])}
    assert records["ok"].error is None
    assert "cannot list this folder (permission denied" in records["locked"].error


def test_tables_in_a_folder_without_a_text_column_are_failed_records(tmp_path):
    (tmp_path / "good.txt").write_text("Good text.")
    (tmp_path / "numbers.csv").write_text("a,b\n1,2\n")
    (tmp_path / "empty.jsonl").write_text("\n")
    (tmp_path / "empty.json").write_text("[]")
    (tmp_path / "cp1252.csv").write_bytes("text\nCafé crème.\n".encode("cp1252"))
    records = {r.id: r for r in ingest([tmp_path])}
    assert "no text column" in records["numbers"].error and "--text-field" in records["numbers"].error
    assert "has no rows" in records["empty.jsonl"].error and "has no rows" in records["empty.json"].error
    assert records["cp1252:1"].text == "Café crème."
    # Named directly, a table without a text column is a wrong setting: stop and say so.
    with pytest.raises(InputError, match="no text column"):
        list(ingest([tmp_path / "numbers.csv"]))


def test_the_output_folder_inside_the_input_folder_is_not_read_back(article_folder):
    out = article_folder / "out"
    for _ in range(2):
        result = CliRunner().invoke(main, ["run", str(article_folder), "-o", str(out), "-p", "lead3", "--txt"])
        assert result.exit_code == 0, result.output
        assert [r["id"] for r in read_jsonl(out / "summaries.jsonl")] == ["bridge", "flood", "market"]


def test_safe_filenames_stay_inside_the_folder_and_never_collide():
    ids = ["a/b", "a_b", "a:b", "../../etc/passwd", "..", ".", "", ".hidden", "x" * 300, "x" * 301,
           "Ünïcode", "CON", "tab\there", "nul\x00byte", "/abs/path", "a\\b"]
    names = [safe_filename(i) for i in ids]
    assert len(set(names)) == len(ids)
    for name in names:
        assert name and "/" not in name and "\\" not in name and "\x00" not in name
        # A file name may be 255 bytes; room is kept for ".txt" and the temporary ".tmp".
        assert not name.startswith(".") and len((name + ".txt.tmp").encode("utf-8")) <= 255
    assert safe_filename("bridge") == "bridge" and safe_filename("a_b") == "a_b"


def test_txt_files_of_colliding_ids_are_distinct(tmp_path):
    table = tmp_path / "t.jsonl"
    rows = [("a/b", "Slash."), ("a_b", "Underscore."), ("A", "Upper."), ("a", "Lower."), ("../up", "Dots.")]
    table.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in rows))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(table), "-o", str(out), "-p", "lead3", "--txt"])
    assert result.exit_code == 0, result.output
    written = sorted(p.read_text().strip() for p in (out / "txt").iterdir())
    assert written == sorted(t for _, t in rows)
    assert all(p.parent == out / "txt" for p in (out / "txt").iterdir())
    names = {p.name.casefold() for p in (out / "txt").iterdir()}
    assert len(names) == len(rows)  # also distinct on a case-insensitive file system


@pytest.mark.slow
def test_a_50_mb_file_is_summarized_in_bounded_time_and_memory(tmp_path):
    """Measured on the project's 2-core machine: about 10 s and 330 MB peak RSS (README)."""
    import resource
    import subprocess
    import sys
    import time

    rng = random.Random(0)
    words = "the council approved a new bridge on monday and residents said it would cost crowns".split()
    folder = tmp_path / "big"
    folder.mkdir()
    with (folder / "big.txt").open("w") as handle:
        size = 0
        while size < 50_000_000:
            sentence = " ".join(rng.choice(words) for _ in range(rng.randint(6, 25))).capitalize() + ". "
            paragraph = sentence * rng.randint(2, 5) + "\n\n"
            handle.write(paragraph)
            size += len(paragraph)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "summarizer.cli", "run", str(folder), "-o", str(tmp_path / "out"),
                    "-p", "lead3"], check=True)
    seconds = time.perf_counter() - start
    # The largest child process so far (this one, or an earlier test's): an upper bound.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    (record,) = read_jsonl(tmp_path / "out" / "summaries.jsonl")
    assert record["error"] is None and record["summary"]
    assert seconds < 120 and peak_mb < 1500, (seconds, peak_mb)


def test_huge_files_are_refused_without_being_read(tmp_path, monkeypatch):
    import summarizer.ingest

    with (tmp_path / "video.txt").open("wb") as handle:  # 1 GB, sparse: costs no disk
        handle.write(b"\x1a\x45\xdf\xa3\x00\x00")
        handle.truncate(1 << 30)
    (tmp_path / "big.txt").write_text("A sentence. " * 200)
    monkeypatch.setattr(summarizer.ingest, "MAX_FILE_BYTES", 1000)
    records = {r.id: r for r in ingest([tmp_path])}
    assert "binary file (contains NUL bytes)" in records["video"].error
    assert "are not read whole" in records["big"].error and "split it" in records["big"].error

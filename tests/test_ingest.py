import json

import pandas as pd
import pytest

from summarizer.errors import InputError
from summarizer.filetext import text_and_encoding
from summarizer.htmltext import html_to_text
from summarizer.ingest import ingest, normalize


def ids(records):
    return [r.id for r in records]


def test_folder_is_read_recursively_in_path_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "one.txt").write_text("Nested one.")
    (tmp_path / "a.md").write_text("# Title\n\nMarkdown body.")
    (tmp_path / "c.html").write_text("<html><head><title>T</title><style>p{}</style></head><body>"
                                     "<p>Visit <a href='#'>the site</a> today.</p><script>var x=1;</script>"
                                     "<p>Second para.</p></body></html>")
    (tmp_path / "ignored.bin").write_bytes(b"\x00\x01")
    records = list(ingest([tmp_path]))
    assert ids(records) == ["a", "b/one", "c"]
    assert records[2].text == "Visit the site today.\n\nSecond para."
    assert all(r.error is None for r in records)


def test_duplicate_names_in_nested_folders_get_distinct_ids(tmp_path):
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "same.txt").write_text(f"Text in {sub}.")
    assert ids(ingest([tmp_path])) == ["x/same", "y/same"]
    # the same folder twice: ids stay unique
    assert ids(ingest([tmp_path, tmp_path])) == ["x/same", "y/same", "x/same~2", "y/same~2"]


def test_encodings(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 prices rose by 5% in S\xe3o Paulo.".encode("cp1252"))
    (tmp_path / "utf16.txt").write_bytes("Straße gesperrt.".encode("utf-16"))
    (tmp_path / "bom.txt").write_bytes("\ufeffBOM text.".encode("utf-8"))
    by_id = {r.id: r for r in ingest([tmp_path])}
    assert by_id["latin1"].text == "Café prices rose by 5% in São Paulo."
    assert by_id["utf16"].text == "Straße gesperrt."
    assert by_id["bom"].text == "BOM text."


def test_bad_files_become_record_errors_not_crashes(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n\n ")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "good.txt").write_text("Fine text.")
    by_id = {r.id: r for r in ingest([tmp_path])}
    assert "empty document" in by_id["empty"].error
    assert "binary" in by_id["binary"].error
    assert by_id["good"].error is None


def test_jsonl_table_fields_ids_and_bad_lines(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text(
        json.dumps({"id": "a1", "article": "Article one.", "highlights": "Ref one."}) + "\n"
        + "{not json\n"
        + json.dumps({"article": 42}) + "\n"
        + json.dumps({"title": "no text here"}) + "\n"
        + json.dumps({"article": "No id here."}) + "\n"
    )
    records = list(ingest([path]))
    assert ids(records) == ["a1", "data:2", "data:3", "data:4", "data:5"]
    assert records[0].text == "Article one." and records[0].reference == "Ref one."
    assert "not valid JSON" in records[1].error
    assert "not text" in records[2].error
    assert "--text-field" in records[3].error
    assert records[4].error is None and records[4].meta["row"] == 5


def test_csv_with_quoted_newlines_and_field_override(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"body_text": ["Line one.\nLine two.", "Other."], "gold": ["R1", "R2"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="no text column.*--text-field"):
        list(ingest([path]))
    records = list(ingest([path], text_field="body_text", reference_field="gold"))
    assert [r.text for r in records] == ["Line one.\nLine two.", "Other."]
    assert [r.reference for r in records] == ["R1", "R2"]


def test_parquet_and_json_list(tmp_path):
    pd.DataFrame({"id": [7, 8], "text": ["Seven.", "Eight."]}).to_parquet(tmp_path / "t.parquet")
    (tmp_path / "j.json").write_text(json.dumps([{"content": "From JSON."}]))
    records = list(ingest([tmp_path]))
    assert ids(records) == ["j:1", "7", "8"]
    assert records[0].text == "From JSON."


def test_limit_and_missing_paths(tmp_path):
    for i in range(5):
        (tmp_path / f"{i}.txt").write_text(f"Doc {i}.")
    assert len(list(ingest([tmp_path], limit=2))) == 2
    with pytest.raises(InputError, match="does not exist"):
        list(ingest([tmp_path / "nope"]))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no files to summarize"):
        list(ingest([empty]))


def test_helpers():
    assert normalize("a  b\r\n\r\n\r\n\r\nc ") == "a b\n\nc"
    assert html_to_text("<p>x<br>y</p>").split() == ["x", "y"]
    with pytest.raises(ValueError, match="binary"):
        text_and_encoding(b"PK\x03\x04\x00\x00")


def _paired(root, articles, summaries):
    for rel, text in articles.items():
        path = root / "articles" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for rel, text in summaries.items():
        path = root / "summaries" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_articles_and_summaries_folder_is_read_as_pairs(tmp_path, caplog):
    _paired(tmp_path, {"sport/001.txt": "Goal in the last minute. The crowd cheered.",
                       "sport/002.txt": "A quiet draw. Nobody scored."},
            {"sport/001.txt": "A late goal won it.", "sport/009.txt": "No article has this name."})
    with caplog.at_level("INFO", logger="summarizer"):
        records = list(ingest([tmp_path]))
    # The summaries are references, not documents: ids are relative to articles/.
    assert [r.id for r in records] == ["sport/001", "sport/002"]
    assert records[0].reference == "A late goal won it."
    assert records[1].reference is None and records[1].error is None
    log = caplog.text
    assert "summarizing the 2 article(s) in articles/" in log and "(1 found)" in log
    assert "1 article(s) have no summary" in log
    assert "'sport/009'" in log


def test_folder_with_more_than_the_pair_is_read_whole(tmp_path):
    _paired(tmp_path, {"a.txt": "One article here."}, {"a.txt": "Its summary."})
    (tmp_path / "notes.txt").write_text("Another document beside them.", encoding="utf-8")
    records = list(ingest([tmp_path]))
    assert sorted(r.id for r in records) == ["articles/a", "notes", "summaries/a"]
    assert all(r.reference is None for r in records)


def test_paired_folder_reference_that_cannot_be_read_is_a_warning(tmp_path):
    _paired(tmp_path, {"a.txt": "One article here."}, {})
    (tmp_path / "summaries").mkdir()
    (tmp_path / "summaries" / "a.txt").write_bytes(b"%PDF-1.4 binary")
    [record] = list(ingest([tmp_path]))
    assert record.error is None and record.reference is None
    assert any("reference" in w for w in record.warnings)


def test_paired_folder_without_articles_says_so(tmp_path):
    (tmp_path / "articles").mkdir()
    _paired(tmp_path, {}, {"a.txt": "A summary without its article."})
    with pytest.raises(InputError, match="no articles to summarize"):
        list(ingest([tmp_path]))


def test_paired_folder_survives_a_run_output_inside_it(tmp_path, caplog):
    _paired(tmp_path, {"a.txt": "One article here. It has two sentences."}, {"a.txt": "Its summary."})
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "b.txt").write_text("Not read.", encoding="utf-8")
    with caplog.at_level("WARNING", logger="summarizer"):
        records = list(ingest([tmp_path], exclude=[]))
    assert [r.id for r in records] == ["a"] and records[0].reference == "Its summary."
    assert "extra/" in caplog.text and "not read" in caplog.text


def test_paired_folder_run_twice_with_output_inside_resumes(tmp_path):
    from summarizer.pipeline import Pipeline
    from summarizer.runner import run_to_folder

    _paired(tmp_path, {"a.txt": "One article here. It has two sentences.", "b.txt": "Another one. Short."},
            {"a.txt": "Its summary.", "b.txt": "The other summary."})
    pipe = Pipeline.load("lead3")
    first = run_to_folder([tmp_path], tmp_path / "out", pipe)
    second = run_to_folder([tmp_path], tmp_path / "out", pipe, resume=True)
    assert [r.id for r in first.records] == [r.id for r in second.records] == ["a", "b"]
    assert second.reused == 2
    assert [r.reference for r in second.records] == ["Its summary.", "The other summary."]

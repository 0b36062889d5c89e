"""Reading records back (``summarizer <stage>`` reads them from stdin): a malformed record is an
:class:`InputError` that names what is wrong, never a traceback from a later stage."""

import io
import json

import pytest

import summarizer.records
from summarizer.errors import InputError
from summarizer.records import Record, json_lines, loads_json, read_records

DEEP = 100_000


def test_loads_json_turns_too_deep_nesting_into_a_value_error():
    assert loads_json('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    for text in ("[" * DEEP + "]" * DEEP, '{"a": ' * DEEP + "1" + "}" * DEEP):
        with pytest.raises(ValueError, match="nested too deeply"):
            loads_json(text)
    with pytest.raises(ValueError):  # ordinary malformed JSON stays a ValueError too
        loads_json("{not json")


def test_a_too_deep_line_in_the_record_stream_is_an_input_error_naming_the_line():
    stream = io.StringIO(json.dumps({"id": "a", "text": "Fine."}) + "\n" + "[" * DEEP + "]" * DEEP + "\n")
    records = read_records(stream)
    assert next(records).id == "a"
    with pytest.raises(InputError, match="the record stream, line 2: not valid JSON .*nested too deeply"):
        next(records)


def test_json_lines_still_names_a_malformed_line():
    with pytest.raises(InputError, match="data.jsonl, line 3: not valid JSON"):
        list(json_lines(io.StringIO('{"a": 1}\n\n{oops\n'), "data.jsonl"))


def test_an_overlong_line_in_the_record_stream_is_an_input_error(monkeypatch):
    monkeypatch.setattr(summarizer.records, "MAX_RECORD_LINE_CHARS", 100)
    stream = io.StringIO('{"id": "a", "text": "ok"}\n' + "z" * 10_000 + "\n")
    lines = json_lines(stream, "the record stream")
    assert next(lines) == (1, {"id": "a", "text": "ok"})
    with pytest.raises(InputError, match="the record stream, line 2: over 100 characters"):
        next(lines)


GOOD = {"id": "doc", "text": "Some text.", "reference": None, "meta": {"source": "x"}, "warnings": ["w"],
        "trace": [{"stage": "ingest", "seconds": 0.1}]}


@pytest.mark.parametrize("field, value, received, wanted", [
    ("meta", 5, "int", "an object"),
    ("meta", [1, 2], "list", "an object"),
    ("meta", None, "null", "an object"),
    ("warnings", "oops", "str", "a list of strings"),
    ("warnings", ["ok", 3], "a list holding int", "a list of strings"),
    ("trace", {"stage": "x"}, "dict", "a list of objects"),
    ("trace", [1], "a list holding int", "a list of objects"),
    ("text", 5, "int", "a string"),
    ("text", None, "null", "a string"),
    ("reference", ["a"], "list", "a string or null"),
    ("error", 3, "int", "a string or null"),
    ("id", None, "null", "a string"),
    ("id", {"a": 1}, "dict", "a string"),
    ("sentences", "0-4", "str", "a list or null"),
    ("fallback", "yes", "str", "true or false"),
    ("run", [], "list", "an object or null"),
])
def test_a_field_of_the_wrong_type_is_an_input_error_naming_it(field, value, received, wanted):
    with pytest.raises(InputError) as caught:
        Record.from_dict({**GOOD, field: value})
    message = str(caught.value)
    assert f"'{field}'" in message and received in message and wanted in message
    assert "'doc'" in message or field == "id"
    assert "summarizer ingest" in message  # the fix


@pytest.mark.parametrize("data", [{"text": "no id"}, {"id": "a"}, [1, 2], "text"])
def test_a_record_without_id_or_text_is_an_input_error(data):
    with pytest.raises(InputError, match="needs at least 'id' and 'text'"):
        Record.from_dict(data)


def test_a_valid_record_reads_back_as_before():
    record = Record.from_dict({**GOOD, "id": 7, "future_field": 1})
    assert record.id == "7" and record.meta == {"source": "x", "extra.future_field": 1}
    assert record.warnings == ["w"] and record.trace[0]["stage"] == "ingest"
    full = Record(id="x", text="One. Two.", sentences=[[0, 4], [5, 9]], extract=[1], summary="Two.")
    assert Record.from_dict(json.loads(full.to_json())) == full


def test_the_stage_reader_reports_a_bad_meta_as_an_input_error():
    stream = io.StringIO(json.dumps({"id": "a", "text": "x", "meta": 5}) + "\n")
    with pytest.raises(InputError, match="'meta' is int"):
        list(read_records(stream))

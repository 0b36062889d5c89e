"""References from folders of text files and from CSV/Parquet tables, with ids as `summarizer run` gives them."""

import json

import pytest
from click.testing import CliRunner

import summarizer.sources
from summarizer.cli import main
from summarizer.errors import InputError, OutputError
from summarizer.evaluation.report import EvalConfig, evaluate, write_report

FAST = EvalConfig(resamples=20)
ARTICLES = {
    "business/001": "Shares in the bank rose 4% on Monday. Profits doubled to 2 billion. "
                    "The chief executive was pleased.",
    "business/002": "The airline cut 300 jobs. Fuel costs rose sharply this year. Unions called a strike for May.",
    "sport/001": "The club won the cup final 2-1. The captain scored twice. Fans celebrated in the city centre.",
}
REFERENCES = {
    "business/001": "Bank shares rose 4% as profits doubled to 2 billion.",
    "business/002": "The airline cut 300 jobs as fuel costs rose; unions plan a strike.",
    "sport/001": "The club won the cup final 2-1 with two goals from its captain.",
}


def write_tree(root, texts, suffix=".txt"):
    for key, text in texts.items():
        path = root / f"{key}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def run(folder, out, pipeline="lead3"):
    result = CliRunner().invoke(main, ["run", str(folder), "-o", str(out), "--pipeline", pipeline])
    assert result.exit_code == 0, result.output
    return out / "summaries.jsonl"


@pytest.fixture
def lead3(tmp_path):
    """lead3's summaries of a nested folder of articles, run as a user would."""
    return run(write_tree(tmp_path / "articles", ARTICLES), tmp_path / "out" / "lead3")


def test_folder_of_text_files_is_joined_by_relative_path(lead3, tmp_path):
    refs = write_tree(tmp_path / "refs", REFERENCES)
    report = evaluate([lead3], references=refs, config=FAST)
    docs = {d.id: d for d in report.systems[0].documents}
    assert set(docs) == set(REFERENCES) and report.references_kind == "folder"
    assert docs["sport/001"].reference == REFERENCES["sport/001"]
    assert docs["sport/001"].measures["source_words"] > 0  # the source text comes from the records
    assert not report.problems.messages()


def test_folder_ids_follow_run_also_for_markdown_and_repeated_stems(tmp_path):
    articles = write_tree(tmp_path / "articles", {"a": "One. Two. Three."})
    write_tree(articles, {"a": "Other. Text. Here."}, suffix=".md")  # a.md and a.txt: ids 'a.md', 'a.txt'
    system = run(articles, tmp_path / "out")
    refs = write_tree(tmp_path / "refs", {"a": "One."})
    write_tree(refs, {"a": "Other."}, suffix=".md")
    report = evaluate([system], references=refs, config=FAST)
    assert sorted(d.id for d in report.systems[0].documents) == ["a.md", "a.txt"]


def test_unreadable_and_empty_reference_files_are_listed(lead3, tmp_path):
    refs = write_tree(tmp_path / "refs", {**REFERENCES, "sport/001": "   \n"})
    (refs / "business" / "002.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    report = evaluate([lead3], references=refs, config=FAST)
    assert [d.id for d in report.systems[0].documents] == ["business/001"]
    unread = report.problems.unread_references
    assert set(unread) == {"business/002", "sport/001"} and "PNG" in unread["business/002"]
    assert any("gave no reference" in line for line in report.problems.messages())
    assert report.to_dict()["problems"]["unread_references"] == unread


def test_csv_and_parquet_tables_with_any_reference_column(lead3, tmp_path):
    import pandas as pd

    rows = [{"ID": None, "id": key, "Highlights": text, "Article": ARTICLES[key]} for key, text in REFERENCES.items()]
    frame = pd.DataFrame(rows).drop(columns="ID")
    frame.to_csv(tmp_path / "refs.csv", index=False)
    frame.to_parquet(tmp_path / "refs.parquet")
    for name in ("refs.csv", "refs.parquet"):
        report = evaluate([lead3], references=tmp_path / name, config=FAST)
        docs = {d.id: d for d in report.systems[0].documents}
        assert set(docs) == set(REFERENCES) and report.references_kind == "table", name
        assert docs["business/002"].reference == REFERENCES["business/002"]


def test_table_with_only_ids_and_summaries(lead3, tmp_path):
    import pandas as pd

    pd.DataFrame({"id": list(REFERENCES), "summary": list(REFERENCES.values())}).to_csv(tmp_path / "r.csv",
                                                                                       index=False)
    report = evaluate([lead3], references=tmp_path / "r.csv", config=FAST)
    assert len(report.systems[0].documents) == 3


def test_table_without_a_reference_column_names_its_columns(lead3, tmp_path):
    (tmp_path / "r.csv").write_text("id,text\nbusiness/001,Shares rose.\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no reference column .*summary, reference, highlights.*\['id', 'text'\]"):
        evaluate([lead3], references=tmp_path / "r.csv", config=FAST)


def test_table_without_ids_gets_the_row_ids_run_gives_it(tmp_path):
    import pandas as pd

    pd.DataFrame({"article": list(ARTICLES.values()), "summary": list(REFERENCES.values())}).to_csv(
        tmp_path / "news.csv", index=False)
    system = run(tmp_path / "news.csv", tmp_path / "out")
    report = evaluate([system], references=tmp_path / "news.csv", config=FAST)
    assert [d.id for d in report.systems[0].documents] == ["news:1", "news:2", "news:3"]


def test_missing_or_single_file_references_are_messages(lead3, tmp_path):
    with pytest.raises(InputError, match="do not exist; give a .jsonl, .csv or .parquet file, or a folder"):
        evaluate([lead3], references=tmp_path / "nope", config=FAST)
    (tmp_path / "one.txt").write_text("A summary.", encoding="utf-8")
    with pytest.raises(InputError, match="is one text file; give the folder that holds it"):
        evaluate([lead3], references=tmp_path / "one.txt", config=FAST)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="Give a folder of reference summaries"):
        evaluate([lead3], references=tmp_path / "empty", config=FAST)


def test_wrong_folder_is_an_error_that_shows_both_sides(lead3, tmp_path):
    refs = write_tree(tmp_path / "data" / "summaries", {f"x{i}": "A summary." for i in range(5)})
    with pytest.raises(InputError) as caught:
        evaluate([lead3], references=refs.parent, config=FAST)
    message = str(caught.value)
    assert "nothing to score" in message
    assert "have 5 id(s), e.g. 'summaries/x0', 'summaries/x1', 'summaries/x2' and 2 more" in message
    assert "lead3 has 3 id(s), e.g. 'business/001', 'business/002', 'sport/001'" in message


def test_report_is_never_written_inside_the_references_folder(lead3, tmp_path):
    refs = write_tree(tmp_path / "refs", REFERENCES)
    report = evaluate([lead3], references=refs, config=FAST)
    with pytest.raises(OutputError, match="inside the references folder"):
        write_report(report, refs / "report", html=False)


@pytest.mark.skipif(not hasattr(summarizer.sources, "paired_layout"),
                    reason="summarizer.sources does not read the articles/ + summaries/ layout")
def test_articles_and_summaries_layout_gives_summaries_with_their_articles(lead3, tmp_path):
    data = tmp_path / "bbc"
    write_tree(data / "articles", ARTICLES)
    write_tree(data / "summaries", REFERENCES)
    report = evaluate([lead3], references=data, config=FAST)
    docs = {d.id: d for d in report.systems[0].documents}
    assert set(docs) == set(REFERENCES) and docs["sport/001"].reference == REFERENCES["sport/001"]


def test_cli_folder_references_json_and_the_differences_table(tmp_path):
    articles = write_tree(tmp_path / "articles", ARTICLES)
    first = run(articles, tmp_path / "out" / "lead3")
    second = run(articles, tmp_path / "out" / "extractive", pipeline="extractive")
    refs = write_tree(tmp_path / "refs", REFERENCES)
    out = tmp_path / "report"
    args = ["eval", str(first), str(second), "-r", str(refs), "-o", str(out), "--resamples", "20", "--no-html"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "| lead3 | 3 |" in result.stdout
    assert "vs lead3: shared n" in result.stdout and "| extractive | 3 |" in result.stdout
    assert "p=" in result.stdout and "ROUGE tokenization: rouge-score" in result.stderr

    as_json = CliRunner().invoke(main, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    scores = json.loads(as_json.stdout)
    assert scores == json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert scores["systems"][1]["vs_first"]["rouge1"]["p_value"] > 0 and "|" not in as_json.stdout


def test_cli_nothing_scored_exits_1_and_writes_nothing(lead3, tmp_path):
    refs = write_tree(tmp_path / "other", {"x": "A summary."})
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["eval", str(lead3), "-r", str(refs), "-o", str(out)])
    assert result.exit_code == 1 and "nothing to score" in result.output and "Traceback" not in result.output
    assert "'x'" in result.output and "'business/001'" in result.output
    assert not out.exists()

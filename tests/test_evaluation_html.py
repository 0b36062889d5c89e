"""The HTML report's charts: readable scales, the best system marked, no absolute paths, and
the page as a real browser draws it (headless Chromium, when installed)."""

import json
import shutil
import subprocess

import pytest

from summarizer.evaluation.best import best_names
from summarizer.evaluation.charts import rouge_figure
from summarizer.evaluation.html import display_path, index_html, report_html
from summarizer.evaluation.measure_charts import (
    MIN_SPAN, faithfulness_figure, length_chart, length_clip, length_figure, panel_range, upper_whisker)
from summarizer.evaluation.report import EvalConfig, evaluate, write_report

FAST = EvalConfig(resamples=200)
CITIES = ["Oslo", "Bergen", "Tromso", "Stavanger", "Trondheim", "Bodo", "Alta", "Molde", "Hamar", "Narvik",
          "Lillehammer", "Kristiansand"]


def article(k: int) -> str:
    city = CITIES[k]
    return (f"The council of {city} approved a new bridge on Monday. It will cost {k + 3} million crowns. "
            f"Mayor Anna Berg said work starts in May. Residents of {city} have waited {k + 10} years for it.")


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def made_up_report(tmp_path, duplicate_reference=False):
    """Two systems on 12 articles: "lead" copies the first sentences (numbers and names all
    from the source, no novel n-grams), "rewrite" copies one and words the cost anew (a few
    novel n-grams); one reference is an 1,800-word outlier, as BBC's are. The references file
    is given by its absolute path."""
    refs = [{"id": f"d{k}", "article": article(k),
             "summary": f"{CITIES[k]} approved a bridge costing {k + 3} million crowns, to start in May."}
            for k in range(len(CITIES))]
    refs[0]["summary"] = " ".join(["The council talked about the bridge at length."] * 225)  # 1,800 words
    if duplicate_reference:
        refs.append(dict(refs[1]))
    lead = [{"id": f"d{k}", "summary": " ".join(article(k).split(". ")[:2]) + "."} for k in range(len(CITIES))]
    rewrite = [{"id": f"d{k}", "summary": article(k).split(". ")[0] + f". Its price is {k + 3} million crowns."}
               for k in range(len(CITIES))]
    paths = [write_jsonl(tmp_path / "runs" / "lead" / "summaries.jsonl", lead),
             write_jsonl(tmp_path / "runs" / "rewrite" / "summaries.jsonl", rewrite)]
    references = write_jsonl(tmp_path / "data" / "refs.jsonl", refs)
    return evaluate([p.resolve() for p in paths], references=references.resolve(), config=FAST)


# Length ----------------------------------------------------------------------------------------

def test_length_clip_cuts_at_the_longest_whisker_only_when_it_gains_room():
    summaries = [40, 45, 50, 52, 55, 60]
    references = [100, 120, 150, 170, 200, 260, 1800]
    clip = length_clip([summaries, references])
    assert clip is not None and clip.limit == upper_whisker(references) == 260
    assert clip.hidden == [(1, 1800)] and clip.counts() == {1: (1, 1800)}
    assert length_clip([summaries, [100, 120, 150, 170, 200, 260, 300]]) is None  # nothing far out
    assert length_clip([[], []]) is None


def test_length_chart_is_cut_below_the_outlier_and_says_so(tmp_path):
    report = made_up_report(tmp_path)
    figure, clip = length_figure(report)
    axes = figure.axes[0]
    assert clip is not None and clip.counts() == {2: (1, 1800)}  # the references' row
    assert axes.get_xlim()[1] < 300  # the 20-word summaries get the width, not the outlier
    assert "axis cut at" in axes.get_title()
    assert any("up to 1,800" in text.get_text() for text in axes.texts)
    html = length_chart(report)
    assert "The axis is cut at" in html and "reference: 1, up to 1,800 words" in html


# Faithfulness ----------------------------------------------------------------------------------

def test_panel_range_fits_the_data_not_zero_to_a_hundred():
    low, high = panel_range([99.0, 100.0], [100.0, 100.0])
    assert 94 < low < 99 and 100 < high < 101  # near 100%, with a margin for the dot at 100
    low, high = panel_range([0.0, 0.5], [0.0, 1.5])
    assert -1 < low < 0 and 1.5 < high < 6  # novel n-grams of a copying system stay visible
    low, high = panel_range([40.0], [40.0])
    assert high - low >= MIN_SPAN and low < 40 < high


def test_faithfulness_chart_has_a_panel_and_a_scale_per_measure_with_intervals(tmp_path):
    report = made_up_report(tmp_path)
    figure = faithfulness_figure(report)
    titles = {axes.get_title(): axes for axes in figure.axes}
    assert set(titles) == {"numbers in source", "entities in source", "novel 1-grams", "novel 2-grams",
                           "novel 3-grams", "verbatim sentences"}
    numbers, novel = titles["numbers in source"].get_xlim(), titles["novel 1-grams"].get_xlim()
    assert numbers[0] > 90  # both systems at 100%: not squeezed against a 0-100 axis
    assert novel[1] < 30  # a few percent of new words: not a sliver at the bottom of 0-100
    # An interval line per system where the documents vary (rewrite's novel 3-grams do).
    assert titles["novel 3-grams"].collections, "no interval drawn"
    labels = [text.get_text() for text in titles["numbers in source"].texts]
    assert labels == ["100.0%", "100.0%"]
    assert all(tick <= 100 for tick in titles["numbers in source"].get_xticks())


# The best system -------------------------------------------------------------------------------

def test_best_names_ties_as_printed_and_needs_two_systems():
    assert best_names([("a", 31.2), ("b", 38.151), ("c", 38.149)]) == {"b", "c"}  # both print 38.15
    assert best_names([("a", 31.2), ("b", None)]) == set()
    assert best_names([("a", 1.0), ("b", 2.0)]) == {"b"}


def test_best_system_is_bold_in_the_table_and_starred_in_the_chart(tmp_path):
    report = made_up_report(tmp_path)
    lead, rewrite = report.systems
    winner = max(report.systems, key=lambda s: s.summary["rouge2"]["f"])
    page = report_html(report)
    table = page.split("<h2>ROUGE</h2>", 1)[1].split("</table>", 1)[0]
    rows = {row.split("</td>", 1)[0].rsplit(">", 1)[1]: row for row in table.split("<tr>")[2:]}
    assert f'<td class="best">{winner.summary["rouge2"]["f"]:.2f}' in rows[winner.name]
    loser = rewrite if winner is lead else lead
    assert f'<td class="best">{loser.summary["rouge2"]["f"]:.2f}' not in rows[loser.name]
    assert "Bold: the highest mean F1" in page and "★" in page
    figure = rouge_figure(report)
    stars = [line for line in figure.axes[0].lines if line.get_marker() == "*"]
    assert len(stars) == 1 and len(stars[0].get_xdata()) >= 4  # one star per ROUGE type at least
    assert "best mean" in [text.get_text() for text in figure.axes[0].get_legend().get_texts()]


def test_index_marks_the_best_system_of_each_dataset():
    def system(name, f):
        score = {"f": f, "low": f - 1, "high": f + 1}
        return {"name": name, "n": 3, **{t: score for t in ("rouge1", "rouge2", "rougeL", "rougeLsum")}}

    entry = {"dataset": "news", "report": {"systems": [system("a", 30.0), system("b", 35.0)]},
             "table": (["system", "n", "ROUGE-1", "ROUGE-2", "ROUGE-L", "ROUGE-Lsum"],
                       [["a", "3", *["30.00"] * 4], ["b", "3", *["35.00"] * 4]])}
    page = index_html("Suite", [entry])
    assert page.count('<td class="best">35.00</td>') == 4 and '<td class="best">30.00' not in page
    assert "★" in page


# Paths -----------------------------------------------------------------------------------------

def test_display_path_never_shows_where_a_file_lies_on_the_machine():
    assert display_path("out/lead3/summaries.jsonl") == "out/lead3/summaries.jsonl"
    assert display_path("/home/ann/runs/lead3/summaries.jsonl") == "…/lead3/summaries.jsonl"
    assert display_path("../../data/refs.jsonl") == "…/data/refs.jsonl"
    assert display_path("/refs.jsonl") == "refs.jsonl"
    assert display_path("C:\\Users\\ann\\refs.jsonl") == "…/ann/refs.jsonl"


def test_page_has_no_absolute_path(tmp_path):
    report = made_up_report(tmp_path, duplicate_reference=True)
    assert str(tmp_path) in "\n".join(report.problems.messages())  # the problem names the file as given
    page = report_html(report)
    assert str(tmp_path) not in page and str(tmp_path.resolve()) not in page
    assert "…/data/refs.jsonl" in page and "…/lead/summaries.jsonl" in page
    assert "…/data/refs.jsonl: 1 duplicate id(s)" in page


# In a browser ----------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (CI: apt-get install -y chromium)")
def test_report_draws_in_headless_chromium(tmp_path):
    from matplotlib.image import imread

    written = write_report(made_up_report(tmp_path), tmp_path / "report")
    page = written[3]
    assert str(tmp_path) not in page.read_text(encoding="utf-8")
    screenshot = tmp_path / "page.png"
    # A profile of its own: a shared one is locked by any other Chromium running.
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={screenshot}",
                    "--window-size=1200,2400", page.resolve().as_uri()],
                   check=True, timeout=120, capture_output=True)
    assert screenshot.is_file() and screenshot.stat().st_size > 0
    pixels = imread(screenshot)[:, :, :3]
    assert pixels.shape[:2] == (2400, 1200)
    ink = (pixels < 0.9).any(axis=2).mean()
    assert ink > 0.02, f"the page looks blank ({ink:.1%} of the pixels are not white)"
    # The charts were decoded and drawn: matplotlib's first colour (the first system) shows.
    blue = (abs(pixels - [0x1f / 255, 0x77 / 255, 0xb4 / 255]) < 0.03).all(axis=2).sum()
    assert blue > 500, f"no chart colours in the screenshot ({blue} pixels)"

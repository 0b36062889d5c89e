import pytest

from summarizer.evaluation.faithfulness import entity_spans, measure, numbers

SOURCE = ("The council of Elmsford approved a new bridge on Monday. Dr. Ana Lee said the work would cost "
          "4.5 million crowns and take two years. Residents had asked for a crossing since 2019. "
          "The mayor, Mr. Joss Hale, spent 1,200 crowns.")


def test_numbers_are_normalized_and_checked_against_the_source():
    assert numbers("1,000 and 4,5 and 2,345.67 and ３ 76%") == ["1000", "4.5", "2345.67", "3", "76"]
    m = measure("It will cost 4.5 million crowns and open in 2031; Hale spent 1200.", SOURCE)
    assert (m["numbers"], m["numbers_found"], m["numbers_share"]) == (3, 2, pytest.approx(2 / 3))


def test_entity_spans_skip_sentence_starts_and_end_at_punctuation():
    spans = entity_spans('The mayor, Mr. Joss Hale, met Barack Obama\'s team in New York and Paris, London. '
                         '"The" rest went to the Prosecutor General\'s Office. I agree.')
    assert spans == ["Mr Joss Hale", "Barack Obama", "New York", "Paris", "London", "Prosecutor General", "Office"]


def test_entities_found_in_source_and_invented_ones_not():
    m = measure("Work begins soon, said Dr. Ana Lee and Mr. Joss Hale of Kessel County.", SOURCE)
    assert (m["entities"], m["entities_found"]) == (3, 2)  # Dr Ana Lee, Mr Joss Hale; not Kessel County


def test_novel_ngrams_lengths_and_compression():
    copied = measure("The council of Elmsford approved a new bridge on Monday.", SOURCE)
    assert copied["novel_1"] == copied["novel_2"] == copied["novel_3"] == 0
    assert copied["summary_words"] == 10
    assert copied["compression"] == pytest.approx(copied["source_words"] / 10)
    invented = measure("Bridge plans collapse.", SOURCE)
    assert invented["novel_1"] == pytest.approx(2 / 3)  # "bridge" occurs in the source
    assert invented["novel_2"] == invented["novel_3"] == 1


def test_nothing_to_count_is_none_not_zero():
    empty = measure("", SOURCE)
    assert empty["summary_words"] == 0 and empty["compression"] is None
    assert empty["numbers_share"] is None and empty["entities_share"] is None and empty["novel_1"] is None
    no_source = measure("Some summary of 3 things.", None)
    assert no_source["numbers_share"] is None and no_source["source_words"] is None
    chinese = measure("可穿戴技术十大设计原则", "本文总结了十个可穿戴产品的设计原则")
    assert chinese["entities"] == 0 and chinese["entities_share"] is None
    assert chinese["summary_words"] == 11 and 0 < chinese["novel_1"] < 1


# The post-filter and this metric read numbers alike: a number the filter keeps as supported
# is found here, and one it drops as invented is missing here.
@pytest.mark.parametrize("in_summary, in_source, same", [
    ("4,500", "4500", True),
    ("4,500", "4.5", False),
    ("4,5", "4.5", True),  # a decimal comma
    ("4,5", "45", False),
    ("4.5", "4,5", True),
    ("4.5", "4,500", False),
    ("9:30", "9:30", True),
    ("9:30", "9 or 30", False),  # a time is one fact, not two numbers
    ("１２", "12", True),
])
def test_the_filter_and_the_metric_agree_on_numbers(in_summary, in_source, same):
    from summarizer.facts import unsupported

    summary = f"Ms Ray said the figure was {in_summary} on the day."
    source = f"Ms Ray said the figure was {in_source} on the day."
    assert (unsupported(summary, source) == []) is same
    m = measure(summary, source)
    assert (m["numbers_found"] == m["numbers"]) is same

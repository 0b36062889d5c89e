import pytest

from summarizer.facts import numbers, unsupported

SOURCE = "Bread prices in Lindenvale rose by 15% to 1,250 crowns, Dr. Ada Voss said on Monday."


def test_numbers_ignore_thousands_separators():
    assert numbers("1,250 crowns and 15% and 4.5") == ["1250", "15", "4.5"]


@pytest.mark.parametrize("text, expected", [
    ("4,500 and 1,250,000 and 12,34,567", ["4500", "1250000", "1234567"]),  # digit groups
    ("4,5 and 29,7km and 4,50", ["4.5", "29.7", "4.50"]),  # decimal commas
    ("4.5 and 1.234 and 2,345.67", ["4.5", "1.234", "2345.67"]),  # a full stop is a decimal point
    ("at 9:30, 3:1 and 2:04.45", ["9:30", "3:1", "2:04.45"]),  # one fact each
    ("１５ and ٣ and ४२", ["15", "3", "42"]),  # digits of any script
    ("10½ years, 5 m², 5，6日", ["10", "5", "5", "6"]),  # no NFKC: nothing glued
    ("5 and 5 again", ["5", "5"]),
])
def test_numbers_are_normalized(text, expected):
    assert numbers(text) == expected


def test_supported_sentence_has_nothing_missing():
    assert unsupported("Prices in Lindenvale rose 15 percent, Voss said.", SOURCE) == []
    assert unsupported("Bread cost 1250 crowns on Monday.", SOURCE) == []


def test_invented_numbers_and_names_are_found():
    assert unsupported("Prices rose 20% in Kent.", SOURCE) == ["20", "Kent"]


def test_first_word_of_a_sentence_is_not_taken_for_a_name():
    assert unsupported("Shoppers said prices in Lindenvale rose.", SOURCE) == []


def test_text_without_case_is_checked_for_numbers():
    assert unsupported("北京下雪，气温降到5度。", "北京下雪，气温降到零下3度。") == ["5"]


def test_support_is_the_share_of_content_words_found():
    from summarizer.facts import source_stems_of, support

    stems = source_stems_of(SOURCE)
    assert support("Bread prices rose.", stems) == 1.0
    assert support("It is a popular destination for tourists.", stems) == 0.0
    assert support("Prices rose for tourists.", stems) == 2 / 3
    assert support("It is.", stems) == 1.0

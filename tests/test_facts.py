from summarizer.facts import numbers, unsupported

SOURCE = "Bread prices in Lindenvale rose by 15% to 1,250 crowns, Dr. Ada Voss said on Monday."


def test_numbers_ignore_thousands_separators():
    assert numbers("1,250 crowns and 15% and 4.5") == {"1250", "15", "4.5"}


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

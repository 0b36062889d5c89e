import re

import pytest

from summarizer.segment import (
    CJK_CHARS,
    ENDS_SENTENCE,
    SENTENCE_END_CHARS,
    detect_language,
    estimate_tokens,
    finished_sentences,
    segment,
    strip_dateline,
)


def sentences(text, **kw):
    return [text[s:e] for s, e in segment(text, **kw)]


def test_abbreviations_numbers_and_quotes():
    text = 'Dr. Ana Lee arrived at 9 a.m. with $4.5 million. She said: "We are ready." The U.N. agreed.'
    assert sentences(text) == [
        "Dr. Ana Lee arrived at 9 a.m. with $4.5 million.",
        'She said: "We are ready."',
        "The U.N. agreed.",
    ]


def test_byline_and_headline_lines():
    text = "Bridge vote passes\n\n(CNN)The council voted on Monday. Work starts soon."
    assert sentences(text) == ["Bridge vote passes", "(CNN)The council voted on Monday.", "Work starts soon."]


def test_dialogue_turns_are_separate():
    text = "#Person1#: Are you coming\n#Person2#: Yes. See you at noon."
    assert sentences(text)[0] == "#Person1#: Are you coming"
    assert sentences(text)[1:] == ["#Person2#: Yes.", "See you at noon."]


def test_chinese():
    text = "今天北京下了大雪。交通受到影响！市民出行请注意安全。"
    assert detect_language(text) == "zh"
    assert sentences(text) == ["今天北京下了大雪。", "交通受到影响！", "市民出行请注意安全。"]


def test_spans_are_exact_slices_without_outer_whitespace():
    text = "  One here.   Two there.\n\n\n  Three!  "
    spans = segment(text)
    assert [text[s:e] for s, e in spans] == ["One here.", "Two there.", "Three!"]


def test_no_punctuation_and_empty():
    assert sentences("no punctuation at all in this line") == ["no punctuation at all in this line"]
    assert segment("") == []
    assert segment("   \n  ") == []


def test_overlong_sentences_are_split_at_whitespace():
    text = " ".join(["word"] * 1000)  # 4999 characters, no punctuation
    parts = sentences(text, max_sentence_chars=1000)
    assert all(len(p) <= 1000 for p in parts)
    assert " ".join(parts) == text


def test_estimate_tokens_counts_words_punctuation_and_cjk_chars():
    assert estimate_tokens("Hello, world!") == 4
    assert estimate_tokens("北京下雪") == 4
    assert estimate_tokens("") == 0


@pytest.mark.parametrize("sentence, expected", [
    ("Beijing (CNN)China linked the attacks to ISIS.", "China linked the attacks to ISIS."),
    ("(CNN)Nineteen-year-old Tony Robinson was not armed.", "Nineteen-year-old Tony Robinson was not armed."),
    ("LONDON (Reuters) - Shares fell on Monday.", "Shares fell on Monday."),
    ("WASHINGTON, D.C. (AP) \u2014 The vote failed.", "The vote failed."),
    ("PORT KESSEL, Nov. 3 - A storm hit the town.", "A storm hit the town."),
    ("LONDON \u2014 Shares fell.", "Shares fell."),
    ("NASA - the agency - said so.", "NASA - the agency - said so."),
    ("A storm - the worst in years - hit.", "A storm - the worst in years - hit."),
    # not a dateline: an organisation's abbreviation, an agency named mid-sentence, nothing after
    ("The World Health Organization (WHO) said so.", "The World Health Organization (WHO) said so."),
    ("He told CNN (CNN) about it.", "He told CNN (CNN) about it."),
    ("(CNN)", "(CNN)"),
])
def test_strip_dateline(sentence, expected):
    assert strip_dateline(sentence) == expected


def test_a_lower_case_piece_after_an_unknown_abbreviation_stays_with_its_sentence():
    text = "The next clean-up is on the first Sat. of June next year. It starts at 8 a.m. Bring gloves."
    assert [text[s:e] for s, e in segment(text)] == [
        "The next clean-up is on the first Sat. of June next year.", "It starts at 8 a.m.", "Bring gloves."]
    # a sentence that merely starts in lower case after an ordinary word is still its own
    text = "He left on Monday. she stayed."
    assert [text[s:e] for s, e in segment(text)] == ["He left on Monday.", "she stayed."]


def test_cjk_chars_are_kana_and_ideographs_only():
    cjk = re.compile(f"[{CJK_CHARS}]")
    assert all(cjk.fullmatch(ch) for ch in "ひらカタ漢字豈ー")
    assert not any(cjk.search(ch) for ch in "，。Ａ한a1")
    assert estimate_tokens("東京タワー，Ａ") == 7  # five characters, a comma, a full-width word


def test_language_detection_counts_full_width_forms_as_chinese():
    # 2 CJK characters among 19 letters alone would be "en"; the full-width marks tip it
    assert detect_language("Apple iPhone Pro Max：新品（２０２４），") == "zh"
    assert detect_language("Apple iPhone Pro Max: 新品 (2024),") == "en"


@pytest.mark.parametrize("mark", list(SENTENCE_END_CHARS))
def test_every_sentence_end_ends_and_finishes_a_sentence(mark):
    assert ENDS_SENTENCE.search(f"Word{mark}")
    assert ENDS_SENTENCE.search(f"Word{mark}”")
    assert not ENDS_SENTENCE.search(f"Word{mark} and")
    assert finished_sentences(f"Word{mark} next") == 1
    assert finished_sentences(f"Word{mark}\nNext") == 1


def test_arabic_and_devanagari_sentence_ends():
    assert finished_sentences("هل أنت هنا؟ نعم") == 1
    assert finished_sentences("वह घर गया। फिर") == 1
    assert finished_sentences("It cost 4.5 million") == 0  # a spaced mark needs the space
    assert finished_sentences("北京很大。上海") == 1  # a CJK one does not

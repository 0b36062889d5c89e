import pytest

from summarizer.segment import detect_language, estimate_tokens, segment, strip_dateline


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

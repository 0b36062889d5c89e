import numpy as np
import pytest

from summarizer.features import FEATURES, fill_lexicon, sentence_features, terms
from summarizer.records import Record
from summarizer.segment import estimate_tokens, segment


def record(text):
    spans = segment(text)
    return Record(id="x", text=text, sentences=spans, sentence_tokens=[estimate_tokens(text[s:e]) for s, e in spans])


def column(x, name):
    return x[:, FEATURES.index(name)]


def test_one_row_per_candidate_and_none_for_none():
    r = record("One here. Two there. Three again.")
    assert sentence_features(r, [0, 2]).shape == (2, len(FEATURES))
    assert sentence_features(r, []).shape == (0, len(FEATURES))


def test_positions_and_lengths():
    r = record("Short one. A much longer second sentence with many more words in it. Third.")
    x = sentence_features(r, [0, 1, 2])
    assert column(x, "rank_inverse").tolist() == [1.0, 0.5, pytest.approx(1 / 3)]
    assert column(x, "first").tolist() == [1.0, 0.0, 0.0]
    assert column(x, "rank_relative").tolist() == [0.0, 0.5, 1.0]
    assert column(x, "tokens_relative")[1] > 1 > column(x, "tokens_relative")[2]


def test_dialogue_turns_and_speakers():
    r = record("#Person1#: Hello there.\n#Person2#: Hi, how are you?\n#Person1#: Fine.\nNot a turn at all.")
    x = sentence_features(r, list(range(len(r.sentences))))
    assert column(x, "turn").tolist() == [1, 1, 1, 0]
    assert column(x, "speaker_first").tolist() == [1, 1, 0, 0]
    assert column(x, "speaker_opener").tolist() == [1, 0, 1, 0]
    assert column(x, "question")[1] == 1
    assert column(x, "doc_dialogue")[0] == pytest.approx(0.75)


def test_what_a_sentence_holds():
    r = record('Storm hits coast\nThe storm cost 4.5 million crowns, Mayor Anna Berg said. "We will rebuild," she said.')
    x = sentence_features(r, [0, 1, 2])
    assert column(x, "headline_shape").tolist() == [1, 0, 0]
    assert column(x, "doc_headline")[0] == 1
    assert column(x, "numbers")[1] > 0 and column(x, "numbers")[2] == 0
    assert column(x, "names")[1] > column(x, "names")[2]
    assert column(x, "quote").tolist() == [0, 0, 1]


def test_chinese_text():
    r = record("北京今天下了大雪。交通受到严重影响。市民出行请注意安全。")
    x = sentence_features(r, [0, 1, 2])
    assert np.all(np.isfinite(x))
    assert column(x, "doc_cjk")[0] > 0.9
    assert terms("北京 Snow") == ["北", "京", "snow"]


def test_lexicon_columns():
    r = record("Police arrested two men. The weather was fine.")
    lexicon = {"police": 2.0, "arrested": 1.0, "weather": -1.0}
    x = sentence_features(r, [0, 1], lexicon)
    assert column(x, "lexicon_max").tolist() == [2.0, 0.0]
    assert column(x, "lexicon_positive").tolist() == [3.0, 0.0]
    assert column(x, "lexicon_mean")[1] < 0
    fill_lexicon(x, [set(terms("Police arrested two men.")), set()], {})
    assert column(x, "lexicon_max").tolist() == [0.0, 0.0]
    assert np.array_equal(sentence_features(r, [0, 1])[:, :FEATURES.index("lexicon_mean")],
                          x[:, :FEATURES.index("lexicon_mean")])


def test_one_sentence_and_punctuation_only():
    for text in ("Only one sentence here.", "... !!! ???"):
        r = record(text)
        x = sentence_features(r, list(range(len(r.sentences))))
        assert np.all(np.isfinite(x))

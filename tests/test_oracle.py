import pytest

from summarizer.evaluation.rouge import Rouge
from summarizer.oracle import extract_score, f_measure, greedy_oracle, ngrams, oracle, rouge_tokenizer

SENTENCES = [
    "The dam burst on Monday night.",         # shares "dam burst" with the reference
    "Lunch was served at noon.",              # shares nothing
    "Three towns were flooded by the water.",  # shares "three towns", "flooded"
    "The dam burst on Monday.",               # a near copy of the first: adds little once it is in
]
REFERENCE = "The dam burst and flooded three towns."


def test_the_oracle_adds_what_raises_rouge_and_stops_when_nothing_does():
    assert oracle(SENTENCES, REFERENCE) == [2, 3]


def test_the_oracle_respects_its_cap():
    assert len(oracle(SENTENCES, REFERENCE, max_sentences=1)) == 1


def test_a_sentence_sharing_nothing_is_never_taken():
    assert 1 not in oracle(SENTENCES, REFERENCE, max_sentences=4)
    assert oracle(["Nothing in common here."], REFERENCE) == []


def test_empty_reference_or_document():
    assert oracle(SENTENCES, "") == []
    assert oracle([], REFERENCE) == []


def test_hand_counted_greedy_steps():
    # reference a b c d; sentence 0 = a b (F1 2/3, F2 1/2), sentence 1 = c d, sentence 2 = a x
    chosen = greedy_oracle([["a", "b"], ["c", "d"], ["a", "x"]], ["a", "b", "c", "d"])
    assert chosen == [0, 1]
    # unigrams 4 of 4 (F 1); bigrams: the extract's (a b), (c d) against the reference's
    # (a b), (b c), (c d): precision 1, recall 2/3, F 0.8 (the join's "b c" is not counted)
    assert extract_score([["a", "b"], ["c", "d"]], [0, 1], ["a", "b", "c", "d"]) == pytest.approx(1 + 0.8)


def test_f_measure_and_ngrams():
    assert f_measure(0, 3, 3) == 0.0
    assert f_measure(2, 4, 2) == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert ngrams(["a", "b", "a"], 2) == {("a", "b"): 1, ("b", "a"): 1}


@pytest.mark.parametrize("sentence", ["The dam burst on Monday night.", "Three towns were flooded by the water."])
def test_the_score_of_one_sentence_is_rouge_scores(sentence):
    """Counted here as rouge-score counts it (its tokenizer, stemming, F1)."""
    tok = rouge_tokenizer(REFERENCE)
    expected = Rouge(tokenization="rouge-score").score(REFERENCE, sentence)
    mine = extract_score([tok.tokenize(sentence)], [0], tok.tokenize(REFERENCE))
    assert mine * 100 == pytest.approx(expected["rouge1"].fmeasure + expected["rouge2"].fmeasure)


def test_chinese_is_counted_by_character():
    assert rouge_tokenizer("北京大雪").tokenize("北京大雪") == ["北", "京", "大", "雪"]
    assert oracle(["上海今天天晴。", "北京今天下了大雪。"], "北京大雪") == [1]

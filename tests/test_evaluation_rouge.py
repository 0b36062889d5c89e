"""ROUGE through rouge-score: its own numbers, its own test vectors, and non-English text."""

import pytest
from rouge_score import rouge_scorer

from summarizer.evaluation.rouge import ROUGE_TYPES, Rouge, sentence_lines
from summarizer.evaluation.tokens import UnicodeTokenizer

PAIRS = [
    ("The cat sat on the mat.", "A cat sat on a mat."),
    ("Police arrested two men after the robbery on Main Street.\nThe bank was closed for the day.",
     "Two men were arrested by police. The bank on Main Street closed after a robbery."),
    ("Sigma Alpha Epsilon is being tossed out by the University of Oklahoma .\n"
     "It's also run afoul of officials at Yale, Stanford and Johns Hopkins in recent months .",
     "Sigma Alpha Epsilon is under fire for a video showing party-bound fraternity members singing a racist chant. "
     "SAE's national chapter suspended the students."),
    ("Stocks rallied 3.5% on Tuesday, their biggest gain since 2020.", "Stocks rose on Tuesday."),
    ("Generously organized organizations organize.", "Organizers organized generously."),
]


@pytest.fixture(scope="module")
def rouge():
    return Rouge()


@pytest.mark.parametrize("reference, prediction", PAIRS)
def test_equals_rouge_score_default_to_the_last_digit(rouge, reference, prediction):
    expected = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True).score(reference, prediction)
    lsum = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True)
    expected.update(lsum.score(sentence_lines(reference), sentence_lines(prediction)))
    ours = rouge.score(reference, prediction)
    for rouge_type in ROUGE_TYPES:
        assert tuple(ours[rouge_type]) == tuple(100 * v for v in expected[rouge_type])


# Expected values of rouge-score's own unit tests (rouge_scorer_test.py), which are hand
# computations following ROUGE-1.5.5; there they use the default tokenizer, no stemming.
@pytest.mark.parametrize("rouge_type, target, prediction, p, r, f", [
    ("rouge1", "testing one two", "testing", 1, 1 / 3, 1 / 2),
    ("rouge2", "testing one two", "testing one", 1, 1 / 2, 2 / 3),
    ("rougeL", "testing one two", "testing one", 1, 2 / 3, 4 / 5),
    ("rougeL", "testing one two", "testing two", 1, 2 / 3, 4 / 5),
    ("rougeLsum", "w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5", 0.4, 0.8, 0.5333),
    ("rougeLsum", "w1 w2 w3 w4 w5", "", 0, 0, 0),
    ("rougeLsum", "", "w1", 0, 0, 0),
    ("rougeLsum", "w1 w2 w3 w4 w5", "/", 0, 0, 0),
])
def test_rouge_score_test_vectors_with_our_tokenizer(rouge_type, target, prediction, p, r, f):
    scorer = rouge_scorer.RougeScorer([rouge_type], tokenizer=UnicodeTokenizer())
    score = scorer.score(target, prediction)[rouge_type]
    assert score.precision == pytest.approx(p, abs=1e-4)
    assert score.recall == pytest.approx(r, abs=1e-4)
    assert score.fmeasure == pytest.approx(f, abs=1e-4)


def test_rougelsum_gets_one_sentence_per_line(rouge):
    # rouge-score's sentence-splitting test: sentences swapped score 1.0 only when split.
    scores = rouge.score("First sentence. Second Sentence.", "Second sentence. First Sentence.")
    assert scores["rougeLsum"].fmeasure == pytest.approx(100)
    assert scores["rougeL"].fmeasure == pytest.approx(50)


@pytest.mark.parametrize("prediction", ["", None, "   ", "!!! ... ---", "。，！"])
def test_empty_and_punctuation_only_predictions_score_zero(rouge, prediction):
    scores = rouge.score("The council approved the bridge.", prediction)
    assert all(s == (0, 0, 0) for s in scores.values())


def test_punctuation_only_reference_scores_zero(rouge):
    assert all(s == (0, 0, 0) for s in rouge.score("...", "The council approved the bridge.").values())


def test_chinese_pairs_get_sensible_nonzero_scores(rouge):
    reference = "可穿戴技术十大设计原则"
    prediction = "本文总结了十个可穿戴产品的设计原则"
    # rouge-score's default tokenizer drops every non-ASCII character: the trap this avoids.
    assert rouge_scorer.RougeScorer(["rouge1"]).score(reference, prediction)["rouge1"].fmeasure == 0
    scores = rouge.score(reference, prediction)
    # Characters in common: 可 穿 戴 十 设 计 原 则 (8 of 11 reference, 8 of 17 prediction).
    assert scores["rouge1"].recall == pytest.approx(100 * 8 / 11)
    assert scores["rouge1"].precision == pytest.approx(100 * 8 / 17)
    assert 0 < scores["rouge2"].fmeasure < scores["rouge1"].fmeasure
    assert rouge.score(reference, reference)["rougeLsum"].fmeasure == pytest.approx(100)
    assert rouge.score(reference, "今天天气很好")["rouge1"].fmeasure == 0


def test_reference_comes_first(rouge):
    scores = rouge.score("testing one two", "testing")
    assert scores["rouge1"].precision == 100 and scores["rouge1"].recall == pytest.approx(100 / 3)

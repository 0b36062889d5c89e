"""The Unicode tokenizer: rouge-score's own tokens on ASCII, real words elsewhere."""

import json
from pathlib import Path

import pytest
from rouge_score import rouge_scorer, tokenize
from nltk.stem import porter

from summarizer.evaluation.tokens import UnicodeTokenizer, words

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

ASCII_TEXTS = [
    "The quick brown fox jumps over the lazy dog",
    "Dr. Lee said the plan would cost 4.5 million crowns in 2019-2020; residents' hopes were running high!",
    "snake_case, CamelCase and ALL-CAPS words: don't, won't -- e-mail @home #1 $1,000.50 (approx.)",
    "Generously, the organizations' organizers organized organic organisms' reorganization.",
    "   leading and trailing spaces\nand\tnew lines\n\n",
    "!!! ... ??? ---",
    "",
]


@pytest.mark.parametrize("text", ASCII_TEXTS)
@pytest.mark.parametrize("stem", [False, True])
def test_ascii_tokens_equal_rouge_score_default_tokenizer(text, stem):
    expected = tokenize.tokenize(text, porter.PorterStemmer() if stem else None)
    assert UnicodeTokenizer(use_stemmer=stem).tokenize(text) == expected


def test_chinese_and_japanese_are_single_characters_and_latin_words_stay_whole():
    assert words("北京欢迎你，iPhone 2007年！") == ["北", "京", "欢", "迎", "你", "iphone", "2007", "年"]
    assert words("カタカナーです々") == ["カ", "タ", "カ", "ナ", "ー", "で", "す", "々"]


def test_other_scripts_keep_their_words():
    assert words("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # vowel signs are combining marks, not separators
    assert words("Café naïve Zürich") == ["café", "naïve", "zürich"]
    assert words("한국어 텍스트") == ["한국어", "텍스트"]  # Hangul is written with spaces: words stay whole
    assert words("ＡＢＣ１２３") == ["abc123"]  # full-width forms are NFKC-normalized


def test_stemmer_only_touches_ascii_tokens_longer_than_three():
    tok = UnicodeTokenizer(use_stemmer=True)
    assert tok.tokenize("running runs ran cats") == ["run", "run", "ran", "cat"]
    assert tok.tokenize("naïvetés running") == ["naïvetés", "run"]


def _ascii_pairs(limit=12):
    path = DATA / "cnndm.dev.jsonl"
    if not path.is_file():
        pytest.skip("../shared/data is not there")
    pairs = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            lead = " ".join(row["article"].split()[:60])
            if lead.isascii() and row["summary"].isascii():
                pairs.append((row["summary"], lead))
            if len(pairs) == limit:
                break
    return pairs


def test_scores_equal_rouge_score_on_real_english_pairs():
    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    theirs = rouge_scorer.RougeScorer(types, use_stemmer=True)
    ours = rouge_scorer.RougeScorer(types, tokenizer=UnicodeTokenizer(use_stemmer=True))
    for reference, prediction in _ascii_pairs():
        assert ours.score(reference, prediction) == theirs.score(reference, prediction)

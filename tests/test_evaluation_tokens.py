"""The tokenizers: rouge-score's own, token for token; the Unicode one (rouge-score's tokens on
ASCII, real words elsewhere); and the choice between them from the references' letters."""

import json
from pathlib import Path

import pytest
from rouge_score import rouge_scorer, tokenize
from nltk.stem import porter

from summarizer.errors import ConfigError
from summarizer.evaluation.tokens import RougeScoreTokenizer, UnicodeTokenizer, choose_tokenization, words

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


# rouge-score lowercases with str.lower() and keeps [a-z0-9] runs: accents, mojibake, ligatures,
# dotted capitals and CJK all split or vanish exactly as there.
NON_ASCII_TEXTS = [
    "Café naïve Zürich: Özil's résumé",
    "Prices rose to Â£1.2m (â‚¬1.4m) – the â€œbestâ€\x9d yet",
    "İstanbul ﬁnance K-pop ½ ² Ⅻ",
    "北京 2008 Olympics 東京",
    "Les élèves ont été très émus",
]


@pytest.mark.parametrize("text", ASCII_TEXTS + NON_ASCII_TEXTS)
@pytest.mark.parametrize("stem", [False, True])
def test_rouge_score_tokenizer_equals_rouge_score_on_any_text(text, stem):
    expected = tokenize.tokenize(text, porter.PorterStemmer() if stem else None)
    assert RougeScoreTokenizer(use_stemmer=stem).tokenize(text) == expected


@pytest.mark.parametrize("references, name", [
    (["The council approved a bridge costing 4.5 million crowns."], "rouge-score"),
    # English with a few accents: 3 of the 320 letters (XSum's references: 0.005%).
    (["Mesut Özil joined the café owners in Zürich on Monday after the talks ended in a deal."]
     + ["The council approved a new bridge over the river; work starts in May and ends next year."] * 4,
     "rouge-score"),
    (["Les élèves ont été très émus par la fête de l'école."], "unicode"),
    (["Правительство одобрило новый мост."], "unicode"),
    (["हिन्दी भाषा"], "unicode"),
    (["可穿戴技术十大设计原则", "iPhone 用户"], "cjk"),
    (["カタカナーです"], "cjk"),
    ([""], "rouge-score"),
])
def test_tokenization_is_chosen_from_the_references_letters(references, name):
    chosen = choose_tokenization(references)
    assert chosen.name == name and chosen.reason


def test_tokenization_can_be_forced_and_a_bad_name_lists_the_choices():
    assert choose_tokenization(["北京"], "rouge-score").name == "rouge-score"
    with pytest.raises(ConfigError, match="'wordpiece' is not one of auto, rouge-score, unicode, cjk"):
        choose_tokenization(["x"], "wordpiece")


def _xsum_rows():
    path = DATA / "xsum.dev.jsonl"
    if not path.is_file():
        pytest.skip("../shared/data is not there")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_report_rouge_equals_rouge_score_on_xsum_with_accents_and_mojibake(tmp_path):
    """The project's ROUGE on real XSum dev text equals rouge-score's default, to the last digit,
    on the documents where the Unicode tokenizer used to differ (accented names, mojibake)."""
    from rouge_score.rouge_scorer import RougeScorer

    from summarizer.evaluation.report import EvalConfig, evaluate
    from summarizer.evaluation.rouge import sentence_lines

    rows = _xsum_rows()
    # A lead of 40 words as the prediction; every pair where either side has non-ASCII letters.
    pairs = [(row["id"], row["summary"], " ".join(row["article"].split()[:40])) for row in rows]
    accented = [p for p in pairs if not (p[1].isascii() and p[2].isascii())]
    assert len(accented) >= 10
    path = tmp_path / "lead" / "summaries.jsonl"
    path.parent.mkdir()
    # The whole dev set's references choose the tokenization, as a report of the dataset would.
    path.write_text("".join(json.dumps({"id": key, "reference": reference, "summary": prediction},
                                       ensure_ascii=False) + "\n" for key, reference, prediction in pairs),
                    encoding="utf-8")
    report = evaluate([path], config=EvalConfig(resamples=10))
    assert report.tokenization.name == "rouge-score"
    ours = {d.id: d.rouge for d in report.systems[0].documents}
    theirs = RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    differ = []
    for key, reference, prediction in accented:
        expected = dict(theirs.score(reference, prediction))
        expected["rougeLsum"] = theirs.score(sentence_lines(reference), sentence_lines(prediction))["rougeLsum"]
        for rouge_type in ("rouge1", "rouge2", "rougeLsum"):
            if tuple(ours[key][rouge_type]) != tuple(100 * v for v in expected[rouge_type]):
                differ.append((key, rouge_type))
    assert not differ


def test_lcsts_is_scored_by_character():
    path = DATA / "lcsts.dev.jsonl"
    if not path.is_file():
        pytest.skip("../shared/data is not there")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:50]]
    assert choose_tokenization(row["summary"] for row in rows).name == "cjk"

"""summarizer.tfidf is scikit-learn's TfidfVectorizer (as the extract stage configured it),
to the last bit and in the same sparse layout, on real articles of several languages."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from summarizer.chunk import chunk_record
from summarizer.config import load_pipeline
from summarizer.extract import _terms, tfidf_vectors
from summarizer.records import Record
from summarizer.stages import Context
from summarizer.tfidf import tfidf_matrix

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "articles"


def sklearn_tfidf(sentences):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(tokenizer=_terms, token_pattern=None, lowercase=False, sublinear_tf=True,
                           stop_words=None).fit_transform(sentences)


def documents():
    """Each document's sentences, as the default pipeline's chunk stage splits them."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.txt"))]
    for name, n in (("cnndm", 40), ("xsum", 15), ("lcsts", 10), ("dialogsum", 10), ("scitldr", 10)):
        path = DATA / f"{name}.dev.jsonl"
        if path.is_file():
            with path.open(encoding="utf-8") as handle:
                for line in itertools.islice(handle, n):
                    row = json.loads(line)
                    texts.append(row.get("article") or row.get("text") or row.get("dialogue") or "")
    ctx = Context(load_pipeline("default"))
    for text in texts:
        record = Record(id="d", text=text)
        chunk_record(record, ctx)
        yield [record.sentence_text(i) for i in range(len(record.sentences or []))]


def assert_same_matrix(ours, theirs):
    assert type(ours) is type(theirs) and ours.shape == theirs.shape
    for field in ("data", "indices", "indptr"):
        a, b = getattr(ours, field), getattr(theirs, field)
        assert a.dtype == b.dtype and np.array_equal(a, b), field  # bitwise for floats: no tolerance


def test_the_same_matrix_as_scikit_learn_on_real_articles():
    count = 0
    for sentences in documents():
        if len(sentences) < 2:
            continue
        ours, theirs = tfidf_matrix(sentences, _terms), sklearn_tfidf(sentences)
        assert_same_matrix(ours, theirs)
        # and what the extract stage computes from it
        assert np.array_equal((ours @ ours.T).toarray(), (theirs @ theirs.T).toarray())
        count += 1
    assert count >= 20


@pytest.mark.parametrize("sentences", [
    ["The cat sat.", "The cat sat.", "A dog!"],          # repeated sentences, repeated terms
    ["Ünïcode wörds and CJK 北京大学", "北京 today", "..."],  # a sentence without any word
    ["one", "two", "three"],                              # nothing shared
    ["a a a a b", "b b c", "c a"],                         # counts above 1
])
def test_small_cases_equal_scikit_learn(sentences):
    assert_same_matrix(tfidf_matrix(sentences, _terms), sklearn_tfidf(sentences))


def test_no_word_at_all_is_the_empty_vocabulary():
    with pytest.raises(ValueError):
        tfidf_matrix(["...", "!"], _terms)
    assert tfidf_vectors(["...", "!"]).shape == (2, 1)


def test_the_extract_stage_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = ("import sys; from summarizer.extract import tfidf_vectors; tfidf_vectors(['A cat.', 'A dog.']); "
            "print('sklearn' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"

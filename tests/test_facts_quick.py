"""The filter's support measure without its slow imports: scikit-learn's stop words read
without importing scikit-learn, the source's stems computed only when a word is not the
source's own; the same scores as before, exactly."""

import itertools
import json
import subprocess
import sys
from pathlib import Path

from summarizer import facts
from summarizer.stopwords import english_stop_words

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def test_the_stop_words_are_scikit_learns():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert english_stop_words() == ENGLISH_STOP_WORDS and len(ENGLISH_STOP_WORDS) > 300


def test_reading_the_stop_words_imports_nothing_of_scikit_learn():
    code = "import sys; from summarizer.stopwords import english_stop_words; english_stop_words(); " \
           "print('sklearn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def eager_support(sentence, source):
    """The measure as it was: every word stemmed."""
    stems = {facts._stem(w) for w in facts._content_words(source)}
    words = facts._content_words(sentence)
    return sum(facts._stem(w) in stems for w in words) / len(words) if words else 1.0


def test_support_is_what_it_was_on_real_articles_and_rewordings():
    rows = []
    for name in ("cnndm", "xsum"):
        path = DATA / f"{name}.dev.jsonl"
        if path.is_file():
            with path.open(encoding="utf-8") as handle:
                rows += [json.loads(line) for line in itertools.islice(handle, 15)]
    rows.append({"article": "The council approved the bridges. Residents were voting.",
                 "summary": "Councils approve a bridge; the resident votes. Nothing here matches at all."})
    checked = 0
    for row in rows:
        source = row["article"]
        index = facts.source_stems_of(source)
        # the reference (reworded) and the article's own sentences (copied), and a mix
        for sentence in [row["summary"], *source.split(". ")[:5], row["summary"][:40] + " " + source[:80]]:
            assert facts.support(sentence, index) == eager_support(sentence, source)
            checked += 1
        assert set(index) == {facts._stem(w) for w in facts._content_words(source)}
    assert checked > 50


def test_a_copied_sentence_needs_no_stemmer():
    code = (
        "import sys; from summarizer import facts; "
        "stems = facts.source_stems_of('The new bridge will open in May, the council said.'); "
        "print(facts.support('The council said the bridge will open.', stems), 'nltk' in sys.modules); "
        "print(facts.support('The bridges opened.', stems), 'nltk' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "1.0 False"  # every word is the source's own
    assert out[1] == "1.0 True"  # "bridges", "opened": stemmed


def test_the_stems_are_a_set_a_stage_can_add_to():
    stems = facts.source_stems_of("She said the bridges opened.")
    assert "said" in stems.words and ("said" in stems) == (facts._stem("said") == "said")
    stems.add("say")  # what the rewrite stage does
    assert "say" in stems and set(stems) == {facts._stem(w) for w in ("said", "bridges", "opened")} | {"say"}
    assert facts.support("She says the bridge opens.", stems) == 1.0
    stems.discard(facts._stem("bridges"))
    assert facts.support("The bridges.", stems) == 0.0  # not taken for the source's own word any more

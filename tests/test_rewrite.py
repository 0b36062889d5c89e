import pytest

from summarizer.pipeline import Pipeline
from summarizer.records import Record
from summarizer.stages import STAGES

ARTICLE = (
    "(CNN)The town of Elmsford voted on Monday to build a new bridge over the river, after years of "
    "complaints from residents about the old one. "
    "Dr. Ana Lee, the city engineer, said the work would cost 4.5 million crowns and take two years. "
    "Residents had asked for a crossing since 2019. "
    "Construction starts in May."
)


def stand_in(function):
    """``function`` in place of the real generate stage, with the real stage's settings."""
    real = STAGES.get("generate")
    function.settings, function.reads, function.uses_model = real.settings, real.reads, real.uses_model
    return function


def scripted(rewrites: dict[str, str], fail: str | None = None):
    """A stand-in for the generate stage: the 'model' answers each sentence's prompt from a
    script (what a real model might write, including its mistakes)."""

    def generate(records, ctx):
        for record in records:
            if fail and fail in record.text:
                record.error = "generate: RuntimeError: out of memory"
            else:
                record.generation = next((out for key, out in rewrites.items() if key in record.text), record.text)
            yield record

    return stand_in(generate)


def run(monkeypatch, rewrites, fail=None, *overrides):
    monkeypatch.setitem(STAGES._items, "generate", scripted(rewrites, fail))
    pipe = Pipeline.load("compress", overrides=["extract.budget_tokens=0", "extract.max_sentences=3",
                                               "extract.position_weight=1.0", *overrides])
    return next(pipe.run([Record(id="a", text=ARTICLE)]))


def test_each_sentence_is_rewritten_and_the_rewrites_are_joined(monkeypatch):
    record = run(monkeypatch, {
        "Elmsford voted": " Elmsford votes to build a new bridge.",
        "Ana Lee": " The work will cost 4.5 million crowns.",
        "since 2019": " Residents asked for it since 2019.\nSentence: more",
    })
    assert record.error is None
    assert record.summary == ("Elmsford votes to build a new bridge. The work will cost 4.5 million crowns. "
                              "Residents asked for it since 2019.")
    assert [r["kept"] for r in record.meta["rewrites"]] == ["rewrite"] * 3
    trace = next(t for t in record.trace if t["stage"] == "rewrite")
    assert trace["sentences"] == 3 and trace["rewritten"] == 3
    assert trace["words_after"] < trace["words_before"]


def test_the_dateline_is_gone_from_the_sentence_the_model_reads(monkeypatch):
    record = run(monkeypatch, {})  # the scripted model copies its sentence: nothing shorter
    first = record.meta["rewrites"][0]
    assert first["sentence"].startswith("The town of Elmsford") and "(CNN)" not in record.summary


@pytest.mark.parametrize("bad, why", [
    (" Elmsford votes to build a 9-mile bridge.", "unsupported_facts"),  # an invented number
    (" Elmsford votes to build a new bridge and", "unfinished"),  # ran out of tokens
    ("", "empty rewrite"),
    (" The town of Elmsford voted on Monday to build a new bridge over the river, after years and years of "
     "complaints from residents about the old one.", "not shorter"),
    (" The mayor says the town needs a ferry instead.", "low_support"),  # a claim the article lacks
    # words of the article, but not of this sentence: shortening must not add
    (" Elmsford votes for a bridge that will cost 4.5 million crowns.", "content words are in its sentence"),
])
def test_a_rewrite_that_fails_a_check_gives_way_to_its_sentence(monkeypatch, bad, why):
    record = run(monkeypatch, {"Elmsford voted": bad, "Ana Lee": " Dr. Lee says the work takes two years."})
    first, second = record.meta["rewrites"][:2]
    assert first["kept"] == "sentence" and why in first["why"]
    assert record.summary.startswith(first["sentence"] + " Dr. Lee says the work takes two years.")
    assert second["kept"] == "rewrite"
    assert "9-mile" not in record.summary and "@" not in record.summary


def test_personal_data_the_article_lacks_is_redacted_in_a_kept_rewrite(monkeypatch):
    record = run(monkeypatch, {"Elmsford voted": " Elmsford votes to build a new bridge over the river, ana.lee@elmsford.example."})
    first = record.meta["rewrites"][0]
    assert first["kept"] == "rewrite" and "redact_pii" in first["why"]
    assert "@" not in record.summary and "[email]" in record.summary


def test_a_failed_generation_keeps_the_sentence_and_the_others_are_rewritten(monkeypatch):
    record = run(monkeypatch, {"Ana Lee": " The work will cost 4.5 million crowns."}, "Ana Lee")
    assert record.error is None
    rewrites = record.meta["rewrites"]
    assert rewrites[1]["kept"] == "sentence" and "out of memory" in rewrites[1]["why"]
    assert "Dr. Ana Lee, the city engineer" in record.summary


def test_a_rewrite_repeating_another_is_removed_by_the_final_filter(monkeypatch):
    record = run(monkeypatch, {"Elmsford voted": " Elmsford will build a new bridge.",
                               "Ana Lee": " Elmsford will build a new bridge, Lee said."})
    assert record.summary.count("Elmsford will build a new bridge") == 1


def test_a_record_without_an_extract_is_an_error_not_a_crash(tiny_model):
    pipe = Pipeline.load("compress", model=tiny_model)
    out = list(STAGES.get("rewrite")(iter([Record(id="x", text="One. Two.")]), pipe.ctx))
    assert out[0].error.startswith("rewrite: the record has no extract")


def test_with_a_real_model_every_sentence_gets_a_prompt_and_an_outcome(tiny_model):
    pipe = Pipeline.load("compress", model=tiny_model, overrides=["generate.max_new_tokens=6"])
    records = [Record(id=str(i), text=ARTICLE) for i in range(3)] + [Record(id="short", text="Rain fell. It stopped.")]
    done = list(pipe.run(records))
    assert [r.id for r in done] == ["0", "1", "2", "short"]
    for record in done:
        assert record.error is None and record.summary
        rewrites = record.meta["rewrites"]
        assert len(rewrites) == len(record.extract)
        # the tiny model writes noise: whatever it wrote, what is kept is a rewrite that passed
        # the checks or the sentence itself
        for outcome in rewrites:
            assert outcome["generation"] is not None
            assert outcome["kept"] == "rewrite" or outcome["text"] == outcome["sentence"]


def test_a_chat_model_gets_its_chat_template_per_sentence(tiny_chat_model, monkeypatch):
    seen = []

    def generate(records, ctx):
        for record in records:
            seen.append(record.prompt)
            record.generation = "Short."
            yield record

    monkeypatch.setitem(STAGES._items, "generate", stand_in(generate))
    pipe = Pipeline.load("compress", model=tiny_chat_model)
    next(pipe.run([Record(id="a", text=ARTICLE)]))
    assert seen and all(p.startswith("<bos><|user|>\nRewrite this sentence") for p in seen)
    assert all(p.endswith("<|end|>\n<|assistant|>\n") for p in seen)
    # the worked examples are earlier turns
    assert all(p.count("<|assistant|>") == 6 for p in seen)


def test_the_trace_holds_each_sentences_generation_and_the_stages_outcome(tiny_model):
    pipe = Pipeline.load("compress", model=tiny_model, overrides=["generate.max_new_tokens=4"])
    record = next(pipe.run([Record(id="a", text=ARTICLE)]))
    generated = [t for t in record.trace if t["stage"] == "generate"]
    assert [t["sentence"] for t in generated] == list(range(1, len(record.extract) + 1))
    assert all(0 < t["new_tokens"] <= 4 and t["prompt_tokens"] > 0 for t in generated)
    rewrite = next(t for t in record.trace if t["stage"] == "rewrite")
    assert rewrite["sentences"] == len(record.extract) and rewrite["format"] == "base"

import pytest

from summarizer.config import load_pipeline
from summarizer.filter import cut_unfinished, dedupe, filter_stage, strip_echo
from summarizer.records import Record
from summarizer.segment import segment
from summarizer.stages import Context

ARTICLE = "The council approved a bridge on Monday. It will cost 4.5 million crowns. Work starts in May."


@pytest.fixture
def ctx():
    return Context(load_pipeline("default"))


def record_with(generation):
    spans = segment(ARTICLE)
    assert len(spans) == 3
    return Record(id="x", text=ARTICLE, sentences=spans, sentence_tokens=[8, 7, 5], extract=[0, 1, 2],
                  generation=generation)


def test_strip_echo_cuts_a_new_article_and_template_words(ctx):
    text, note = strip_echo(" TL;DR: The council approved a bridge.\n\nArticle: Something else entirely.", None, ctx, None)
    assert text == "The council approved a bridge."
    assert note
    assert strip_echo("Article: a whole new story.", None, ctx, None)[0] == ""
    assert strip_echo("Clean summary.", None, ctx, None) == ("Clean summary.", None)


def test_cut_unfinished(ctx):
    assert cut_unfinished("The bridge is approved. Work will start in", None, ctx, None)[0] == "The bridge is approved."
    assert cut_unfinished('He said "yes." It ends.', None, ctx, None) == ('He said "yes." It ends.', None)
    assert cut_unfinished("never finished", None, ctx, None)[0] == ""


def test_dedupe_removes_loops(ctx):
    text = "It is a microcosm. It is a microcosm. It is a microcosm! Something new."
    assert dedupe(text, None, ctx, None)[0] == "It is a microcosm. Something new."
    near = ("It is a major water source for the town, which lies in the county. "
            "The river is a major water source for the town, which lies in the county. A different point.")
    assert dedupe(near, None, ctx, None)[0] == (
        "It is a major water source for the town, which lies in the county. A different point.")
    distinct = "The council approved the bridge. The council rejected the tunnel plan."
    assert dedupe(distinct, None, ctx, None) == (distinct, None)


def run_filter(record, pipeline="default"):
    ctx = Context(load_pipeline(pipeline, ["filter.fallback_sentences=2"]))
    return next(filter_stage([record], ctx))


def test_filter_stage_keeps_a_good_generation_and_records_decisions():
    record = run_filter(record_with(" The council approved a bridge. It will cost 4.5 million crowns. The"))
    assert record.summary == "The council approved a bridge. It will cost 4.5 million crowns."
    assert not record.fallback
    decisions = record.trace[-1]["decisions"]
    assert [d["filter"] for d in decisions] == ["strip_echo", "cut_unfinished"]


@pytest.mark.parametrize("generation", ["", "   ", "\n\nArticle: next", "and then the", "TL;DR:"])
def test_nothing_left_falls_back_to_the_extract(generation):
    record = run_filter(record_with(generation))
    assert record.fallback is True
    assert record.summary == "The council approved a bridge on Monday. It will cost 4.5 million crowns."
    assert record.trace[-1]["decisions"][-1]["filter"] == "fallback"


def test_extractive_pipeline_uses_the_extract():
    record = record_with(None)
    record = run_filter(record, "lead3")
    assert record.summary == ARTICLE and not record.fallback


def record_for(generation, text=ARTICLE):
    spans = segment(text)
    return Record(id="x", text=text, sentences=spans, sentence_tokens=[5] * len(spans),
                  extract=list(range(len(spans))), generation=generation)


def test_unsupported_facts_drops_invented_numbers_and_places():
    from summarizer.filter import unsupported_facts

    ctx = Context(load_pipeline("default"))
    record = record_for(None)
    text = ("The council approved a bridge. It will cost 7.2 million crowns. "
            "The bridge is in Kent, England. Work starts in May.")
    kept, note = unsupported_facts(text, record, ctx, None)
    assert kept == "The council approved a bridge. Work starts in May."
    assert "7.2" in note and "Kent" in note
    same = "It will cost 4.5 million crowns. The council approved it."
    assert unsupported_facts(same, record, ctx, None) == (same, None)


def test_unsupported_facts_drops_a_name_put_together_from_the_sources_words():
    from summarizer.evaluation.faithfulness import measure
    from summarizer.filter import unsupported_facts

    ctx = Context(load_pipeline("default"))
    source = ("#Person1#: I read it in the York Herald. #Person2#: Which university did you apply to? "
              "#Person1#: Leeds. Mr. Joss Hale wrote my letter.")
    record = record_for(None, source)
    text = "Person1 applied to York University. Person1 read the York Herald. Mr. Joss Hale wrote a letter."
    kept, note = unsupported_facts(text, record, ctx, None)
    # every word of "York University" is in the dialogue, in some case; the name is not
    assert kept == "Person1 read the York Herald. Mr. Joss Hale wrote a letter." and "York University" in note
    assert measure(kept, source)["entities_share"] == 1.0  # what the report counts, it passes


def test_unsupported_facts_drops_a_put_together_name_that_starts_a_sentence():
    # A sentence's first word is capitalised anyway, so the name check used to start after it:
    # "Alan Gill took command" passed on a source with "Alan Richmond" and "Gill", but no Alan Gill.
    from summarizer.filter import unsupported_facts

    ctx = Context(load_pipeline("default"))
    source = ("Lt Col Alan Richmond handed over command of the unit on Friday. His wife, Major Gill, "
              "takes charge of 400 soldiers. The Premier League match was moved. Livingston signed a "
              "striker. Gill thanked Alan Richmond for his work. He starred in the film The Fight; "
              "the Democrats watched.")
    record = record_for(None, source)
    text = ("Alan Gill took command of the unit. Alan Richmond handed over command. "
            "The Premier League match was moved. Former Livingston striker signs. "
            "The Democrats watched. Gill takes charge of 400 soldiers.")
    kept, note = unsupported_facts(text, record, ctx, None)
    assert kept == ("Alan Richmond handed over command. The Premier League match was moved. "
                    "Former Livingston striker signs. The Democrats watched. Gill takes charge of 400 soldiers.")
    assert "Alan Gill" in note


def test_redact_pii_keeps_what_the_source_has_unless_asked():
    from summarizer.filter import RedactOptions, redact_pii

    source = "Contact the council at info@elmsford.gov or 0161 496 0000. The bridge opens in May."
    record = record_for(None, source)
    ctx = Context(load_pipeline("default"))
    text = "Write to info@elmsford.gov or mayor.private@gmail.com, or call +44 7700 900123."
    cleaned, note = redact_pii(text, record, ctx, RedactOptions())
    assert cleaned == "Write to info@elmsford.gov or [email], or call [phone]."
    assert note == "redacted: email, phone"
    assert redact_pii("Mail info@elmsford.gov now.", record, ctx, RedactOptions(all=True))[0] == "Mail [email] now."


def test_max_length_keeps_whole_sentences():
    from summarizer.filter import MaxLengthOptions, max_length

    ctx = Context(load_pipeline("default"))
    text = "One two three four five. Six seven eight nine. Ten eleven."
    assert max_length(text, None, ctx, MaxLengthOptions(max_words=8))[0] == "One two three four five."
    assert max_length(text, None, ctx, MaxLengthOptions(max_words=2))[0] == "One two three four five."


def test_a_filters_parameters_stand_where_it_is_listed():
    ctx = Context(load_pipeline("extractive", ['filter.steps=["dedupe", {name = "max_length", max_words = 8}]']))
    record = next(filter_stage([record_for("One two three four five. Six seven eight nine. Ten eleven.")], ctx))
    assert record.summary == "One two three four five."
    assert [d["filter"] for d in record.trace[-1]["decisions"]] == ["max_length"]


@pytest.mark.parametrize("step, expected", [
    ('{name = "max_length", max_words = -1}', "max_length.max_words = -1 is out of range: it must be >= 0"),
    ('{name = "max_length", words = 3}', "unknown setting max_length.words; valid settings of [max_length]: max_words"),
    ('{name = "dedupe", threshold = 3}', "gives parameters (threshold) to the filter dedupe, which has none"),
    ('{name = "dedup"}', "is not a filter; valid filters: cut_unfinished, dedupe"),
    ('{max_words = 3}', 'give its name, or a table {name = "...", <parameter> = ...}'),
])
def test_a_bad_filter_step_is_refused_at_load_naming_it(step, expected):
    from summarizer.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_pipeline("extractive", [f'filter.steps=["dedupe", {step}]'])
    assert "filter.steps" in str(caught.value) and "entry 2" in str(caught.value)
    assert expected in str(caught.value)


def test_adversarial_generations_end_in_a_clean_summary():
    """Echoed prompt, endless repetition, invented numbers, a leaked e-mail address."""
    steps = '["strip_echo", "cut_unfinished", "dedupe", "unsupported_facts", "redact_pii"]'
    ctx = Context(load_pipeline("default", [f"filter.steps={steps}"]))
    cases = {
        ARTICLE + "\n\nTL;DR: The council approved a bridge.": None,
        "The council approved a bridge. " * 20 + "The council": "The council approved a bridge.",
        "It will cost 99 million crowns. Work starts in May.": "Work starts in May.",
        "Work starts in May, the council said. Questions go to joe.bloggs@mail.com today.":
            "Work starts in May, the council said. Questions go to [email] today.",
    }
    for generation, expected in cases.items():
        record = next(filter_stage([record_for(generation)], ctx))
        assert record.summary and record.error is None
        if expected:
            assert record.summary == expected
        assert "TL;DR" not in record.summary


def test_low_support_drops_generic_filler():
    from summarizer.filter import LowSupportOptions, low_support

    ctx = Context(load_pipeline("default"))
    record = record_for(None)
    text = "The council approved a bridge. It is a popular destination for tourists and locals alike."
    kept, note = low_support(text, record, ctx, LowSupportOptions())
    assert kept == "The council approved a bridge."
    assert "mostly not in the source" in note
    assert low_support(text, record, ctx, LowSupportOptions(min_support=0.0)) == (text, None)


def test_strip_echo_turns_list_and_headline_lines_into_sentences(ctx):
    text, note = strip_echo("Council approves bridge\n- Work starts in May\n2. It costs 4.5 million crowns.\nAnd the",
                            None, ctx, None)
    assert text == "Council approves bridge. Work starts in May. It costs 4.5 million crowns. And the"
    assert note
    # the unfinished last line is left for cut_unfinished
    assert cut_unfinished(text, None, ctx, None)[0] == "Council approves bridge. Work starts in May. It costs 4.5 million crowns."
    assert strip_echo("The 12-year veteran spoke.\n", None, ctx, None)[0] == "The 12-year veteran spoke."


def test_strip_echo_keeps_a_first_word_that_starts_with_a_marker_character(ctx):
    # DialogSum's speakers are #Person1#; a temperature may start with a minus sign
    assert strip_echo("#Person1# greets #Person2#.", None, ctx, None) == ("#Person1# greets #Person2#.", None)
    assert strip_echo("-5 degrees are expected tonight.", None, ctx, None)[0] == "-5 degrees are expected tonight."
    # list and heading markers followed by a space still go
    assert strip_echo("- The council approved a bridge.", None, ctx, None)[0] == "The council approved a bridge."
    assert strip_echo("## Summary: The bridge opens.", None, ctx, None)[0] == "The bridge opens."


def test_max_length_cut_is_a_hard_cap_inside_a_long_first_sentence():
    from summarizer.filter import MaxLengthOptions, max_length

    ctx = Context(load_pipeline("extractive"))
    text = "One two three four five, six seven. Eight nine."
    cut, note = max_length(text, None, ctx, MaxLengthOptions(max_words=5, cut=True))
    assert cut == "One two three four five…" and "inside the first sentence" in note
    # Whole sentences that fit are kept as they are, cut or not.
    assert max_length(text, None, ctx, MaxLengthOptions(max_words=8, cut=True))[0] == "One two three four five, six seven."

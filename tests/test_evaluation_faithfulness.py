import pytest

from summarizer.evaluation.faithfulness import entity_spans, measure, model_summary, numbers, record_extract

SOURCE = ("The council of Elmsford approved a new bridge on Monday. Dr. Ana Lee said the work would cost "
          "4.5 million crowns and take two years. Residents had asked for a crossing since 2019. "
          "The mayor, Mr. Joss Hale, spent 1,200 crowns.")


def test_numbers_are_normalized_and_checked_against_the_source():
    assert numbers("1,000 and 4,5 and 2,345.67 and ３ 76%") == ["1000", "4.5", "2345.67", "3", "76"]
    m = measure("It will cost 4.5 million crowns and open in 2031; Hale spent 1200.", SOURCE)
    assert (m["numbers"], m["numbers_found"], m["numbers_share"]) == (3, 2, pytest.approx(2 / 3))


def test_entity_spans_skip_sentence_starts_and_end_at_punctuation():
    spans = entity_spans('The mayor, Mr. Joss Hale, met Barack Obama\'s team in New York and Paris, London. '
                         '"The" rest went to the Prosecutor General\'s Office. I agree.')
    assert spans == ["Mr Joss Hale", "Barack Obama", "New York", "Paris", "London", "Prosecutor General", "Office"]


def test_entities_found_in_source_and_invented_ones_not():
    m = measure("Work begins soon, said Dr. Ana Lee and Mr. Joss Hale of Kessel County.", SOURCE)
    assert (m["entities"], m["entities_found"]) == (3, 2)  # Dr Ana Lee, Mr Joss Hale; not Kessel County


def test_novel_ngrams_lengths_and_compression():
    copied = measure("The council of Elmsford approved a new bridge on Monday.", SOURCE)
    assert copied["novel_1"] == copied["novel_2"] == copied["novel_3"] == 0
    assert copied["summary_words"] == 10
    assert copied["compression"] == pytest.approx(copied["source_words"] / 10)
    invented = measure("Bridge plans collapse.", SOURCE)
    assert invented["novel_1"] == pytest.approx(2 / 3)  # "bridge" occurs in the source
    assert invented["novel_2"] == invented["novel_3"] == 1


def test_nothing_to_count_is_none_not_zero():
    empty = measure("", SOURCE)
    assert empty["summary_words"] == 0 and empty["compression"] is None
    assert empty["numbers_share"] is None and empty["entities_share"] is None and empty["novel_1"] is None
    no_source = measure("Some summary of 3 things.", None)
    assert no_source["numbers_share"] is None and no_source["source_words"] is None
    chinese = measure("可穿戴技术十大设计原则", "本文总结了十个可穿戴产品的设计原则")
    assert chinese["entities"] == 0 and chinese["entities_share"] is None
    assert chinese["summary_words"] == 11 and 0 < chinese["novel_1"] < 1


# The post-filter and this metric read numbers alike: a number the filter keeps as supported
# is found here, and one it drops as invented is missing here.
@pytest.mark.parametrize("in_summary, in_source, same", [
    ("4,500", "4500", True),
    ("4,500", "4.5", False),
    ("4,5", "4.5", True),  # a decimal comma
    ("4,5", "45", False),
    ("4.5", "4,5", True),
    ("4.5", "4,500", False),
    ("9:30", "9:30", True),
    ("9:30", "9 or 30", False),  # a time is one fact, not two numbers
    ("１２", "12", True),
])
def test_the_filter_and_the_metric_agree_on_numbers(in_summary, in_source, same):
    from summarizer.facts import unsupported

    summary = f"Ms Ray said the figure was {in_summary} on the day."
    source = f"Ms Ray said the figure was {in_source} on the day."
    assert (unsupported(summary, source) == []) is same
    m = measure(summary, source)
    assert (m["numbers_found"] == m["numbers"]) is same


# --- what the model did: copied sentences, repeats, the extract's length ---------------------

def test_verbatim_sentences_are_found_whatever_their_spacing_case_quotes_and_full_stop():
    summary = ('the council of  ELMSFORD approved a new bridge on Monday. '  # case and spacing
               '"Residents had asked for a crossing since 2019." '            # in quotes
               'Dr. Ana Lee said the work would cost 4.5 million crowns. '    # cut short: still copied
               'The bridge will open in 2031. '                               # the model's own
               'Residents had asked for a crossing since 2019!')              # "!" is no full stop
    m = measure(summary, SOURCE)
    assert (m["sentences"], m["verbatim_sentences"]) == (5, 3)
    assert m["verbatim_share"] == pytest.approx(3 / 5)
    whole = measure("The council of Elmsford approved a new bridge on Monday. Residents had asked for a "
                    "crossing since 2019", SOURCE)  # two sentences of the source, the last without its stop
    assert (whole["sentences"], whole["verbatim_sentences"], whole["verbatim_share"]) == (2, 2, 1)


def test_a_verbatim_sentence_does_not_start_or_end_inside_a_word():
    source = "Yesterday it rained. The vote passed 41 to 12."
    assert measure("Yes.", source)["verbatim_sentences"] == 0            # not the "Yes" of "Yesterday"
    assert measure("The vote passed 41 to 1.", source)["verbatim_sentences"] == 0  # not "41 to 12"
    assert measure("It rained.", source)["verbatim_sentences"] == 1
    # Chinese has no spaces between words: any part of the text is a copy of it.
    assert measure("北京欢迎你。", "我们说北京欢迎你。")["verbatim_share"] == 1


def test_repeated_sentences_are_counted_and_none_is_zero_not_missing():
    looped = measure("The bridge was approved. It costs 4.5 million crowns. the bridge  was APPROVED. "
                     "\"The bridge was approved.\" It costs 4.5 million crowns", SOURCE)
    assert (looped["sentences"], looped["repeated_sentences"]) == (5, 3)
    once = measure("The bridge was approved. It costs 4.5 million crowns.", SOURCE)
    assert once["repeated_sentences"] == 0 and once["verbatim_sentences"] == 0


def test_extract_words_and_ratio_only_with_an_extract():
    extract = "Dr. Ana Lee said the work would cost 4.5 million crowns and take two years."  # 16 words: 4, 5
    m = measure("Ana Lee said it costs 4.5 million crowns.", SOURCE, extract)
    assert (m["summary_words"], m["extract_words"]) == (9, 16)
    assert m["extract_ratio"] == pytest.approx(9 / 16)
    assert measure("Ana Lee said it costs 4.5 million crowns.", SOURCE)["extract_ratio"] is None
    assert measure("Ana Lee said so.", SOURCE)["extract_words"] is None
    assert measure("", SOURCE, extract)["extract_ratio"] is None  # an empty summary: nothing to divide
    assert measure("Words.", SOURCE, "")["extract_ratio"] is None  # an empty extract neither


def test_the_copy_measures_have_none_for_nothing_to_count():
    empty = measure("  ", SOURCE, "An extract.")
    assert empty["sentences"] is None and empty["verbatim_share"] is None and empty["repeated_sentences"] is None
    no_source = measure("A sentence. A sentence.", None)
    assert no_source["sentences"] == 2 and no_source["repeated_sentences"] == 1
    assert no_source["verbatim_sentences"] is None and no_source["verbatim_share"] is None


def test_the_extract_of_a_record_is_its_extracted_sentences_joined_by_a_space():
    from summarizer.records import Record

    record = Record(id="a", text="One here.\nTwo there.  Three now.", sentences=[[0, 9], [10, 20], [22, 32]],
                    extract=[0, 2])
    assert record_extract(record.to_dict()) == record.extract_text() == "One here. Three now."
    assert record_extract({"text": "One.", "sentences": [[0, 4]], "extract": []}) == ""
    for bad in ({"text": "One."}, {"text": "One.", "sentences": [[0, 4]], "extract": [1]},
                {"text": "One.", "sentences": [[0, 4]], "extract": [-1]},
                {"text": "One.", "sentences": [[0, 40]], "extract": [0]},
                {"text": "One.", "sentences": [["0", 4]], "extract": [0]},
                {"text": "One.", "sentences": [[0, 4]], "extract": [True]}):
        assert record_extract(bad) is None, bad


def test_model_summary_pools_and_averages_the_documents():
    rows = [measure("The council of Elmsford approved a new bridge on Monday. The bridge opens in 2031.", SOURCE,
                    "The council of Elmsford approved a new bridge on Monday. Residents had asked for a crossing."),
            measure("Residents want it. Residents want it. Work ends next year. Or later.", SOURCE),
            measure("", SOURCE),  # an empty summary counts nowhere
            measure("A summary without its source.", None)]
    model = model_summary(rows)
    assert (model["documents"], model["sentences"], model["documents_with_source"]) == (3, 7, 2)
    assert model["verbatim_share"] == pytest.approx((1 / 2 + 0 / 4) / 2)
    assert model["sentences_verbatim"] == pytest.approx(1 / 6)
    assert (model["repeated_sentences"], model["documents_with_repeats"]) == (1, 1)
    assert model["extract_ratio"] == pytest.approx(rows[0]["summary_words"] / rows[0]["extract_words"])
    assert model["documents_with_extract"] == 1
    assert model_summary([])["verbatim_share"] is None and model_summary([])["sentences_verbatim"] is None

import pytest

from summarizer.facts import numbers, unsupported

SOURCE = "Bread prices in Lindenvale rose by 15% to 1,250 crowns, Dr. Ada Voss said on Monday."


def test_numbers_ignore_thousands_separators():
    assert numbers("1,250 crowns and 15% and 4.5") == ["1250", "15", "4.5"]


@pytest.mark.parametrize("text, expected", [
    ("4,500 and 1,250,000 and 12,34,567", ["4500", "1250000", "1234567"]),  # digit groups
    ("4,5 and 29,7km and 4,50", ["4.5", "29.7", "4.50"]),  # decimal commas
    ("4.5 and 1.234 and 2,345.67", ["4.5", "1.234", "2345.67"]),  # a full stop is a decimal point
    ("at 9:30, 3:1 and 2:04.45", ["9:30", "3:1", "2:04.45"]),  # one fact each
    ("１５ and ٣ and ४२", ["15", "3", "42"]),  # digits of any script
    ("10½ years, 5 m², 5，6日", ["10", "5", "5", "6"]),  # no NFKC: nothing glued
    ("5 and 5 again", ["5", "5"]),
])
def test_numbers_are_normalized(text, expected):
    assert numbers(text) == expected


def test_supported_sentence_has_nothing_missing():
    assert unsupported("Prices in Lindenvale rose 15 percent, Voss said.", SOURCE) == []
    assert unsupported("Bread cost 1250 crowns on Monday.", SOURCE) == []


def test_invented_numbers_and_names_are_found():
    assert unsupported("Prices rose 20% in Kent.", SOURCE) == ["20", "Kent"]


def test_first_word_of_a_sentence_is_not_taken_for_a_name():
    assert unsupported("Shoppers said prices in Lindenvale rose.", SOURCE) == []


def test_text_without_case_is_checked_for_numbers():
    assert unsupported("北京下雪，气温降到5度。", "北京下雪，气温降到零下3度。") == ["5"]


def test_support_is_the_share_of_content_words_found():
    from summarizer.facts import source_stems_of, support

    stems = source_stems_of(SOURCE)
    assert support("Bread prices rose.", stems) == 1.0
    assert support("It is a popular destination for tourists.", stems) == 0.0
    assert support("Prices rose for tourists.", stems) == 2 / 3
    assert support("It is.", stems) == 1.0


# Chinese: numerals read as numbers, names found by character pairs.

@pytest.mark.parametrize("chinese, digits", [
    ("三千", "3000"),
    ("十个", "10个"),
    ("二十五岁", "25岁"),
    ("一百零三", "103"),
    ("两千", "2000"),
    ("第三", "第3"),
    ("三亿五千万", "350000000"),
    ("一万五", "15000"),
    ("三点五亿", "3.5亿"),
    ("三万", "３万"),  # a full-width digit before a numeral
    ("十五", "１５"),
    ("二〇一五年", "2015年"),
])
def test_chinese_numerals_and_digits_match_both_ways(chinese, digits):
    assert numbers(chinese) == numbers(digits) != []
    sentence, source = f"报告称去年共有{chinese}人", f"报告称去年共有{digits}人"
    assert unsupported(sentence, source) == [] and unsupported(source, sentence) == []
    other = "报告称去年共有4444人"
    assert unsupported(sentence, other) == numbers(chinese)  # an invented number
    assert unsupported(other, sentence) == ["4444"]


@pytest.mark.parametrize("text, expected", [
    ("3万", ["30000"]),
    ("1.5亿", ["150000000"]),
    ("3000亿元", ["300000000000"]),
    ("1,500万", ["15000000"]),
    ("4,5万", ["45000"]),  # a decimal comma
    ("３万", ["30000"]),
    ("约200万人次", ["2000000"]),
    ("5千万", ["50000000"]),
])
def test_digits_before_chinese_units_are_multiplied(text, expected):
    assert numbers(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("有一些人来了三次", ["3"]),
    ("大家一起坐了两个小时", ["2"]),
    ("统一价格为五元", ["5"]),
    ("这是十大原因之一", ["10"]),
    ("一样花了一百元", ["100"]),
    ("万一下雨，千万别去，可有三千人", ["3000"]),
    ("数千人来了七八个，两三天后又来五个", ["5"]),  # approximate: not numbers to check
    ("一点一滴，收拾一下，大陆陆续，十分重要，但第一", ["1"]),
])
def test_numerals_inside_ordinary_words_are_not_numbers(text, expected):
    assert numbers(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("二〇一五年", ["2015"]),
    ("一九九八年", ["1998"]),
    ("二零零八年", ["2008"]),
    ("〇八年", ["08"]),
    ("十一月", ["11"]),
    ("一月", ["1"]),
])
def test_years_and_months_in_chinese_numerals(text, expected):
    assert numbers(text) == expected


ARTICLE_ZH = ("北京市政府周二宣布，将投资3000亿元建设五条新的地铁线路，预计到2030年全部建成通车。"
              "北京市交通委员会主任李明表示，新线路将连接城市东部和西部的主要居住区，每天可运送乘客约200万人次。"
              "这是北京地铁历史上规模最大的一次扩建。据介绍，首条线路将于明年开工，总长度超过一百公里。"
              "市民对此普遍表示欢迎，但也有专家担心工程会加重政府的财政负担。")


def test_an_invented_chinese_name_is_found_and_a_faithful_headline_is_not_faulted():
    faithful = ["北京将投资三千亿元建设五条地铁新线",  # words reordered, a numeral for the digits
                "北京地铁迎来史上最大规模扩建",
                "李明：新线路将连接城市东西部居住区",
                "北京宣布地铁大扩建，首条线路明年开工",
                "专家担心北京地铁扩建加重财政负担",
                "北京将新建5条地铁线路，日运客200万人次"]
    assert [unsupported(h, ARTICLE_ZH) for h in faithful] == [[]] * len(faithful)
    found = unsupported("张伟称，云溪镇将投资建设五条地铁线路", ARTICLE_ZH)
    assert found == ["张伟称", "云溪镇"]
    assert unsupported("北京市长王建国宣布投资3000亿元建设地铁", ARTICLE_ZH) == ["长王建国"]
    # the number check goes on: an invented amount in numerals
    assert unsupported("北京地铁扩建将耗资五千亿元", ARTICLE_ZH) == ["500000000000"]


def test_latin_words_in_chinese_text_are_checked_for_names():
    source = "苹果公司（Apple）周二发布新款iPhone手机，售价5999元。"
    assert unsupported("Apple发布新款iPhone手机", source) == []
    assert unsupported("Samsung发布新款iPhone手机", source) == ["Samsung"]  # first in the sentence too
    glued = "Apple周二发布新款手机。"  # the source's word is glued to Chinese characters
    assert unsupported("新款手机由Apple发布", glued) == []
    assert unsupported("新款手机由Google发布", glued) == ["Google"]


def test_the_faithfulness_metric_reads_chinese_numerals_as_the_filter_does():
    from summarizer.evaluation.faithfulness import measure

    m = measure("北京将投资三千亿元建设五条地铁线路", ARTICLE_ZH)
    assert (m["numbers"], m["numbers_found"]) == (2, 2)
    m = measure("北京将投资四千亿元建设五条地铁线路", ARTICLE_ZH)
    assert (m["numbers"], m["numbers_found"]) == (2, 1)

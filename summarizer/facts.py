"""Surface fact checks of a sentence against its source: numbers and name-like words.

A small model invents details: a county, a date, a percentage. These checks find the
numbers and capitalised words of a generated sentence that its source does not contain.

    >>> unsupported("Prices rose 15 percent in Lindenvale, Kent.", "Bread prices in Lindenvale rose by 15%.")
    ['Kent']

Numbers are compared as normalized digit strings (see :func:`numbers`, which the
faithfulness metric shares, so the filter and the metric agree on what a number is);
a capitalised word is supported when the source contains the word in any case. The first
word of a sentence is not checked: its capital says nothing about it being a name.

Chinese has no capitals: its numerals are read as numbers (三千 is 3000), and a name the
source lacks is found by character pairs instead (see :func:`unsupported_han`): a stretch of
two or more characters that share no pair with the source and that the source mostly
lacks. Latin-script words in Chinese text ("iPhone", "Apple") are checked as above.

    >>> unsupported("张伟称北京将投资三千亿元", "北京市政府宣布，将投资3000亿元建设地铁。")
    ['张伟称']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import MutableSet
from decimal import Decimal
from functools import lru_cache

# Chinese characters (and 〇, the numeral zero), for the numerals and the pair check.
_HAN = r"\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# ... and Japanese kana: neither is part of a Latin-script word.
_CJK = r"\u3040-\u30ff" + _HAN

# Chinese numerals. Ordinary ones, and the "financial" forms of cheques and contracts (壹贰叁),
# which are also ordinary characters (收拾, 大陆, 队伍): a run is of one kind or the other, and a
# run of financial forms counts only when it is at least two characters long.
_DIGIT_VALUES = {c: v for chars, v in (("零〇", 0), ("一壹", 1), ("二两兩贰貳", 2), ("三叁", 3), ("四肆", 4),
                                       ("五伍", 5), ("六陆陸", 6), ("七柒", 7), ("八捌", 8), ("九玖", 9))
                 for c in chars}
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10 ** 4, "萬": 10 ** 4, "亿": 10 ** 8, "億": 10 ** 8}
_FINANCIAL = "壹贰貳叁肆伍陆陸柒捌玖拾佰仟"
_SHARED = "零〇万萬亿億"
_ORDINARY = "一二两兩三四五六七八九十百千"
_PLAIN_DIGITS = "零〇一二三四五六七八九"  # written one by one in years and decimals: never 两
# Words that follow a counted thing (measure words, units, dates): a lone numeral counts before one.
_MEASURES = set("个人年月日天次名位家元块岁倍项条种号点辆架座所只件周届层期例起场台部份批轮篇首大国万亿千百")
# "数千" (several thousand), "几十" (some tens), "上万", "成千": not a number.
_APPROXIMATE = set("数几上成")

# A colon joins digit groups too: "9:30" and "3:1" are one fact each, not two numbers. Digits
# before 百千万亿 are multiplied ("3万" is 30000, "1.5亿" 150000000).
_NUMBER = re.compile(
    r"(?P<arabic>\d+(?:[.,:]\d+)*)(?P<units>[百千万亿萬億]*)"
    rf"|(?P<han>[{_ORDINARY}{_SHARED}]+|[{_FINANCIAL}{_SHARED}]+)"
    rf"(?:点(?P<frac>[{_PLAIN_DIGITS}]+)(?![十拾分])(?P<frac_units>[万亿萬億]*))?"
)
# A number of one comma and then one or two digits ("4,5", "29,7km") has a decimal comma, as
# in German, French or Spanish: a thousands separator is always followed by three digits. Any
# other comma separates digit groups ("4,500", the Indian "12,34,567"). A full stop is always
# a decimal point ("1.234" stays 1.234), as in English.
_DECIMAL_COMMA = re.compile(r"\d+,\d{1,2}")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
# A word of a script with capitals: as _WORD, but Chinese or Japanese characters are not part of
# it ("Apple发布" holds the word "Apple"). The same as _WORD on text without them.
_CASED_WORD = re.compile(rf"[^\W\d_{_CJK}]+(?:['’][^\W\d_{_CJK}]+)?", re.UNICODE)
_HAN_CHAR = re.compile(rf"[{_HAN}]")
_HAN_RUN = re.compile(rf"[{_HAN}]+")


def numbers(text: str) -> list[str]:
    """The numbers of ``text`` in order, repeats included, normalized so that a summary and
    its source that write the same number differently still match:

    >>> numbers("4,500 or 4500, 4,5 or 4.5, ３ at 9:30")
    ['4500', '4500', '4.5', '4.5', '3', '9:30']

    Digits of any script become ASCII ones (full-width "３" in Chinese text is 3). Full NFKC
    is not used: it turns "10½" into "101⁄2" (101) and the Chinese comma "，" into ",",
    which would glue "5，6" into one number. Words for numbers ("five") are not read.

    Chinese numerals are read as the number they write, alone or after digits:

    >>> numbers("三千人，3万元，1.5亿，二十五岁，一百零三，两千，十个，第三，一万五，三点五亿")
    ['3000', '30000', '150000000', '25', '103', '2000', '10', '3', '15000', '350000000']

    A run of numerals without 十百千万亿 is read digit by digit, as years are written, when it
    has a zero or three numerals or more; two ("两三天", "七八个") say "two or three":

    >>> numbers("二〇一五年，一九九八年，〇八年，两三天，七八个")
    ['2015', '1998', '08']

    Numerals are also ordinary characters. A numeral counts when it is part of a run of two or
    more ("二十", "三千"), follows 第, or is one numeral other than 一 before a measure word or
    unit (三个, 五年, 两人, 十天, 万人); a lone 一 ("a", "one") counts only in 第一 and 一月. A run
    that starts with 百千万亿 needs a measure word too ("千万不要", "万一" are words), and 数, 几,
    上, 成 before a numeral make it approximate ("数千人"): not counted. Financial forms
    (壹贰叁...拾佰仟) count in runs of two or more only ("收拾", "大陆" are words):

    >>> numbers("一些人一起统一行动，是之一，一样；千万不要；数千人；陆家嘴，壹万贰仟元")
    ['12000']
    """
    return [value for _, _, value in _number_spans(text)]


def _number_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, normalized value)`` of the numbers of ``text``, in order."""
    found = []
    for match in _NUMBER.finditer(text):
        if match.group("han") is None:
            value = _arabic(match.group("arabic"), match.group("units"))
        else:
            before = text[match.start() - 1] if match.start() else ""
            after = text[match.end()] if match.end() < len(text) else ""
            value = _chinese(match.group("han"), match.group("frac"), match.group("frac_units"), before, after)
        if value is not None:
            found.append((match.start(), match.end(), value))
    return found


def _arabic(value: str, units: str) -> str:
    if not value.isascii():
        value = "".join(str(unicodedata.decimal(c)) if c.isdigit() else c for c in value)
    if _DECIMAL_COMMA.fullmatch(value):
        value = value.replace(",", ".")
    value = value.replace(",", "")
    if units and ":" not in value and value.count(".") <= 1:
        return _decimal_text(Decimal(value) * _product(units))
    return value


def _product(units: str) -> int:
    product = 1
    for unit in units:
        product *= _BIG_UNITS.get(unit) or _SMALL_UNITS[unit]
    return product


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _chinese(run: str, frac: str | None, frac_units: str | None, before: str, after: str) -> str | None:
    """The value of a run of Chinese numerals (and a decimal part after 点), or None where
    the run is not taken for a number (see :func:`numbers`)."""
    if before in _APPROXIMATE or (len(run) == 1 and run in _FINANCIAL):
        return None
    if frac:
        after = (frac_units or "")[:1] or after
    has_units = any(c in _SMALL_UNITS or c in _BIG_UNITS for c in run)
    if not has_units and len(run) > 1 and not frac:
        if any(c in "两兩" for c in run) or (len(run) == 2 and not any(c in "零〇" for c in run)):
            return None
        return "".join(str(_DIGIT_VALUES[c]) for c in run)
    if frac:
        # 三点五, 一点五倍; but "一点一滴" (bit by bit) is a phrase
        if run == "一" and after not in _MEASURES:
            return None
    elif (len(run) == 1 or run[0] in "百佰千仟万萬亿億") and before != "第":
        if run == "一":
            if after != "月":
                return None
        elif after not in _MEASURES:
            return None
    whole = _chinese_integer(run)
    if whole is None:
        return None
    if not frac:
        return str(whole)
    value = (whole + Decimal("0." + "".join(str(_DIGIT_VALUES[c]) for c in frac))) * _product(frac_units or "")
    return _decimal_text(value)


def _chinese_integer(run: str) -> int | None:
    """A run of numerals with units as a whole number: 二十五 25, 一百零三 103, 三亿五千万
    350000000, 一万五 (spoken: 一万五千) 15000; None for a run that writes no number ("五六百")."""
    if not any(c in _SMALL_UNITS or c in _BIG_UNITS for c in run):
        return int("".join(str(_DIGIT_VALUES[c]) for c in run)) if len(run) == 1 else None
    total = wan = section = 0  # parts times 亿, times 万, and below 万
    digit: int | None = None
    last_unit = last_small = None
    zero = False
    for c in run:
        if c in _DIGIT_VALUES:
            if digit is not None:
                return None  # two numerals in a row: "三四百" is an estimate
            if _DIGIT_VALUES[c] == 0:
                zero = True
            else:
                digit = _DIGIT_VALUES[c]
            continue
        leading = not (total or wan or section or zero)
        if c in _SMALL_UNITS:
            unit = _SMALL_UNITS[c]
            if last_small is not None and unit >= last_small:
                return None
            if digit is None:
                if not (leading or unit == 10):  # 十五, 百万; 一百十五
                    return None
                digit = 1
            section += digit * unit
            last_small = unit
        else:
            unit = _BIG_UNITS[c]
            part = section + (digit or 0)
            if unit == 10 ** 4:
                if wan:
                    return None
                if not part:
                    if not leading:
                        return None
                    part = 1
                wan = part * unit
            else:
                part += wan
                if not part:
                    if not leading:
                        return None
                    part = 1
                total = (total + part) * unit
                wan = 0
            section, last_small = 0, None
        digit, last_unit, zero = None, unit, False
    if digit is not None:
        # 一万五, 三千五: the numeral after a unit without 零 counts in the next unit down
        if last_unit is not None and last_unit >= 100 and not zero:
            digit *= last_unit // 10
        section += digit
    return total + wan + section


def unsupported(sentence: str, source: str, source_words: set[str] | None = None,
                source_numbers: set[str] | None = None) -> list[str]:
    """The numbers and capitalised words of ``sentence`` that ``source`` does not contain,
    and, in Chinese text, the stretches of characters it does not contain
    (:func:`unsupported_han`): numbers first, then the words in the sentence's order.

    In a Chinese sentence (more Chinese characters than Latin-script words, or its first
    Latin-script word written against a Chinese character) every capitalised Latin-script word
    is checked, the first too: Chinese does not capitalise a sentence's start, so "Samsung" of
    "Samsung发布新款iPhone" is a name."""
    if source_words is None:
        source_words = _source_words(source)
    if source_numbers is None:
        source_numbers = set(numbers(source))
    spans = _number_spans(sentence)
    missing = [n for n in sorted({value for _, _, value in spans}) if n not in source_numbers]
    han = len(_HAN_CHAR.findall(sentence))
    words = list(_CASED_WORD.finditer(sentence)) if han else list(_WORD.finditer(sentence))
    chinese = han > len(words) or bool(words) and _touches_han(sentence, words[0])
    found: list[tuple[int, str]] = []
    for position, match in enumerate(words):
        word = match.group()
        if (position == 0 and not chinese) or not word[0].isupper() or word.lower() in source_words:
            continue
        found.append((match.start(), word))
    if han:
        found += _unsupported_han(sentence, source, spans)
        found.sort()
    return missing + [word for _, word in found]


def _touches_han(sentence: str, match: re.Match) -> bool:
    start, end = match.span()
    return bool(_HAN_CHAR.search(sentence, 0, start) or _HAN_CHAR.match(sentence, end))


def unsupported_han(sentence: str, source: str) -> list[str]:
    """The stretches of Chinese characters of ``sentence`` that ``source`` does not contain:
    Chinese has no capitals to tell a name by.

    A character of the sentence is supported when it and a neighbour form a pair (bigram)
    that occurs in the source. A stretch of two or more unsupported characters is reported
    when at least two of its characters occur nowhere in the source: an invented person
    (张伟) or place (云溪镇) is made of characters the article does not use, while a faithful
    headline reuses the article's words and characters, joined in new ways ("北京地铁新线":
    "新线" is no pair of the source, but both characters are in it). A single new connective
    (的, 将) is never reported. Numerals that :func:`numbers` reads are left to the number
    check; other scripts are not looked at.

    >>> source = "北京市政府周二宣布，将投资3000亿元建设五条新的地铁线路。"
    >>> unsupported_han("北京将投资三千亿元建设五条地铁新线", source)
    []
    >>> unsupported_han("张伟称云溪镇将投资建设地铁", source)
    ['张伟称云溪镇']
    """
    return [text for _, text in _unsupported_han(sentence, source, _number_spans(sentence))]


def _unsupported_han(sentence: str, source: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, str]]:
    pairs, characters = _han_index(source)
    masked = list(sentence)
    for start, end, _ in spans:  # numbers split runs of characters: 三千 is checked as 3000
        masked[start:end] = " " * (end - start)
    found: list[tuple[int, str]] = []
    seen: set[str] = set()
    for run in _HAN_RUN.finditer("".join(masked)):
        text = run.group()
        supported = [False] * len(text)
        for i in range(len(text) - 1):
            if text[i:i + 2] in pairs:
                supported[i] = supported[i + 1] = True
        i = 0
        while i < len(text):
            if supported[i]:
                i += 1
                continue
            j = i
            while j < len(text) and not supported[j]:
                j += 1
            stretch = text[i:j]
            if len(stretch) >= 2 and sum(c not in characters for c in stretch) >= 2 and stretch not in seen:
                seen.add(stretch)
                found.append((run.start() + i, stretch))
            i = j
    return found


@lru_cache(maxsize=16)
def _han_index(source: str) -> tuple[frozenset[str], frozenset[str]]:
    """The pairs of adjacent Chinese characters of ``source``, and its Chinese characters."""
    pairs: set[str] = set()
    characters: set[str] = set()
    for run in _HAN_RUN.findall(source):
        characters.update(run)
        pairs.update(run[i:i + 2] for i in range(len(run) - 1))
    return frozenset(pairs), frozenset(characters)


def _source_words(source: str) -> set[str]:
    words = {w.lower() for w in _WORD.findall(source)}
    if _HAN_CHAR.search(source):
        words.update(w.lower() for w in _CASED_WORD.findall(source))  # "Apple" of "Apple发布"
    return words


def source_index(source: str) -> tuple[set[str], set[str]]:
    """Precomputed word and number sets of a source, for many sentences."""
    return _source_words(source), set(numbers(source))


def support(sentence: str, source_stems: set[str]) -> float:
    """Share of the sentence's content words (not stop words, 3+ letters) whose stem occurs
    in the source; 1.0 for a sentence without content words.

    >>> support("The bridge opens in May.", source_stems_of("The new bridge will open in May."))
    1.0
    """
    words = [w for w in _content_words(sentence)]
    if not words:
        return 1.0
    # A word of the source itself has its stem among the source's: no stemmer needed for it.
    literal = source_stems.words if isinstance(source_stems, SourceStems) else ()
    return sum(w in literal or _stem(w) in source_stems for w in words) / len(words)


def source_stems_of(source: str) -> "SourceStems":
    return SourceStems(_content_words(source))


class SourceStems(MutableSet):
    """The set of the stems of a source's content words, stemmed on first use. Importing the
    stemmer (nltk) takes about a second of a one-document run, and :func:`support` needs no
    stems while every word it checks is one of the source's own words (what a summary
    copied): about half of the summaries of news articles. A set like any other otherwise
    (the rewrite stage adds a stem to it)."""

    def __init__(self, words):
        # words whose stems are all in the set, for support()'s shortcut
        self.words = frozenset(words)
        self._stems: set[str] | None = None
        self._added: set[str] = set()

    @property
    def stems(self) -> set[str]:
        if self._stems is None:
            self._stems = {_stem(w) for w in self.words} | self._added
        return self._stems

    def __contains__(self, stem) -> bool:
        return stem in self._added or stem in self.stems

    def __iter__(self):
        return iter(self.stems)

    def __len__(self) -> int:
        return len(self.stems)

    def add(self, stem) -> None:
        self._added.add(stem)
        if self._stems is not None:
            self._stems.add(stem)

    def discard(self, stem) -> None:
        self.stems.discard(stem)
        self._added.discard(stem)
        self.words = frozenset()  # a word's stem may be gone: no shortcut any more


def _content_words(text: str) -> list[str]:
    from .stopwords import english_stop_words  # scikit-learn's list, without importing scikit-learn

    stop_words = english_stop_words()
    return [w for w in (m.group().lower() for m in _WORD.finditer(text)) if len(w) >= 3 and w not in stop_words]


@lru_cache(maxsize=100_000)
def _stem(word: str) -> str:
    return _stemmer().stem(word)


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()

"""The language of a document, by its script, and what follows from it.

    >>> detect("可穿戴技术十大设计原则。"), detect("The council voted on Monday."), detect("1234 !!")
    ('zh', 'en', 'und')

The script is enough for what the pipeline does with the language: Chinese text has no spaces
between words or sentences, is measured in characters, and must be answered in Chinese.
``zh`` (Han characters, no kana), ``ja`` (kana), ``ko`` (Hangul), ``en`` for Latin-script text
(the prompts of the Latin languages are the English ones), ``und`` for text without letters.
:func:`detect` looks at the letters only, so numbers, punctuation and a few English words
inside a Chinese post do not change its language. ``chunk`` records the language in
``record.language``; every language-dependent step reads it there (:func:`language_of`).
"""

from __future__ import annotations

import re

CJK_LANGUAGES = ("zh", "ja", "ko")
# Han ideographs, kana, Hangul: the letters of CJK scripts.
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KANA = r"\u3040-\u30ff"
_HANGUL = r"\uac00-\ud7af"
_CJK_LETTER = re.compile(f"[{_HAN}{_KANA}{_HANGUL}]")
_LETTER = re.compile(r"[^\W\d_]")
# CJK letters and CJK punctuation (。，、！？：；「」『』（）《》 and full-width forms): between two
# of these a space is not part of the text.
_CJK_CHAR = f"{_HAN}{_KANA}{_HANGUL}\u3000-\u303f\uff00-\uffef"
_CJK_OR_FULL_WIDTH = re.compile(f"[{_CJK_CHAR}]")
_CJK_END = re.compile(f"[{_CJK_CHAR}]$")
_CJK_START = re.compile(f"[{_CJK_CHAR}]")
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK_CHAR}])\\s+(?=[{_CJK_CHAR}])")
# Share of a text's letters in a CJK script from which it is CJK text (a post with English
# brand names is still Chinese; the sentence splitter has used this share all along).
CJK_SHARE = 0.3


def cjk_share(text: str) -> float | None:
    """The share of the letters of ``text`` that are CJK (None without letters)."""
    letters = _LETTER.findall(text)
    if not letters:
        return None
    return sum(bool(_CJK_LETTER.match(c)) for c in letters) / len(letters)


def detect(text: str) -> str:
    text = text[:4000]  # enough to tell a script, and a 50 MB document is not read twice
    letters = len(_LETTER.findall(text))
    if not letters:
        return "und"
    # Full-width forms and CJK punctuation count for CJK too: "Apple iPhone Pro Max：新品（２０２４）"
    # is a Chinese text about an American phone.
    if len(_CJK_OR_FULL_WIDTH.findall(text)) / letters < CJK_SHARE:
        return "en"
    if re.search(f"[{_KANA}]", text):
        return "ja"
    if re.search(f"[{_HANGUL}]", text) and not re.search(f"[{_HAN}]", text):
        return "ko"
    return "zh"


def is_cjk(language: str | None) -> bool:
    """Whether ``language`` (a code such as zh, zh-Hant, ja_JP) is written in a CJK script."""
    return bool(language) and re.split(r"[-_]", language)[0].lower() in CJK_LANGUAGES


def language_of(record, text: str = "") -> str:
    """``record.language``, detected now (and kept) when no stage has set it; without a
    record, the language of ``text``."""
    if record is None:
        return detect(text)
    if getattr(record, "language", None) is None:
        record.language = detect(record.text or "")
    return record.language


def join_sentences(sentences) -> str:
    """Sentences as one text: a space between them, none between a sentence that ends in a
    CJK character and one that begins with one ("...角落。未来，..."). The sentences themselves
    are left as they are (a prompt holds the article's own text)."""
    text = ""
    for sentence in sentences:
        if text:
            text += "" if _CJK_END.search(text) and _CJK_START.match(sentence) else " "
        text += sentence
    return text


def tidy_spaces(text: str) -> str:
    """White space collapsed to single spaces, and none left between CJK characters."""
    return _SPACE_BETWEEN_CJK.sub("", " ".join(text.split()))


def length(text: str, language: str | None = None) -> int:
    """A text's length in the unit ``--max-words`` counts: characters (all but white space)
    for CJK text, words otherwise.

        >>> length("未来，智能手机将会成为个人电脑。"), length("The phone will be a computer.")
        (16, 6)
    """
    if is_cjk(language if language is not None else detect(text)):
        return len("".join(text.split()))
    return len(text.split())


def cjk_bigrams(text: str) -> set[str]:
    """The pairs of adjacent CJK letters of ``text``: the unit of overlap for text without
    spaces between its words (a Chinese word is mostly two characters)."""
    pairs = set()
    for run in re.findall(f"[{_HAN}{_KANA}{_HANGUL}]+", text):
        pairs.update(run[i:i + 2] for i in range(len(run) - 1))
    return pairs


def tables_problem(value, keys: tuple[str, ...], section: str) -> str | None:
    """What is wrong with a ``[SECTION.languages]`` setting (a table of language codes, each a
    table of some of ``keys``), or None: the check of every per-language table."""
    if not isinstance(value, dict):
        return f"is not a table of languages ([{section}.languages.zh] ...)"
    for code, table in value.items():
        if not isinstance(table, dict):
            return f"has {code!r} = {table!r}, not a table of {section} settings"
        unknown = sorted(set(table) - set(keys))
        if unknown:
            return f"has {code}.{unknown[0]}, not a setting a language can replace (those: {', '.join(keys)})"
    return None


def table_code(tables: dict, language: str | None) -> str | None:
    """The key of ``tables`` for ``language``: its full code (zh-Hant), else its main part (zh)."""
    if not language:
        return None
    if language in tables:
        return language
    main = re.split(r"[-_]", language)[0].lower()
    return main if main in tables else None

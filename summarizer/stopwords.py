"""scikit-learn's English stop words, without importing scikit-learn.

The filter's support measure (:mod:`summarizer.facts`) uses the list scikit-learn ships
(``sklearn.feature_extraction.text.ENGLISH_STOP_WORDS``), but importing any part of
scikit-learn runs its package initialisation, 1-3 s of a one-document run. The list lives
in a data-only module (``sklearn/feature_extraction/_stop_words.py``: one frozenset, no
imports), so that file is read from the installed package and executed on its own. Should a
scikit-learn release move or change it, the ordinary import is used instead.
"""

from __future__ import annotations

from functools import lru_cache

_RELATIVE = ("feature_extraction", "_stop_words.py")


@lru_cache(maxsize=1)
def english_stop_words() -> frozenset[str]:
    words = _read_without_import()
    if words is None:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as words
    return words


def _read_without_import() -> frozenset[str] | None:
    import importlib.util
    from pathlib import Path

    try:
        # find_spec of a top-level package locates it without running its __init__
        spec = importlib.util.find_spec("sklearn")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location).joinpath(*_RELATIVE)
        if path.is_file():
            # run as a module of its own, not registered in sys.modules (sklearn is not imported)
            module_spec = importlib.util.spec_from_file_location("summarizer._sklearn_stop_words", path)
            module = importlib.util.module_from_spec(module_spec)
            try:
                module_spec.loader.exec_module(module)
            except Exception:  # not the data-only file it was: the real import decides
                return None
            words = getattr(module, "ENGLISH_STOP_WORDS", None)
            if isinstance(words, frozenset) and all(isinstance(w, str) for w in words):
                return words
    return None

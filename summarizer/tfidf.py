"""TF-IDF sentence vectors without scikit-learn.

The extract stage used ``TfidfVectorizer(tokenizer=..., lowercase=False, sublinear_tf=True)``
(default IDF smoothing, L2 norm) fitted on one document's sentences. Importing scikit-learn
costs 1-3 s of a one-document run, for arithmetic this module does in a few lines. It
reproduces the vectorizer's matrix exactly, not approximately: the same values, computed by
the same floating-point operations in the same order, and the same sparse layout (the
entries of a row in the order the vectorizer leaves them), because the similarities computed
from the matrix sum products in that order, and a last-bit difference could change which
sentence wins a tie. tests/test_tfidf.py compares the two on real articles.

- columns: the terms in sorted order; within a row, entries in the order of each term's
  first appearance in the whole document (how the vectorizer counts, then renumbers);
- tf: ``1 + log(count)``; idf: ``1 + log((1 + n) / (1 + df))``;
- each row divided by its L2 norm, the sum of squares accumulated left to right.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence


def tfidf_matrix(sentences: Sequence[str], analyze: Callable[[str], Iterable[str]]):
    """L2-normalised TF-IDF rows of ``sentences`` (a ``scipy.sparse.csr_matrix``, float64),
    terms from ``analyze``, the IDF from these sentences; ValueError when no sentence has a
    term (as the vectorizer's "empty vocabulary")."""
    import numpy as np
    from scipy.sparse import csr_matrix

    first_seen: dict[str, int] = {}
    indices: list[int] = []
    counts: list[int] = []
    indptr = [0]
    for sentence in sentences:
        row: dict[int, int] = {}
        for term in analyze(sentence):
            column = first_seen.setdefault(term, len(first_seen))
            row[column] = row.get(column, 0) + 1
        # the vectorizer sorts each row by first appearance before renumbering the columns
        for column in sorted(row):
            indices.append(column)
            counts.append(row[column])
        indptr.append(len(indices))
    if not first_seen:
        raise ValueError("empty vocabulary: no sentence has a word")
    renumber = np.empty(len(first_seen), dtype=np.int32)
    for rank, term in enumerate(sorted(first_seen)):
        renumber[first_seen[term]] = rank
    columns = renumber.take(np.asarray(indices, dtype=np.int32))
    data = np.asarray(counts, dtype=np.float64)
    np.log(data, out=data)
    data += 1.0
    n = len(sentences)
    df = np.bincount(columns, minlength=len(first_seen)).astype(np.float64)
    df += 1.0
    idf = np.full_like(df, fill_value=n + 1, dtype=np.float64)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    data *= idf[columns]
    for start, end in zip(indptr, indptr[1:]):
        total = 0.0
        for value in data[start:end].tolist():
            total += value * value
        if total != 0.0:
            data[start:end] /= math.sqrt(total)
    return csr_matrix((data, columns, np.asarray(indptr, dtype=np.int32)), shape=(n, len(first_seen)))

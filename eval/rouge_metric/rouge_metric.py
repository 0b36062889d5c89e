"""The project's ROUGE as a Hugging Face ``evaluate`` metric that loads from this folder, offline.

    >>> import evaluate
    >>> rouge = evaluate.load("eval/rouge_metric")   # a path: nothing is downloaded
    >>> rouge.compute(predictions=["A cat sat on a mat."], references=["The cat sat on the mat."])["rouge1"]
    66.66666666666666

The numbers are those of ``summarizer eval`` (``summarizer.evaluation.rouge``): rouge-score
with Porter stemming, rougeLsum on one sentence per line, a tokenizer that keeps non-ASCII
words (rouge-score's own on ASCII text), F1 x100 averaged over documents, and seeded
bootstrap intervals. Unlike the hub's ``rouge`` metric, the scores are x100 and rougeLsum
gets its sentence newlines; see README.md in this folder.
"""

import statistics

import datasets
import evaluate

from summarizer.evaluation.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, confidence_interval
from summarizer.evaluation.rouge import ROUGE_TYPES, Rouge

_DESCRIPTION = """ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum F1 (x100) through rouge-score, with the
settings of published summarization tables (stemming, rougeLsum on one sentence per line)."""

_CITATION = """@inproceedings{lin-2004-rouge,
    title = "{ROUGE}: A Package for Automatic Evaluation of Summaries",
    author = "Lin, Chin-Yew",
    booktitle = "Text Summarization Branches Out",
    year = "2004",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/W04-1013",
    pages = "74--81",
}"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of summaries (strings); None or "" is an empty summary and scores 0.
    references: list of reference summaries (strings), one per prediction.
    use_aggregator: True (default) for mean F1 per ROUGE type; False for per-document F1 lists.
    use_stemmer: Porter stemming of English tokens (default True).
    confidence_intervals: also return `<type>_low` and `<type>_high`, the seeded bootstrap
        95% interval of each mean (default False).
    resamples, seed: bootstrap settings (defaults 1000 and 12345, as `summarizer eval`).
Returns:
    {"rouge1": float, "rouge2": float, "rougeL": float, "rougeLsum": float} (x100).
Examples:
    >>> rouge = evaluate.load("eval/rouge_metric")
    >>> rouge.compute(predictions=["testing one"], references=["testing one two"])["rouge2"]
    66.66666666666666
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RougeMetric(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
            codebase_urls=["https://github.com/google-research/google-research/tree/master/rouge"],
            reference_urls=["https://aclanthology.org/W04-1013"],
        )

    def _compute(self, predictions, references, use_aggregator=True, use_stemmer=True,
                 confidence_intervals=False, resamples=DEFAULT_RESAMPLES, seed=DEFAULT_SEED):
        rouge = Rouge(use_stemmer=use_stemmer)
        scores = [rouge.score(reference, prediction) for prediction, reference in zip(predictions, references)]
        per_type = {t: [s[t].fmeasure for s in scores] for t in ROUGE_TYPES}
        if not use_aggregator:
            return per_type
        result = {t: statistics.fmean(values) if values else 0.0 for t, values in per_type.items()}
        if confidence_intervals:
            for t, values in per_type.items():
                low, high = confidence_interval(values, resamples, seed) or (None, None)
                result[f"{t}_low"], result[f"{t}_high"] = low, high
        return result

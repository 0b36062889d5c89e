"""The project's ROUGE as a Hugging Face ``evaluate`` metric, shipped inside the package: offline.

    >>> import evaluate
    >>> from summarizer.evaluation import rouge_metric_path
    >>> rouge = evaluate.load(rouge_metric_path())   # a local folder: nothing is downloaded
    >>> rouge.compute(predictions=["A cat sat on a mat."], references=["The cat sat on the mat."])["rouge1"]
    66.66666666666666

Scale: **x100** (66.67 above), as ``summarizer eval`` and published tables print ROUGE; the
hub's ``evaluate.load("rouge")`` returns fractions from 0 to 1 (0.6667 for the same pair).

The numbers are those of ``summarizer eval`` (``summarizer.evaluation.rouge``): rouge-score
with Porter stemming, rougeLsum on one sentence per line, F1 averaged over documents, seeded
bootstrap intervals, and the tokenization chosen once from all the references given
(rouge-score's own tokenizer for English-like text, Unicode words for other scripts, one
token per character for Chinese and Japanese). The metric card is README.md in this folder.
"""

import statistics

import datasets
import evaluate

from summarizer.evaluation.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, confidence_interval
from summarizer.evaluation.rouge import ROUGE_TYPES, Rouge
from summarizer.evaluation.tokens import choose_tokenization

_DESCRIPTION = """ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum F1 through rouge-score, x100 (the hub's `rouge`
gives 0-1), with the settings of published summarization tables (stemming, rougeLsum on one
sentence per line) and a tokenization that suits the references' script."""

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
    tokenization: "auto" (default: chosen from all the references, as `summarizer eval` does),
        "rouge-score", "unicode" or "cjk".
    confidence_intervals: also return `<type>_low` and `<type>_high`, the seeded bootstrap
        95% interval of each mean (default False).
    resamples, seed: bootstrap settings (defaults 1000 and 12345, as `summarizer eval`).
Returns:
    {"rouge1": float, "rouge2": float, "rougeL": float, "rougeLsum": float}, x100 (0-100); only
    numbers, so code written for the hub's metric can loop over them. The tokenization "auto"
    picks is summarizer.evaluation.tokens.choose_tokenization(references).name.
Examples:
    >>> from summarizer.evaluation import rouge_metric_path
    >>> rouge = evaluate.load(rouge_metric_path())
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

    def _compute(self, predictions, references, use_aggregator=True, use_stemmer=True, tokenization="auto",
                 confidence_intervals=False, resamples=DEFAULT_RESAMPLES, seed=DEFAULT_SEED):
        # One tokenization for all the pairs, chosen as summarizer eval chooses it for a report.
        chosen = choose_tokenization((r or "" for r in references), tokenization).name
        rouge = Rouge(use_stemmer=use_stemmer, tokenization=chosen)
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

"""summarizer: extractive-abstractive summarization around a causal language model.

    >>> from summarizer import summarize
    >>> summarize("long text ...")  # doctest: +SKIP
    >>> summarize(["text one ...", "text two ..."], pipeline="lead3", sentences=2)  # doctest: +SKIP

Heavy libraries (torch, transformers) are imported only when a model is needed, so
importing this package and ``summarizer --help`` stay fast.
"""

__version__ = "0.1.0"
__all__ = ["summarize", "Pipeline", "Record", "SummarizerError"]


def __getattr__(name):
    # Lazy attributes keep `import summarizer` cheap.
    if name == "summarize":
        from .api import summarize

        return summarize
    if name == "Pipeline":
        from .pipeline import Pipeline

        return Pipeline
    if name == "Record":
        from .records import Record

        return Record
    if name == "SummarizerError":
        from .errors import SummarizerError

        return SummarizerError
    raise AttributeError(f"module 'summarizer' has no attribute {name!r}")

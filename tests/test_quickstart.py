"""The quick start of one document (bench/quickstart.py): on the real default model, the fast
ways to load it give what the slow ones gave, and a one-document run imports neither
scikit-learn nor peft. Marked slow; `make test` runs them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from summarizer import light_tokenizer, models, tokenizer_json

from .test_models import TEXTS, tokenizer_facts

pytestmark = pytest.mark.slow
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cnndm.dev.jsonl"


def test_the_default_tokenizer_is_autotokenizers():
    from transformers import AutoTokenizer

    location = models.resolve("default")
    texts = list(TEXTS)
    if DATA.is_file():
        with DATA.open(encoding="utf-8") as handle:
            texts += [json.loads(line)["article"] for _, line in zip(range(10), handle)]
    reference = tokenizer_facts(AutoTokenizer.from_pretrained(location), texts)
    slow = tokenizer_json.load(location, light=False)
    assert tokenizer_facts(slow, texts) == reference
    tokenizer_json.load(location)  # keeps the light tokenizer's facts where this cache lacks them
    light = tokenizer_json.load(location)
    assert isinstance(light, light_tokenizer.LightTokenizer)
    assert tokenizer_facts(light, texts) == reference


def test_one_document_imports_no_transformers_at_all():
    tokenizer_json.load(models.resolve("default"))  # the first load keeps the light tokenizer's facts
    code = ("import sys; from summarizer import summarize; "
            "print(repr(summarize(open(sys.argv[1], encoding='utf-8').read()))); print('transformers' in sys.modules)")
    article = Path(__file__).resolve().parent.parent / "examples" / "articles" / "01_city_bikes.txt"
    done = subprocess.run([sys.executable, "-c", code, article], capture_output=True, text=True, check=True)
    summary, imported = done.stdout.strip().splitlines()[-2:]
    assert len(summary) > 10 and imported == "False"


def test_one_document_imports_neither_scikit_learn_nor_peft_nor_transformers_modeling():
    # nltk's package imports scikit-learn (nltk.classify), so the filter's stemmer is replaced here
    code = (
        "import gc, sys; from summarizer import facts, summarize; "
        "facts._stemmer = lambda: type('Stemmer', (), {'stem': staticmethod(str.lower)})(); "
        "text = open(sys.argv[1], encoding='utf-8').read(); "
        "print(repr(summarize(text))); "
        "print([m for m in ('sklearn', 'peft', 'nltk', 'transformers.models.gemma3.modeling_gemma3', 'torch._dynamo') "
        "if m in sys.modules], gc.get_freeze_count() > 0)"
    )
    article = Path(__file__).resolve().parent.parent / "examples" / "articles" / "01_city_bikes.txt"
    done = subprocess.run([sys.executable, "-c", code, str(article)], capture_output=True, text=True, check=True)
    summary, modules = done.stdout.strip().splitlines()[-2:]
    assert len(summary) > 10
    assert modules == "[] True"

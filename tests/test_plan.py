import dataclasses

import pytest
import torch

from summarizer.decode import LOOP
from summarizer.models import load_tokenizer
from summarizer.pipeline import Pipeline
from summarizer.plan import SENTENCES, STOP_STRING, RowStop, as_stopping_criteria
from summarizer.records import Record

from .conftest import ARTICLES

# The abstractive pipeline's own stops off: each case below turns on only its own.
PLAIN = ["generate.max_new_tokens=40", "generate.stop=[]", "generate.max_sentences=0", "generate.loop_ngram=0"]
# copy bias and no repeats keep the random model from looping on one sentence-free phrase
STEER = ["generate.copy_bias=5", "generate.no_repeat_ngram=2"]


def run(tiny_model, *overrides):
    pipe = Pipeline.load("abstractive", overrides=[f"generate.model={tiny_model!r}", *PLAIN, *overrides])
    texts = list(ARTICLES.values()) + ["Short one. Tiny."]
    return list(pipe.run([Record(id=str(i), text=t) for i, t in enumerate(texts)]))


def generations(records):
    return [r.generation for r in records]


def new_tokens(records):
    return [t["new_tokens"] for r in records for t in r.trace if t["stage"] == "generate"]


def test_row_stop_gives_the_reason_a_row_ends(tiny_model):
    tokenizer = load_tokenizer(tiny_model)
    tokens = tokenizer("The council approved it. Rain flooded the harbour", add_special_tokens=False)["input_ids"]
    assert not RowStop(tokenizer=tokenizer)  # nothing to check: decoders skip it
    assert RowStop(["harbour"], tokenizer=tokenizer)(tokens) == STOP_STRING
    assert RowStop(["harbour"], tokenizer=tokenizer)(tokens[:-1]) is None
    assert RowStop(max_sentences=1, tokenizer=tokenizer)(tokens) == SENTENCES
    assert RowStop(max_sentences=2, tokenizer=tokenizer)(tokens) is None
    assert RowStop(loop_ngram=2)([5, 6, 7, 5, 6]) == LOOP
    assert RowStop(loop_ngram=2)([5, 6, 7, 6, 5]) is None


def test_sentence_stop_fires_at_the_token_that_finishes_the_sentence(tiny_model):
    from summarizer.segment import finished_sentences

    tokenizer = load_tokenizer(tiny_model)
    tokens = tokenizer("The council approved it. Rain flooded the harbour. More", add_special_tokens=False)["input_ids"]
    stop = RowStop(max_sentences=2, tokenizer=tokenizer)
    first = next(k for k in range(1, len(tokens) + 1) if stop(tokens[:k]))
    assert finished_sentences(tokenizer.decode(tokens[:first])) == 2
    assert finished_sentences(tokenizer.decode(tokens[:first - 1])) == 1


def test_the_stopping_criteria_adapter_judges_each_row_on_its_new_tokens_only():
    stop = RowStop(loop_ngram=2)
    criteria = as_stopping_criteria(stop, prompt_length=3)
    # the first row's prompt holds (5, 6) too: only a repeat among the new tokens counts
    input_ids = torch.tensor([[5, 6, 1, 5, 6, 7], [1, 2, 3, 5, 6, 5], [0, 0, 1, 5, 6, 5]])
    assert criteria(input_ids, None).tolist() == [False, False, False]
    input_ids = torch.cat([input_ids, torch.tensor([[5], [6], [9]])], dim=1)
    assert criteria(input_ids, None).tolist() == [False, True, False]
    assert [stop(row) is not None for row in input_ids[:, 3:].tolist()] == [False, True, False]


CASES = {
    "loop": ([], ["generate.loop_ngram=3"]),
    "short loop and sentences": ([], ["generate.loop_ngram=2", "generate.max_sentences=1"]),
    "sentences": (STEER, ["generate.max_sentences=1"]),
    # of several tokens each (a one-token stop is also an id, which the copy bias favours)
    "stop strings": (STEER, ["generate.stop=['e b', 'n 4']"]),
    "all, with a candidate head and prompt lookup": (
        ["generate.head_vocab=50", "generate.lookup_tokens=3", "generate.copy_bias=2"],
        ["generate.loop_ngram=3", "generate.max_sentences=2", "generate.stop=['o T']"]),
}


@pytest.mark.parametrize("case", CASES)
def test_each_row_stop_ends_rows_alike_in_both_decoders(tiny_model, case):
    base, stops = CASES[case]
    free = run(tiny_model, *base)
    fast = run(tiny_model, *base, *stops)
    slow = run(tiny_model, *base, *stops, "generate.decoder=transformers")
    assert generations(fast) == generations(slow)
    assert new_tokens(fast) == new_tokens(slow)
    # the stop really fired: some rows are cut, and each is the start of its free generation
    assert any(n < f for n, f in zip(new_tokens(fast), new_tokens(free)))
    assert all(f.startswith(c) for c, f in zip(generations(fast), generations(free)))


def described(plan) -> dict:
    """A plan's fields, comparable (a tensor of candidate ids as its list)."""
    return {f.name: (lambda v: v.tolist() if isinstance(v, torch.Tensor) else v)(getattr(plan, f.name))
            for f in dataclasses.fields(plan)}


def test_both_decoders_take_the_same_plan_once_per_batch(tiny_model, monkeypatch):
    import summarizer.generate as generate

    taken = {"fast": [], "transformers": []}
    for name in taken:
        decoder = getattr(generate, f"_{name}")

        def recording(encoded, model, plan, decoder=decoder, name=name):
            taken[name].append(plan)
            return decoder(encoded, model, plan)

        monkeypatch.setattr(generate, f"_{name}", recording)
    settings = ["generate.batch_size=2", "generate.head_vocab=50", "generate.copy_bias=1.5",
                "generate.no_repeat_ngram=3", "generate.min_new_tokens=4", "generate.loop_ngram=4",
                "generate.max_sentences=2", "generate.stop=['ar', 'o T']", "generate.lookup_tokens=3",
                "generate.share_prefix=8"]
    fast = run(tiny_model, *settings)
    slow = run(tiny_model, *settings, "generate.decoder=transformers")
    assert generations(fast) == generations(slow)
    assert len(taken["fast"]) == len(taken["transformers"]) == (len(fast) + 1) // 2  # batches of 2
    assert [described(p) for p in taken["fast"]] == [described(p) for p in taken["transformers"]]
    plan = taken["fast"][0]
    assert plan.row_stop == RowStop(["ar", "o T"], 2, 4)
    assert plan.head_ids is not None and plan.sources is not None
    assert (plan.max_new_tokens, plan.min_new_tokens, plan.no_repeat_ngram) == (40, 4, 3)

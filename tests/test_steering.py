import torch

from summarizer.decode import greedy
from summarizer.fasthead import candidate_ids, restricted_head
from summarizer.models import load_model, load_tokenizer
from summarizer.pipeline import Pipeline
from summarizer.plan import RowStop
from summarizer.records import Record
from summarizer.steering import Steering, banned_tokens

from .conftest import ARTICLES


def test_banned_tokens_complete_an_ngram_already_there():
    assert banned_tokens([5, 6, 7, 5], 2) == {6}
    assert banned_tokens([5, 6, 7, 5, 6], 3) == {7}
    assert banned_tokens([5, 6, 7], 3) == set()  # (6, 7) never occurred before
    assert banned_tokens([1, 2], 1) == {1, 2}
    assert banned_tokens([], 2) == set()


def ngrams(tokens, n):
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def test_no_repeated_ngrams_even_for_a_looping_model(tiny_model):
    tokenizer, model = load_tokenizer(tiny_model), load_model(tiny_model)
    encoded = tokenizer(["The council approved the new bridge"], return_tensors="pt")
    with torch.inference_mode():
        plain = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=24, stop_ids=[2])
        steer = Steering(encoded["input_ids"], encoded["attention_mask"], no_repeat_ngram=2,
                         vocab_size=model.config.vocab_size)
        steered = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=24, stop_ids=[2],
                         steer=steer)
    looped = ngrams(plain.tokens[0], 2)
    assert len(set(looped)) < len(looped)  # the tiny model repeats itself when left alone
    kept = ngrams(steered.tokens[0], 2)
    assert len(set(kept)) == len(kept)


def test_copy_bias_pulls_generation_into_the_source(tiny_model):
    tokenizer, model = load_tokenizer(tiny_model), load_model(tiny_model)
    encoded = tokenizer(["Storms closed the harbour and the ferry"], return_tensors="pt")
    source = set(encoded["input_ids"][0].tolist())
    ids = candidate_ids(tokenizer, encoded["input_ids"], 50)
    with torch.inference_mode(), restricted_head(model, ids, compact=True):
        plain = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=16, stop_ids=[2],
                       head_ids=ids)
        steer = Steering(encoded["input_ids"], encoded["attention_mask"], copy_bias=50.0, head_ids=ids,
                         vocab_size=model.config.vocab_size)
        biased = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=16, stop_ids=[2],
                        head_ids=ids, steer=steer)
    assert not set(plain.tokens[0]) <= source
    assert set(biased.tokens[0]) <= source


def test_both_decoders_steer_alike(tiny_model):
    def run(*overrides):
        pipe = Pipeline.load("abstractive", overrides=[f"generate.model={tiny_model!r}", "generate.max_new_tokens=16",
                                                   "generate.copy_bias=1.5", "generate.no_repeat_ngram=2",
                                                   *overrides])
        return [r.generation for r in pipe.run([Record(id=k, text=v) for k, v in ARTICLES.items()])]

    fast = run()
    assert fast == run("generate.decoder=transformers")
    assert fast == run("generate.head_vocab=0")  # full vocabulary columns: same choice
    assert fast != run("generate.copy_bias=0", "generate.no_repeat_ngram=0")


def test_no_end_before_the_minimum_length(tiny_model):
    tokenizer, model = load_tokenizer(tiny_model), load_model(tiny_model)
    encoded = tokenizer(["Rain flooded the harbour"], return_tensors="pt")
    with torch.inference_mode():
        plain = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=30, stop_ids=[2])
        # the tiny model's own frequent tokens as stops: it would end almost at once
        stops = [2, plain.tokens[0][0], plain.tokens[0][1]]
        early = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=30, stop_ids=stops)
        steer = Steering(encoded["input_ids"], encoded["attention_mask"], min_new_tokens=6, stop_ids=stops,
                         vocab_size=model.config.vocab_size)
        late = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=30, stop_ids=stops,
                      steer=steer)
    assert len(early.tokens[0]) < 6
    assert len(late.tokens[0]) >= 6
    assert not set(late.tokens[0][:5]) & set(stops)


def test_copy_bias_lifts_stop_tokens_too_so_summaries_still_end():
    input_ids = torch.tensor([[0, 5, 6, 7], [5, 5, 8, 9]])
    mask = torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]])
    steer = Steering(input_ids, mask, copy_bias=3.0, vocab_size=12, stop_ids=[1, 11])
    out = steer(torch.zeros(2, 12), [0, 1], [[], []])
    assert out[0].nonzero().flatten().tolist() == [1, 5, 6, 7, 11]  # the pad (0) is not the source
    assert out[1].nonzero().flatten().tolist() == [1, 5, 8, 9, 11]
    assert set(out[out != 0].tolist()) == {3.0}


def test_a_looping_row_ends_at_its_first_repeat_in_both_decoders(tiny_model):
    tokenizer, model = load_tokenizer(tiny_model), load_model(tiny_model)
    encoded = tokenizer(["The council approved the new bridge"], return_tensors="pt")
    with torch.inference_mode():
        plain = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=30, stop_ids=[2])
        cut = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=30, stop_ids=[2],
                     stopped=RowStop(loop_ngram=3))
    grams = ngrams(cut.tokens[0], 3)
    assert cut.loops == 1 and grams[-1] in grams[:-1] and len(set(grams[:-1])) == len(grams) - 1
    assert cut.tokens[0] == plain.tokens[0][:len(cut.tokens[0])] and len(cut.tokens[0]) < 30

    def run(*overrides):
        pipe = Pipeline.load("abstractive", overrides=[f"generate.model={tiny_model!r}", "generate.max_new_tokens=30",
                                                   "generate.loop_ngram=3", *overrides])
        return [r.generation for r in pipe.run([Record(id=k, text=v) for k, v in ARTICLES.items()])]

    assert run() == run("generate.decoder=transformers")


def test_copy_bias_favours_the_given_source_not_the_whole_prompt():
    # a few-shot prompt holds the examples' words too: only the row's own source counts
    input_ids = torch.tensor([[5, 6, 7, 8], [5, 6, 9, 10]])
    mask = torch.ones_like(input_ids)
    steer = Steering(input_ids, mask, copy_bias=2.0, vocab_size=12, stop_ids=[1], sources=[[7, 8], None])
    out = steer(torch.zeros(2, 12), [0, 1], [[], []])
    assert out[0].nonzero().flatten().tolist() == [1, 7, 8]
    assert out[1].nonzero().flatten().tolist() == [1, 5, 6, 9, 10]  # no source given: the prompt

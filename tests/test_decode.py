import pytest
import torch

from summarizer.decode import _NgramIndex, greedy, until_stop
from summarizer.fasthead import candidate_ids, restricted_head
from summarizer.models import bf16_matrix_products, load_model, load_tokenizer
from summarizer.pipeline import Pipeline
from summarizer.records import Record

from .conftest import ARTICLES

PROMPTS = [
    "The council approved the new bridge on Monday after a long debate.",
    "Rain",
    "Storms closed the harbour. The ferry to the island did not run, and shops stayed shut.",
]


def encode(tokenizer, prompts):
    tokenizer.padding_side = "left"
    return tokenizer(prompts, return_tensors="pt", padding=True)


def hf_greedy(model, encoded, max_new_tokens, stop_ids, pad):
    """transformers' own greedy generate, cut at the first stop token of each row."""
    with torch.inference_mode():
        out = model.generate(**encoded, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                             eos_token_id=stop_ids, pad_token_id=pad)
    return [until_stop(row, stop_ids) for row in out[:, encoded["input_ids"].shape[1]:].tolist()]


@pytest.fixture(scope="module")
def tiny(tiny_model):
    return load_tokenizer(tiny_model), load_model(tiny_model)


def frequent_tokens(tokenizer, model, encoded, count=2):
    """Tokens the tiny model actually produces, used as stop tokens so rows end at different steps."""
    seen = hf_greedy(model, encoded, 30, [tokenizer.eos_token_id], tokenizer.pad_token_id)
    counts = {}
    for row in seen:
        for token in row[:15]:
            counts[token] = counts.get(token, 0) + 1
    return sorted(counts, key=counts.get, reverse=True)[:count]


@pytest.mark.parametrize("lookup", [0, 3])
@pytest.mark.parametrize("prefill_tokens", [0, 7])
def test_same_tokens_as_transformers_generate(tiny, lookup, prefill_tokens):
    tokenizer, model = tiny
    encoded = encode(tokenizer, PROMPTS)
    stops = [tokenizer.eos_token_id, *frequent_tokens(tokenizer, model, encoded)]
    expected = hf_greedy(model, encoded, 25, stops, tokenizer.pad_token_id)
    with torch.inference_mode():
        got = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=25, stop_ids=stops,
                     lookup_tokens=lookup, prefill_tokens=prefill_tokens)
    assert got.tokens == expected
    # rows really ended at different steps and left the batch
    assert len({len(t) for t in expected}) > 1
    assert got.rows_per_pass[0] == 3 and got.rows_per_pass[-1] < 3


def test_compact_candidate_head_gives_the_restricted_heads_tokens(tiny):
    tokenizer, model = tiny
    encoded = encode(tokenizer, PROMPTS)
    ids = candidate_ids(tokenizer, encoded["input_ids"], 50)
    with restricted_head(model, ids):  # full-width logits, others at the lowest score
        expected = hf_greedy(model, encoded, 20, [tokenizer.eos_token_id], tokenizer.pad_token_id)
    with torch.inference_mode(), restricted_head(model, ids, compact=True):
        got = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=20,
                     stop_ids=[tokenizer.eos_token_id], head_ids=ids)
    assert got.tokens == expected
    assert set(t for row in got.tokens for t in row) <= set(ids.tolist())


def test_prompt_lookup_accepts_copied_text_in_fewer_passes(tiny):
    """The tiny model falls into a loop; a prompt that already holds the loop lets the
    proposals from the prompt be what greedy decoding picks, so several tokens are kept per pass."""
    tokenizer, model = tiny
    opening = "The council approved the new bridge"
    encoded = encode(tokenizer, [opening])
    continuation = hf_greedy(model, encoded, 16, [tokenizer.eos_token_id], tokenizer.pad_token_id)[0]
    prompt = torch.tensor([encoded["input_ids"][0].tolist() + continuation])
    mask = torch.ones_like(prompt)
    with torch.inference_mode():
        plain = greedy(model, prompt, mask, max_new_tokens=12, stop_ids=[tokenizer.eos_token_id])
        looked = greedy(model, prompt, mask, max_new_tokens=12, stop_ids=[tokenizer.eos_token_id],
                        lookup_tokens=4, lookup_ngram=2)
    assert looked.tokens == plain.tokens
    assert looked.accepted > 0
    assert looked.passes < plain.passes


def test_ngram_index_proposes_what_followed_the_latest_occurrence():
    index = _NgramIndex([5, 6, 7, 8, 5, 6, 9, 10], 2)
    assert index.after([1, 5, 6], 3) == [9, 10]
    assert index.after([7, 8], 2) == [5, 6]
    assert index.after([9, 10], 2) == []  # at the very end: nothing follows
    assert index.after([4, 4], 2) == []


def test_stopped_callback_ends_a_row(tiny):
    tokenizer, model = tiny
    encoded = encode(tokenizer, PROMPTS[:1])
    with torch.inference_mode():
        got = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=20,
                     stop_ids=[tokenizer.eos_token_id], stopped=lambda tokens: len(tokens) == 4)
    assert len(got.tokens[0]) == 4


def test_fast_and_transformers_decoders_give_the_same_records(tiny_model):
    def run(*overrides):
        pipe = Pipeline.load("default", overrides=[f"generate.model={tiny_model!r}", "generate.max_new_tokens=12",
                                                   "generate.batch_size=3", *overrides])
        return list(pipe.run([Record(id=k, text=v) for k, v in ARTICLES.items()]))

    fast = run()
    slow = run("generate.decoder=transformers")
    assert [r.generation for r in fast] == [r.generation for r in slow]
    assert [t["new_tokens"] for r in fast for t in r.trace if t["stage"] == "generate"] == \
        [t["new_tokens"] for r in slow for t in r.trace if t["stage"] == "generate"]
    looked = run("generate.lookup_tokens=3")
    assert [r.generation for r in looked] == [r.generation for r in fast]


def test_unknown_decoder_is_refused(tiny_model):
    from summarizer.errors import ConfigError

    # Refused when the pipeline loads, before any document is read.
    with pytest.raises(ConfigError, match="'beam'.*valid choices: fast, transformers"):
        Pipeline.load("default", overrides=[f"generate.model={tiny_model!r}", "generate.decoder=beam"])


def test_mixed_precision_switches_the_linear_layers_but_not_the_head(tiny_model):
    from summarizer.models import load_base_model

    model = load_base_model(tiny_model, torch.float32).eval()
    ids = torch.tensor([[1, 20, 30, 40, 50]])
    with torch.inference_mode():
        exact = model(ids).logits
        switched = bf16_matrix_products(model)
        mixed = model(ids).logits
    assert switched == 2 * 7  # q, k, v, o, gate, up, down in each of the 2 layers
    assert model.get_output_embeddings().weight.dtype == torch.float32
    assert mixed.dtype == torch.float32
    assert not torch.equal(mixed, exact)
    assert torch.allclose(mixed, exact, atol=0.05)


def test_negative_decoding_settings_are_refused(tiny_model):
    from summarizer.errors import ConfigError

    with pytest.raises(ConfigError, match="generate.loop_ngram = -2 .*out of range: it must be >= 0 \\(0 = off\\)"):
        Pipeline.load("default", overrides=[f"generate.model={tiny_model!r}", "generate.loop_ngram=-2"])


@pytest.mark.parametrize("prefill_tokens", [0, 7])
def test_a_common_prompt_beginning_is_read_once_with_the_same_tokens(tiny, prefill_tokens):
    tokenizer, model = tiny
    shots = "Summary: the town will build a bridge.\n\nDr. Lee said the plan would cost 4.5 million crowns.\n\n"
    # the third row is padded by more than the shared prefix is long
    prompts = [shots + PROMPTS[2][:70], shots + PROMPTS[2], shots[:80]]
    encoded = encode(tokenizer, prompts)
    pads = (encoded["attention_mask"] == 0).sum(dim=1).tolist()
    stops = [tokenizer.eos_token_id, *frequent_tokens(tokenizer, model, encoded)]
    expected = hf_greedy(model, encoded, 20, stops, tokenizer.pad_token_id)
    with torch.inference_mode():
        got = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=20, stop_ids=stops,
                     prefill_tokens=prefill_tokens, share_prefix=4)
        alone = greedy(model, encoded["input_ids"][:2], encoded["attention_mask"][:2], max_new_tokens=20,
                       stop_ids=stops, prefill_tokens=prefill_tokens, share_prefix=4)
    assert alone.shared_prefix > 20 and alone.tokens == expected[:2]
    assert 0 < pads[0] < got.shared_prefix < pads[2]  # padded rows of both kinds
    assert got.tokens == expected


def test_no_sharing_below_the_minimum(tiny):
    tokenizer, model = tiny
    encoded = encode(tokenizer, PROMPTS)
    with torch.inference_mode():
        got = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=5,
                     stop_ids=[tokenizer.eos_token_id], share_prefix=32)
    assert got.shared_prefix == 0

from summarizer.config import load_pipeline
from summarizer.pipeline import Pipeline
from summarizer.records import Record

from .conftest import ARTICLES


def pipeline(model, *overrides):
    return Pipeline(load_pipeline("abstractive", [f"generate.model={model!r}", "generate.max_new_tokens=12",
                                              *overrides]))


def records():
    texts = list(ARTICLES.values()) + ["Short one. Tiny."]
    return [Record(id=str(i), text=t) for i, t in enumerate(texts)]


def test_batched_left_padded_generation_matches_one_at_a_time(tiny_model):
    one = [r.generation for r in pipeline(tiny_model, "generate.batch_size=1").run(records())]
    batched = list(pipeline(tiny_model, "generate.batch_size=4").run(records()))
    assert [r.generation for r in batched] == one
    # prompts of different lengths really were padded together in one batch
    gen = [t for r in batched for t in r.trace if t["stage"] == "generate"]
    assert {t["batch_size"] for t in gen} == {4}
    assert len({t["prompt_tokens"] for t in gen}) > 1


def test_output_keeps_input_order_and_skips_failed_records(tiny_model):
    recs = records()
    recs[1].error = "ingest: broken"
    out = list(pipeline(tiny_model, "generate.window=3").run(recs))
    assert [r.id for r in out] == ["0", "1", "2", "3"]
    assert out[1].generation is None and out[1].error == "ingest: broken"
    assert all(r.summary for i, r in enumerate(out) if i != 1)
    assert all(r.generation is not None for i, r in enumerate(out) if i != 1)


def test_new_tokens_are_bounded(tiny_model):
    out = list(pipeline(tiny_model).run(records()))
    assert all(t["new_tokens"] <= 12 for r in out for t in r.trace if t["stage"] == "generate")


def test_base_model_gets_the_template_and_chat_model_the_chat_template(tiny_model, tiny_chat_model):
    base = next(pipeline(tiny_model).run(records()[:1]))
    assert base.prompt.endswith("\n\nStory highlights:\n")
    assert base.prompt.count("Story highlights:") == 3  # two few-shot examples, then the article
    chat = next(pipeline(tiny_chat_model).run(records()[:1]))
    assert chat.prompt.startswith("<bos><|user|>\nSummarize the following article")
    assert chat.prompt.endswith("<|assistant|>\n")
    assert [t for t in chat.trace if t["stage"] == "prompt"][0]["format"] == "chat"
    assert chat.summary


def test_single_token_stop_strings_are_matched_by_id(tiny_model):
    from summarizer.generate import _split_stops
    from summarizer.models import load_tokenizer

    tokenizer = load_tokenizer(tiny_model)
    single = tokenizer.decode([tokenizer("council", add_special_tokens=False)["input_ids"][0]])
    ids, strings = _split_stops(tokenizer, [single, "zq#xv END"])
    assert ids == tokenizer(single, add_special_tokens=False)["input_ids"]
    assert strings == ["zq#xv END"]


def test_a_stop_inside_a_longer_token_ends_the_row_in_both_decoders(tiny_model):
    """Gemma has a token for "\n" and another for "\n\n": stopping at "\n" by its id alone
    let rows run on past "\n\n" (found in the rewrite stage's one-line outputs)."""
    from summarizer.models import load_tokenizer

    tokenizer = load_tokenizer(tiny_model)
    settings = ["generate.max_new_tokens=30", "generate.copy_bias=5", "generate.no_repeat_ngram=2"]
    free = [r for r in pipeline(tiny_model, *settings, "generate.stop=[]").run(records())]
    # a character that the model wrote inside a token of two or more characters
    pieces = [tokenizer.decode([t]) for r in free for t in tokenizer(r.generation, add_special_tokens=False)["input_ids"]]
    stop = next(p[0] for p in pieces if len(p) >= 2 and p[0].isalpha())
    assert len(tokenizer(stop, add_special_tokens=False)["input_ids"]) == 1  # a one-token stop, matched by id too
    fast = [r.generation for r in pipeline(tiny_model, *settings, f"generate.stop=[{stop!r}]").run(records())]
    slow = [r.generation for r in pipeline(tiny_model, *settings, f"generate.stop=[{stop!r}]",
                                           "generate.decoder=transformers").run(records())]
    assert fast == slow
    for cut, whole in zip(fast, (r.generation for r in free)):
        assert whole.startswith(cut)
        ids = tokenizer(cut, add_special_tokens=False)["input_ids"]
        assert stop not in tokenizer.decode(ids[:-1])  # nothing before the last token holds the stop
    assert any(len(c) < len(w.generation) for c, w in zip(fast, free))  # rows really were cut



def test_finished_sentences_counts_ends_lines_and_not_abbreviations():
    from summarizer.segment import finished_sentences

    assert finished_sentences("") == 0
    assert finished_sentences("The U.S. said so. Then") == 1
    assert finished_sentences("Mr. Smith left. ") == 1
    assert finished_sentences("One. Two! Three? ") == 3
    assert finished_sentences("It cost 3.5 million") == 0
    assert finished_sentences("A headline without a stop\n- and a list item\n- still") == 2
    assert finished_sentences("Done.\n\n") == 1  # one sentence, however many line breaks follow
    assert finished_sentences("中国很大。北京") == 1


def test_max_sentences_ends_rows_after_that_many_sentences_in_both_decoders(tiny_model):
    from summarizer.segment import finished_sentences

    # copy bias and no repeats keep the random model from looping on one sentence-free phrase
    steer = ["generate.max_new_tokens=40", "generate.stop=[]", "generate.copy_bias=5", "generate.no_repeat_ngram=2"]
    free = [r.generation for r in pipeline(tiny_model, *steer).run(records())]
    fast = [r.generation for r in pipeline(tiny_model, *steer, "generate.max_sentences=1").run(records())]
    slow = [r.generation for r in pipeline(tiny_model, *steer, "generate.max_sentences=1",
                                           "generate.decoder=transformers").run(records())]
    assert fast == slow
    assert any(len(c) < len(f) for c, f in zip(fast, free))  # some rows really are cut
    for cut, whole in zip(fast, free):
        assert whole.startswith(cut)
        assert finished_sentences(cut) == 1 or (cut == whole and finished_sentences(whole) == 0)


def test_end_of_turn_ids_are_those_of_the_vocabulary(tiny_model, tiny_chat_model):
    from summarizer.generate import _token_id
    from summarizer.models import load_tokenizer

    for folder in (tiny_model, tiny_chat_model):
        tokenizer = load_tokenizer(folder)
        vocab = tokenizer.get_vocab()
        tokens = ["<|end|>", "<eos>", "<pad>", "<end_of_turn>", "<|im_end|>", "not-a-token", "<unk>", *list(vocab)[:50]]
        for token in tokens:
            assert _token_id(tokenizer, token) == vocab.get(token), token

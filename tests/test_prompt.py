import pytest

from summarizer.config import load_pipeline
from summarizer.errors import ConfigError
from summarizer.prompt import base_prompt, chat_prompt
from summarizer.stages import Context

EXAMPLES = [
    {"article": "The mill closed after 90 years.", "summary": "A 90-year-old mill closes."},
    {"article": "Snow shut the pass on Friday.", "summary": "Snow closes the pass."},
]


def config(*overrides):
    return load_pipeline("abstractive", list(overrides))


def test_base_prompt_shows_the_examples_through_the_template_then_the_article():
    cfg = config('prompt.template="{text}\\n\\nIn {sentences} lines:\\n"', "prompt.sentences=2").prompt
    cfg.examples = EXAMPLES
    prompt = base_prompt("Rain flooded the harbour.", cfg, None)
    assert prompt == (
        "The mill closed after 90 years.\n\nIn 2 lines:\nA 90-year-old mill closes.\n\n\n"
        "Snow shut the pass on Friday.\n\nIn 2 lines:\nSnow closes the pass.\n\n\n"
        "Rain flooded the harbour.\n\nIn 2 lines:\n"
    )


def test_braces_in_an_article_are_left_alone():
    cfg = config().prompt
    assert base_prompt("Set {x} to {text}.", cfg, None).endswith("\n\n\nSet {x} to {text}.\n\nStory highlights:\n")


def test_chat_prompt_gives_the_examples_as_earlier_turns(tiny_chat_model):
    pipeline = config(f"generate.model={tiny_chat_model!r}", 'prompt.instruction="Summarize in {sentences} sentences."',
                      "prompt.sentences=1")
    pipeline.prompt.examples = EXAMPLES[:1]
    ctx = Context(pipeline)
    prompt = chat_prompt("Rain flooded the harbour.", pipeline.prompt, ctx)
    assert prompt == (
        "<bos><|user|>\nSummarize in 1 sentences.\n\nThe mill closed after 90 years.<|end|>\n"
        "<|assistant|>\nA 90-year-old mill closes.<|end|>\n"
        "<|user|>\nSummarize in 1 sentences.\n\nRain flooded the harbour.<|end|>\n<|assistant|>\n"
    )


@pytest.mark.parametrize("example", [{"article": "x"}, {"article": "x", "summary": 3},
                                     {"article": "x", "summary": "y", "title": "z"}])
def test_a_malformed_example_is_refused_with_the_fix(example):
    cfg = config().prompt
    cfg.examples = [example]
    with pytest.raises(ConfigError, match=r"prompt.examples\[1\].*article = \"...\" and summary = \"...\""):
        base_prompt("text", cfg, None)


def test_examples_load_from_a_pipeline_file(tmp_path):
    path = tmp_path / "fewshot.toml"
    path.write_text('stages = ["chunk", "extract", "prompt"]\n[[prompt.examples]]\narticle = "A."\nsummary = "B."\n',
                    encoding="utf-8")
    assert load_pipeline(str(path)).prompt.examples == [{"article": "A.", "summary": "B."}]


def test_a_template_ending_in_a_colon_gets_a_space_before_each_example_summary():
    cfg = config('prompt.template="Sentence: {text}\\nShort:"', 'prompt.example_separator="\\n\\n"').prompt
    cfg.examples = EXAMPLES[:1]
    assert base_prompt("Rain flooded the harbour.", cfg, None) == (
        "Sentence: The mill closed after 90 years.\nShort: A 90-year-old mill closes.\n\n"
        "Sentence: Rain flooded the harbour.\nShort:"
    )

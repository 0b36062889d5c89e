"""Chinese end to end, without the real model: the language of a document, the prompt and
generate settings chosen by it, the wrong-language filter, CJK joining and lengths in
characters, and a run of the pipeline on Chinese text with a tiny model."""

from __future__ import annotations

import pytest

from summarizer.errors import ConfigError
from summarizer.filter import cut_unfinished, dedupe, low_support, max_length, strip_echo, wrong_language, \
    MaxLengthOptions, LowSupportOptions
from summarizer.generate import by_language
from summarizer.language import cjk_share, detect, is_cjk, join_sentences, length, tidy_spaces
from summarizer.pipeline import Pipeline
from summarizer.prompt import for_language, make_prompt
from summarizer.records import Record
from summarizer.stages import Context

POST = ("本市第三条地铁线路将于明年开通试运营。该线路全长28公里，连接火车东站与大学城。"
        "开通后，从市中心到大学城只需35分钟。")
NEWS = "The council voted on Monday to close the bridge. Repairs will take six weeks."


def test_detect_by_script():
    assert detect(POST) == "zh"
    assert detect(NEWS) == "en"
    assert detect("東京タワーは高いです。") == "ja"
    assert detect("서울은 큰 도시입니다.") == "ko"
    assert detect("2024 — 3:1 !!") == "und"
    assert detect("苹果公司发布了新款iPhone和Apple Watch，价格与去年相同。") == "zh"  # brand names stay in a Chinese post
    assert is_cjk("zh-Hant") and is_cjk("ja_JP") and not is_cjk("en") and not is_cjk(None)


def test_chunk_records_the_language():
    pipe = Pipeline.load("extractive")
    zh, en = pipe.run_texts([POST, NEWS])
    assert (zh.language, en.language) == ("zh", "en")
    forced = Pipeline.load("extractive", overrides=['chunk.language="zh-Hant"']).run_texts([POST])[0]
    assert forced.language == "zh-Hant"


def test_no_space_between_cjk_sentences():
    assert join_sentences(["未来，智能手机。", "它将改变世界。"]) == "未来，智能手机。它将改变世界。"
    assert join_sentences(["One.", "Two."]) == "One. Two."
    assert tidy_spaces("角落。 未来， iPhone  很好") == "角落。未来， iPhone 很好"
    summary = Pipeline.load("extractive", overrides=["extract.max_sentences=2"]).run_texts([POST])[0].summary
    assert "。 " not in summary and summary.count("。") == 2


def test_length_counts_characters_for_cjk_and_words_otherwise():
    assert length("未来，智能手机。") == 8
    assert length("The phone is a computer.") == 5
    record = Record(id="a", text=POST, language="zh")
    kept, note = max_length("第三条地铁线路明年开通。全长28公里。", record, None, MaxLengthOptions(max_words=14))
    assert kept == "第三条地铁线路明年开通。" and "characters" in note
    cut, _ = max_length("第三条地铁线路将于明年开通试运营。", record, None, MaxLengthOptions(max_words=6, cut=True))
    assert cut == "第三条地铁线…"


def test_the_max_words_help_says_characters_for_cjk():
    from click.testing import CliRunner

    from summarizer.cli import main

    help_text = " ".join(CliRunner().invoke(main, ["run", "--help"]).output.split())
    assert "characters for Chinese, Japanese and Korean" in help_text


def test_wrong_language_rejects_a_generation_in_another_script():
    zh = Record(id="a", text=POST, language="zh")
    en = Record(id="b", text=NEWS, language="en")
    text, note = wrong_language("This article is about a new metro line in the city.", zh, None, None)
    assert text == "" and "zh source" in note
    assert wrong_language("第三条地铁线明年开通", zh, None, None) == ("第三条地铁线明年开通", None)
    assert wrong_language("第三条 metro 线明年开通", zh, None, None)[1] is None  # mostly Chinese: kept
    text, note = wrong_language("市议会投票关闭大桥。", en, None, None)
    assert text == "" and "Latin-script source" in note
    assert wrong_language(NEWS, en, None, None) == (NEWS, None)


def test_a_chinese_headline_ended_by_a_blank_line_is_a_finished_sentence():
    record = Record(id="a", text=POST, language="zh")
    ctx = Context(Pipeline.load("default").config)
    text, _ = strip_echo(" 第三条地铁线明年开通\n\n下一篇", record, ctx, None)
    assert text == "第三条地铁线明年开通。"
    assert cut_unfinished(text, record, ctx, None) == (text, None)
    # English is as before: a line cut at a blank line without its full stop is unfinished
    english, _ = strip_echo(" The bridge will close\n\nNext", Record(id="b", text=NEWS), ctx, None)
    assert english == "The bridge will close"


def test_support_and_repeats_by_character_pairs_for_chinese():
    record = Record(id="a", text=POST, language="zh")
    kept, note = low_support("第三条地铁线路明年开通。火星探测器发射升空。", record, None, LowSupportOptions(0.5))
    assert kept == "第三条地铁线路明年开通。" and "火星" in note
    text, note = dedupe("地铁线路明年开通。地铁线路明年开通了。大学城只需35分钟。", record, None, None)
    assert text == "地铁线路明年开通。大学城只需35分钟。" and note


def test_prompt_tables_by_language():
    cfg = Pipeline.load("default").config
    assert "标题" in for_language(cfg.prompt, "zh").template
    assert for_language(cfg.prompt, "zh-Hans").template == for_language(cfg.prompt, "zh").template
    assert for_language(cfg.prompt, "en") is cfg.prompt
    ctx = Context(cfg)
    chinese = make_prompt(POST, cfg.prompt, ctx, "base", "zh")
    assert chinese.endswith(POST + "\n\n标题：") and "地铁" in chinese.split(POST)[0]  # Chinese few-shot examples
    assert make_prompt(NEWS, cfg.prompt, ctx, "base", "en").endswith("Summary in 3 sentences:")
    never = Pipeline.load("default", overrides=['prompt.language="none"']).config.prompt
    assert for_language(never, "zh") is never
    forced = Pipeline.load("default", overrides=['prompt.language="zh"']).config.prompt
    assert "标题" in for_language(forced, "en").template


def test_a_language_table_with_an_unknown_setting_is_refused():
    with pytest.raises(ConfigError, match="format"):
        Pipeline.load("default", overrides=['prompt.languages={zh={format="chat"}}'])
    with pytest.raises(ConfigError, match="device"):
        Pipeline.load("default", overrides=['generate.languages={zh={device="cpu"}}'])


def test_generate_settings_by_language_split_a_window():
    cfg = Pipeline.load("default").config
    ctx = Context(cfg)
    records = [Record(id="a", text=NEWS, language="en"), Record(id="b", text=POST, language="zh"),
               Record(id="c", text=NEWS, language="en")]
    groups = list(by_language(records, ctx))
    assert [[r.id for r in group] for group, _ in groups] == [["a", "c"], ["b"]]
    assert groups[0][1] is ctx and ctx.config.generate.adapter == "builtin"
    assert groups[1][1].config.generate.adapter == "" and groups[1][1].config.generate.max_new_tokens == 96


def test_a_chinese_post_through_the_whole_pipeline_with_a_tiny_model(tiny_model):
    pipe = Pipeline.load("abstractive", model=tiny_model, overrides=["generate.max_new_tokens=8"])
    english_prompt = Pipeline.load("abstractive", model=tiny_model, overrides=['prompt.language="none"'])
    zh = pipe.run_texts([POST])[0]
    assert zh.language == "zh" and zh.error is None
    assert zh.prompt.endswith("标题：") and zh.prompt != english_prompt.run_texts([POST])[0].prompt
    assert (cjk_share(zh.summary) or 0) > 0.9 and "。 " not in zh.summary
    entry = next(t for t in zh.trace if t["stage"] == "prompt")
    assert entry["language"] == "zh"


def test_the_fallback_of_a_chinese_document_has_its_own_length():
    from summarizer.filter import fallback_sentences

    cfg = Pipeline.load("default").config.filter
    assert fallback_sentences(cfg, "zh") == 1 and fallback_sentences(cfg, "zh-Hant") == 1
    assert fallback_sentences(cfg, "en") == cfg.fallback_sentences == 2
    with pytest.raises(ConfigError, match="not a setting a language can replace"):
        Pipeline.load("default", overrides=['filter.languages={zh={steps=[]}}'])
    record = Record(id="a", text=POST, language="zh", sentences=[[0, 19], [19, 41], [41, 59]], extract=[0, 1],
                    generation="This post is about a metro line.")
    from summarizer.filter import filter_record

    filter_record(record, Context(Pipeline.load("default").config))
    assert record.fallback and record.summary == POST[:19]  # the wrong-language generation gave way to one sentence


def test_finetune_trains_on_chinese_pairs_with_their_own_prompts(tiny_trainable_model, tmp_path):
    import json

    from summarizer.finetune import FinetuneConfig, finetune
    from summarizer.finetune_pairs import build_prompts, read_pairs

    posts = [("本市第三条地铁线路将于明年开通试运营。该线路全长28公里。", "第三条地铁线明年开通"),
             ("调查显示，六成上班族每天用手机超过5小时。专家建议睡前关闭屏幕。", "六成上班族每天用手机超过5小时"),
             ("市图书馆今年新增图书3万册。馆长表示，周末将延长开放时间。", "市图书馆新增图书3万册")]
    path = tmp_path / "zh.jsonl"
    path.write_text("".join(json.dumps({"id": f"z{i}", "article": a, "summary": s}, ensure_ascii=False) + "\n"
                            for i, (a, s) in enumerate(posts * 2)), encoding="utf-8")
    pipe = Pipeline.load("abstractive", model=tiny_trainable_model)
    pairs = build_prompts(read_pairs(path), pipe)
    kept = pairs.records
    # the Chinese table's prompt, as at run time; the fusion derivation keeps the references
    # whose numbers and names (Chinese numerals, character runs) the extract holds
    assert len(kept) == 6 and all(r.prompt.endswith("标题：") for r in kept)
    config = FinetuneConfig(max_steps=2, learning_rate=1e-2, grad_accum=1, save_steps=2, eval_docs=2, lora_r=4, lora_alpha=8)
    result = finetune(path, tmp_path / "adapter", pipeline="abstractive", model=tiny_trainable_model, config=config)
    assert result.metadata["data"]["pairs_used"] == 6 and result.metadata["training"]["steps"] == 2
    invented = tmp_path / "invented.jsonl"
    invented.write_text(json.dumps({"id": "x", "article": posts[0][0], "summary": "张伟称云溪镇地铁明年开通"},
                                   ensure_ascii=False) + "\n", encoding="utf-8")
    assert not build_prompts(read_pairs(invented), pipe).records  # an invented name is no training target

import pytest

from summarizer.config import builtin_pipelines, load_pipeline
from summarizer.errors import ConfigError


def test_builtin_pipelines_load():
    assert {"default", "extractive", "lead3"} <= set(builtin_pipelines())
    for name in builtin_pipelines():
        config = load_pipeline(name)
        assert config.name == name and config.stages


def test_model_free_pipelines_do_not_use_a_model():
    assert not load_pipeline("lead3").uses_model
    assert not load_pipeline("extractive").uses_model
    assert load_pipeline("default").uses_model
    assert load_pipeline("compress").uses_model  # the rewrite stage calls the model
    assert load_pipeline("abstractive").uses_model


def test_overrides_are_typed():
    config = load_pipeline("default", ["extract.budget_tokens=300", "generate.model=some/model",
                                       'generate.stop=["\\n", "END"]', "prompt.template={text} TL;DR:"])
    assert config.extract.budget_tokens == 300
    assert config.generate.model == "some/model"
    assert config.generate.stop == ["\n", "END"]
    assert config.prompt.template == "{text} TL;DR:"


def test_override_changes_fingerprint():
    assert load_pipeline("default").fingerprint() == load_pipeline("default").fingerprint()
    assert load_pipeline("default").fingerprint() != load_pipeline("default", ["generate.batch_size=2"]).fingerprint()


@pytest.mark.parametrize(
    "override, expected",
    [
        ("extract.budget=3", "valid settings of [extract]: strategy, budget_tokens, max_sentences"),
        ("extrct.budget_tokens=3", "valid sections: chunk, extract, filter, generate, map_reduce, prompt, rewrite"),
        ("extract.budget_tokens=many", "must be of type int"),
        ("budget_tokens", "section.key=value"),
    ],
)
def test_bad_overrides_name_the_fix(override, expected):
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        load_pipeline("default", [override])


def test_unknown_pipeline_lists_choices():
    with pytest.raises(ConfigError, match="built-in pipelines: abstractive, compress, default, extractive, lead3"):
        load_pipeline("nope")


def test_unknown_keys_in_file_are_errors(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('stages = ["chunk", "extract", "filter"]\n[extract]\nstrategy = "lead"\nbudgt = 3\n')
    with pytest.raises(ConfigError, match="unknown setting extract.budgt"):
        load_pipeline(str(path))
    path.write_text('stagez = ["chunk"]\n')
    with pytest.raises(ConfigError, match="unknown key"):
        load_pipeline(str(path))


def test_unknown_stage_is_an_error(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('stages = ["chunk", "summon"]\n')
    with pytest.raises(ConfigError, match="unknown stage 'summon'; valid choices: chunk, extract"):
        load_pipeline(str(path))


def test_pipeline_file_by_path(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text('stages = ["chunk", "extract", "filter"]\n[chunk]\ntokenizer = "words"\n[extract]\nmax_sentences = 2\nbudget_tokens = 0\n')
    config = load_pipeline(str(path))
    assert config.name == "two" and config.extract.max_sentences == 2


def test_the_fingerprint_covers_what_changes_output_only(tmp_path):
    base = load_pipeline("extractive")
    # the name, the description and the CPU threads change nothing a run writes: a resumed run
    # must not recompute what it finished because of them
    renamed = tmp_path / "mine.toml"
    renamed.write_text((builtin_pipelines()["extractive"]).read_text(encoding="utf-8").replace(
        'description = "', 'description = "Edited. '), encoding="utf-8")
    assert load_pipeline(str(renamed)).fingerprint() == base.fingerprint()
    assert load_pipeline("extractive", ["generate.threads=3"]).fingerprint() == base.fingerprint()
    # every setting that can change a summary does count
    assert load_pipeline("extractive", ["extract.budget_tokens=60"]).fingerprint() != base.fingerprint()
    assert load_pipeline("extractive", ["generate.batch_size=4"]).fingerprint() != base.fingerprint()
    assert load_pipeline("extractive", ['filter.steps=["dedupe"]']).fingerprint() != base.fingerprint()

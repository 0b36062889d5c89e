import pytest

from summarizer.errors import ConfigError
from summarizer.evaluation.suite import load_suite


def write(tmp_path, text, name="s.toml"):
    (tmp_path / "d.jsonl").write_text('{"id": "1", "text": "A.", "summary": "A."}\n')
    path = tmp_path / name
    path.write_text(text)
    return path


def test_tables_lists_and_overrides(tmp_path):
    suite = load_suite(write(tmp_path, (
        'description = "x"\nset = ["generate.batch_size=2"]\nseed = 7\nresamples = 50\n'
        '[datasets.d]\npath = "d.jsonl"\nlimit = 4\n'
        '[pipelines.base]\npipeline = "lead3"\n'
        '[pipelines.small]\npipeline = "extractive"\nset = ["extract.budget_tokens=40"]\n'
    )))
    assert suite.name == "s" and suite.description == "x"
    assert [(d.name, d.path, d.limit) for d in suite.datasets] == [("d", tmp_path / "d.jsonl", 4)]
    assert [(p.name, p.pipeline, p.set) for p in suite.pipelines] == [
        ("base", "lead3", []), ("small", "extractive", ["extract.budget_tokens=40"])]
    assert suite.set == ["generate.batch_size=2"]
    assert (suite.eval.seed, suite.eval.resamples) == (7, 50)
    short = load_suite(write(tmp_path, 'pipelines = ["lead3", "extractive"]\n[datasets.d]\npath = "d.jsonl"\n'))
    assert [p.pipeline for p in short.pipelines] == ["lead3", "extractive"]


@pytest.mark.parametrize("text, message", [
    ('colour = 1\npipelines = ["lead3"]\n[datasets.d]\npath = "d.jsonl"\n', "unknown key(s) 'colour'; valid keys: description"),
    ('pipelines = ["lead3"]\n[datasets.d]\npath = "d.jsonl"\nlimit = 0\n', "limit must be at least 1"),
    ('pipelines = ["lead3"]\n[datasets.d]\npath = "d.jsonl"\nlimit = "5"\n', "must be an integer"),
    ('pipelines = ["lead3"]\n[datasets.d]\nlimit = 5\n', "needs a path"),
    ('pipelines = ["lead3"]\n[datasets.d]\npath = "nope.jsonl"\n', "'nope.jsonl' not found; looked at"),
    ('[datasets.d]\npath = "d.jsonl"\n', "at least one entry in [pipelines.NAME]"),
    ('[pipelines.p]\npipeline = "lead3"\nmodel = "x"\nbatch = 2\n[datasets.d]\npath = "d.jsonl"\n',
     "valid keys: pipeline, model, set"),
    ('pipelines = ["lead3"\n', "not valid TOML"),
])
def test_bad_suites_are_clear_errors(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_suite(write(tmp_path, text))
    assert message in str(info.value)


def test_missing_suite_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_suite(tmp_path / "none.toml")

"""The stage contract: built-in stages load from the registry on first use, and every module of
the package imports first in a fresh interpreter (no module-level import cycle)."""

import ast
import pkgutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import summarizer
from summarizer.config import setting
from summarizer.errors import ConfigError
from summarizer.pipeline import Pipeline
from summarizer.stages import STAGES, per_record, stage

MODULES = sorted(m.name for m in pkgutil.walk_packages(summarizer.__path__, "summarizer.")
                 if not m.name.startswith("summarizer.pipelines"))


@pytest.mark.parametrize("module", MODULES)
def test_every_module_imports_first_in_a_fresh_interpreter(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_built_in_stages_load_from_the_registry_on_first_use():
    code = ("import sys; from summarizer.stages import STAGES; "
            "assert 'summarizer.chunk' not in sys.modules, 'the contract imported an implementation'; "
            "assert STAGES.names() == ['chunk', 'extract', 'filter', 'generate', 'map_reduce', 'prompt', 'rewrite'], "
            "STAGES.names(); print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_user_stage_registers_beside_the_built_ins():
    from summarizer.records import Record
    from summarizer.stages import STAGES, per_record

    def shout(record, ctx):
        record.summary = record.text.upper()

    name = "test_shout"
    if name not in STAGES:
        STAGES.register(name)(per_record(name, shout))
    assert "chunk" in STAGES and name in STAGES.names()
    record = next(iter(STAGES.get(name)([Record(id="a", text="hi")], None)))
    assert record.summary == "HI"


# A user stage with settings of its own, declared beside it: what the README shows.
@dataclass
class StarsSettings:
    # how many stars end the summary
    count: int = setting(1, min=1, max=5)
    mark: str = setting("*", choices=("*", "+"))


def _stars(record, ctx):
    cfg = ctx.config.test_stars
    record.summary = (record.summary or "") + " " + cfg.mark * cfg.count


if "test_stars" not in STAGES:
    stage("test_stars", settings=StarsSettings)(per_record("test_stars", _stars))


def test_a_user_stage_declares_settings_that_the_pipeline_file_sets(tmp_path):
    path = tmp_path / "stars.toml"
    path.write_text('stages = ["chunk", "extract", "filter", "test_stars"]\n[chunk]\ntokenizer = "words"\n'
                    '[extract]\nmax_sentences = 1\n[test_stars]\ncount = 3\n', encoding="utf-8")
    pipe = Pipeline.load(str(path), overrides=["test_stars.mark=+"])
    assert pipe.config.test_stars == StarsSettings(count=3, mark="+")
    assert pipe.summarize(["The bridge opens on Friday. Work starts soon."]) == ["The bridge opens on Friday. +++"]
    # its settings are part of the fingerprint, as the built-ins' are: a resumed run recomputes
    assert Pipeline.load(str(path)).config.fingerprint() != pipe.config.fingerprint()


@pytest.mark.parametrize("bad, expected", [
    ("test_stars.count=9", "test_stars.count = 9 (from --set) is out of range: it must be between 1 and 5. "
                           "Fix it with --set test_stars.count=1."),
    ("test_stars.mark=x", "test_stars.mark = 'x' (from --set) is not a valid choice; valid choices: *, +"),
    ("test_stars.size=2", "unknown setting test_stars.size; valid settings of [test_stars]: count, mark"),
])
def test_a_user_stages_settings_are_checked_at_load_like_the_built_ins(bad, expected):
    with pytest.raises(ConfigError) as caught:
        Pipeline.load("extractive", overrides=[bad])
    assert expected in str(caught.value)


def test_a_section_no_stage_declares_is_refused_naming_the_sections(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text('stages = ["chunk", "extract", "filter"]\n[test_starz]\ncount = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'test_starz'; valid keys: chunk, description, extract"):
        Pipeline.load(str(path))


def test_no_module_level_import_cycle_inside_the_package():
    """Package-internal imports at the top of a module form no cycle (imports under
    TYPE_CHECKING and inside functions aside)."""
    root = Path(summarizer.__file__).parent
    graph = {}
    for path in root.rglob("*.py"):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        imported = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                imported |= {module} | {f"{module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
        graph[name] = imported
    graph = {name: {m for m in deps if m in graph and m != name} for name, deps in graph.items()}

    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return path + [start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
        return None

    cycles = [c for c in map(cycle_from, graph) if c]
    assert not cycles, " -> ".join(cycles[0])

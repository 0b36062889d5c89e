"""The stage contract: built-in stages load from the registry on first use, and every module of
the package imports first in a fresh interpreter (no module-level import cycle)."""

import pkgutil
import subprocess
import sys

import pytest

import summarizer

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

"""The Python versions pyproject.toml promises (requires-python) are the ones the code runs on:
every module parses with that version's grammar, and a module of the standard library that
is newer than it is imported only where a fallback catches its absence (tomllib: tomli)."""

import ast
import importlib
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from summarizer.tomlcompat import tomllib

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "summarizer").rglob("*.py"))
# Standard-library modules newer than the oldest Python a release of this package may claim.
NEWER_STDLIB = {"tomllib": (3, 11)}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def minimum_python() -> tuple[int, int]:
    found = re.fullmatch(r">=\s*(\d+)\.(\d+)", project()["requires-python"].strip())
    assert found, "requires-python is not of the form '>=3.N'; teach this test the new form"
    return int(found.group(1)), int(found.group(2))


def test_every_module_parses_with_the_oldest_python_promised():
    version = minimum_python()
    assert MODULES
    for path in MODULES:
        try:
            ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=version)
        except SyntaxError as exc:
            pytest.fail(f"{path.relative_to(ROOT)} needs a Python newer than {version} (requires-python): {exc}")


def _unguarded_imports(tree: ast.AST, module: str) -> list[int]:
    """Lines importing ``module`` outside a try whose handlers catch ImportError."""

    def guarded(handler_types: list[ast.expr]) -> bool:
        names = {getattr(node, "id", None) for node in handler_types}
        return bool(names & {"ImportError", "ModuleNotFoundError", "Exception"})

    lines = []

    def visit(node: ast.AST, inside: bool) -> None:
        if isinstance(node, ast.Try):
            catches = guarded([h.type for h in node.handlers if h.type is not None]
                              + [e for h in node.handlers if isinstance(h.type, ast.Tuple) for e in h.type.elts])
            for child in node.body:
                visit(child, inside or catches)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, inside)
            return
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split(".")[0]]
        if module in names and not inside:
            lines.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return lines


def test_newer_stdlib_modules_are_imported_only_with_a_fallback():
    version = minimum_python()
    problems = []
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for module, since in NEWER_STDLIB.items():
            if version < since:
                problems += [f"{path.relative_to(ROOT)}:{line} imports {module} (Python {since[0]}.{since[1]}+)"
                             for line in _unguarded_imports(tree, module)]
    assert not problems, "use summarizer.tomlcompat instead:\n" + "\n".join(problems)


def test_the_check_sees_an_unguarded_import():
    assert _unguarded_imports(ast.parse("import tomllib"), "tomllib") == [1]
    assert _unguarded_imports(ast.parse("def f():\n    from tomllib import loads"), "tomllib") == [2]
    assert _unguarded_imports(ast.parse("try:\n    import tomllib\nexcept ModuleNotFoundError:\n    pass"),
                              "tomllib") == []


def test_tomli_is_declared_for_the_pythons_without_tomllib():
    if minimum_python() >= (3, 11):
        pytest.skip("requires-python needs no backport")
    declared = [d for d in project()["dependencies"] if re.match(r"tomli\b", d)]
    assert declared, "pyproject.toml does not declare tomli, which Python 3.10 needs for tomllib"
    marker = declared[0].split(";", 1)[1] if ";" in declared[0] else ""
    assert re.search(r"python_version\s*<\s*['\"]3\.11['\"]", marker), declared[0]


def test_tomlcompat_falls_back_to_tomli(monkeypatch):
    import summarizer.tomlcompat as compat

    backport = types.ModuleType("tomli")
    backport.loads = lambda text: {"from": "tomli"}
    backport.TOMLDecodeError = ValueError
    monkeypatch.setitem(sys.modules, "tomllib", None)  # what Python 3.10 lacks
    monkeypatch.setitem(sys.modules, "tomli", backport)
    try:
        assert importlib.reload(compat).tomllib.loads("a = 1") == {"from": "tomli"}
        monkeypatch.setitem(sys.modules, "tomli", None)
        with pytest.raises(ModuleNotFoundError, match="pip install 'tomli>=2.0'"):
            importlib.reload(compat)
    finally:
        monkeypatch.undo()
        importlib.reload(compat)
    assert compat.tomllib.loads("a = 1") == {"a": 1}


def test_every_module_compiles_on_the_oldest_python_when_it_is_installed():
    major, minor = minimum_python()
    python = shutil.which(f"python{major}.{minor}")
    # a version manager's shim may be on PATH without that version being selected
    if python is None or subprocess.run([python, "-c", ""], capture_output=True).returncode != 0:
        pytest.skip(f"no usable python{major}.{minor} on PATH")
    code = ("import pathlib, sys\n"
            "for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')):\n"
            "    compile(p.read_text(encoding='utf-8'), str(p), 'exec')\n")
    result = subprocess.run([python, "-c", code, str(ROOT / "summarizer")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

"""The README's annotated file tree names every module of the package, so it cannot fall
behind the layout."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_file_tree_names_every_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tree = readme.split("## Files", 1)[1].split("\n## ", 1)[0]
    listed = {line.split()[0] for line in tree.splitlines() if line.startswith("  ") and line.split()}
    modules = {p.name for p in (ROOT / "summarizer").glob("*.py") if p.name != "__init__.py"}
    modules |= {p.name for p in (ROOT / "summarizer" / "evaluation").glob("*.py") if p.name != "__init__.py"}
    missing = sorted(modules - listed)
    assert not missing, f"not in the README's file tree: {', '.join(missing)}"

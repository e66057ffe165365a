"""The layers hold: core never imports Streamlit, pages never reach the database, and the
command line loads its heavy libraries only when a command needs them.

Which libraries load lazily (inside the function that needs them, never at a module's top):
TensorFlow and Keras (3 s to import here; only training, conversion and the CPU's Keras
fallback need them), pandas, scikit-learn, librosa, LIME and matplotlib in the command line's
modules, so that ``python -m core --help`` and a command's usage errors answer at once; Ray
(an optional extra) only inside ``core.engine.ray_engine``'s functions."""

from __future__ import annotations

import ast

from tests.helpers import REPO, cli_imports


def _imported_modules(path) -> set[str]:
    """Every module a file imports, at any depth of its code."""
    tree = ast.parse(path.read_text(), filename=str(path))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def _importers(folder: str, banned: tuple[str, ...]) -> dict[str, set[str]]:
    found = {}
    for path in sorted((REPO / folder).rglob("*.py")):
        hits = {m for m in _imported_modules(path) if m.split(".")[0] in banned or m in banned}
        if hits:
            found[str(path.relative_to(REPO))] = hits
    return found


def test_core_never_imports_streamlit():
    assert _importers("core", ("streamlit",)) == {}


def test_pages_never_touch_the_database_directly():
    assert _importers("pages", ("sqlite3", "core.catalog.database")) == {}
    assert "sqlite3" not in _imported_modules(REPO / "app.py")


def test_the_command_lines_help_imports_neither_tensorflow_nor_pandas():
    _, imported = cli_imports("--help", home=REPO / "nonexistent-home")
    assert "core.cli" in imported
    assert not imported & {"tensorflow", "keras", "pandas", "sklearn", "librosa", "streamlit", "ray"}

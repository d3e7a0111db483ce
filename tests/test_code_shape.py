"""The code's shape (issue 14 item 3): the CLI's shared parsing lives in the leaf module
`pipelines.cliutil`; only `pipelines.__main__` imports `pipelines.cli`, which imports the
command modules statically; every pipelines module imports on its own (no import cycle)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.config import ROOT

PIPELINES = ROOT / "pipelines"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function (`from a import b` counts
    as a and a.b)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_only_main_imports_the_cli():
    importers = [
        str(p.relative_to(ROOT))
        for folder in ("pipelines", "dashboard", "bench", "sample_generator")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if "pipelines.cli" in imported(p) and p != PIPELINES / "__main__.py"
    ]
    assert importers == [], (
        f"改为从 pipelines.cliutil 导入（pipelines.cli 只由 __main__ 导入）：{importers}"
    )


def test_the_cli_registers_its_commands_statically():
    names = imported(PIPELINES / "cli.py")
    assert "importlib" not in names
    assert {"pipelines.ingest", "pipelines.rules.cli", "pipelines.draws.cli"} <= names


def test_cliutil_is_a_leaf():
    """Importing the shared CLI helpers loads no command module and not the CLI itself."""
    commands = sorted(
        module_name(p) for p in PIPELINES.rglob("*.py") if "def register(" in p.read_text()
    )
    code = (
        "import sys, pipelines.cliutil\n"
        f"print([m for m in {commands + ['pipelines.cli']!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert len(commands) >= 5
    assert out.stdout.strip() == "[]"


ISOLATED = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "pipelines" or m.startswith("pipelines.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed.append(f"{name}: {exc}")
print("\\n".join(failed))
"""


def test_every_module_imports_on_its_own():
    """Each pipelines module imported first, with no other pipelines module loaded: a cycle
    (a module importing its importer) fails with a partly initialised module."""
    names = sorted(module_name(p) for p in PIPELINES.rglob("*.py") if p.name != "__main__.py")
    out = subprocess.run(
        [sys.executable, "-c", ISOLATED, *names],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "", out.stdout


# pipelines/sql/ by layer: the folder, and the names its files start with.
SQL_LAYERS = {
    "staging": ("schema", "draw_log_schema"),
    "models": ("fct_",),
    "audits": ("audit_",),
    "marts": ("mart_", "dim_"),
    "draws": ("draw_",),
}


def test_every_sql_layer_folder_holds_only_its_prefix():
    root = PIPELINES / "sql"
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert folders == sorted(SQL_LAYERS)
    misplaced = [
        str(p.relative_to(root))
        for folder, prefixes in SQL_LAYERS.items()
        for p in sorted((root / folder).rglob("*"))
        if not (p.suffix == ".sql" and p.stem.startswith(prefixes))
    ]
    assert misplaced == []
    assert all(any((root / f).glob("*.sql")) for f in SQL_LAYERS)


def test_sql_finds_a_file_in_any_folder_and_refuses_a_name_twice(tmp_path, monkeypatch):
    from pipelines import db

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "fct_x.sql").write_text("select 1", encoding="utf-8")
    monkeypatch.setattr(db, "SQL_DIR", tmp_path)
    assert db.sql("fct_x") == "select 1"
    (tmp_path / "audit_y.sql").write_text("select 2", encoding="utf-8")  # added flat, later
    assert db.sql("audit_y") == "select 2"
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "fct_x.sql").write_text("select 3", encoding="utf-8")
    db.sql_files.cache_clear()
    with pytest.raises(RuntimeError, match=r"SQL 文件重名：marts/fct_x.sql 与 models/fct_x.sql"):
        db.sql("fct_x")
    db.sql_files.cache_clear()

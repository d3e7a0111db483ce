"""Which files an ingest loads, and as which table: folders, partition sub-folders, names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pipelines.errors import UsageError
from pipelines.ingest_spec import ORDER, SPECS


def table_of(path: Path) -> str | None:
    """Which contract table a file is, by its name: `cases.csv`, `cases_2026-10.xlsx`, `申报.csv`…"""
    stem = path.name.split(".")[0].lower()
    for name in ORDER:
        spec = SPECS[name]
        if stem == name or stem.startswith((name + "_", name + "-", name + " ")) or spec.zh in stem:
            return name
    return None


def _is_partition_folder(d: Path) -> bool:
    name = d.name.lower()
    if name.startswith("."):
        return False
    if "=" in name:  # Hive style: key=value
        return True
    return any(name == t or name == SPECS[t].zh for t in ORDER)


def _partition_files(folder: Path) -> Iterator[Path]:
    for f in folder.iterdir():
        if f.is_file():
            yield f
        elif f.is_dir() and _is_partition_folder(f):
            yield from _partition_files(f)


def discover(paths: list[Path]) -> list[tuple[str, Path]]:
    """(table, file) pairs in load order; a path that does not exist is a usage error.

    A folder's files are loaded, and those of its partition sub-folders: a folder named after a
    table (`tasks/`, `申报/`) or a Hive partition (`year=2026/`), so a partitioned set such as
    `tasks/year=2026/month=03/tasks_2026-03.parquet` is given by its top folder. Other
    sub-folders (`expected/`, `out/`, backups) are not entered; hidden files and Excel's `~$`
    lock files are skipped.
    """
    found: list[tuple[str, Path]] = []
    for p in paths:
        if not p.exists():
            raise UsageError(f"路径不存在：{p}")
        files = sorted(_partition_files(p)) if p.is_dir() else [p]
        for f in files:
            if f.name.startswith((".", "~$")):
                continue
            table = table_of(f)
            if table is not None:
                found.append((table, f))
            elif not p.is_dir():
                raise UsageError(f"无法从文件名判断表类型：{f.name}（应为 {'/'.join(ORDER)}）")
    found.sort(key=lambda tf: (ORDER.index(tf[0]), tf[1].name, str(tf[1])))
    return found

"""Uploaded files written to disk: under their base name only, inside a private folder.

A browser sends the file name it likes; a crafted request can send `../../x.csv` or `/etc/cron.d/x`.
The name is cut to its last part (after `/` or `\\`), names that are then empty, `.` or `..` are
refused, and two uploads with the same name are refused rather than one silently replacing the
other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pipelines.errors import UsageError


class Upload(Protocol):
    name: str

    def getvalue(self) -> bytes: ...


def safe_name(name: str) -> str:
    """The base name of an uploaded file's name, or UsageError if nothing usable is left."""
    base = re.split(r"[/\\]", name)[-1].strip()
    if base in ("", ".", "..") or "\0" in base:
        raise UsageError(f"上传文件名无效：{name!r}（去掉路径后为空、“.” 或 “..”）")
    return base


def save_uploads(files: Sequence[Upload], folder: Path) -> list[Path]:
    """Write each upload into `folder` (a private temporary folder) under its safe base name;
    nothing is written when one name is refused."""
    seen: dict[str, str] = {}
    for f in files:
        base = safe_name(f.name)
        if base in seen:
            raise UsageError(
                f"上传了两个同名文件 {base}（{seen[base]!r} 与 {f.name!r}）：请改名后重新上传，"
                "以免一个覆盖另一个。"
            )
        seen[base] = f.name
    paths = [folder / base for base in seen]
    for f, path in zip(files, paths, strict=True):
        path.write_bytes(f.getvalue())
    return paths

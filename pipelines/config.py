"""Paths and the per-city rule profile (every number of shared/RULES.md lives in a profile)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = ROOT / "data" / "reference"
PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
DEFAULT_DB = Path(os.environ.get("MTB_DB", ROOT / "data" / "warehouse.duckdb"))
DEFAULT_PROFILE = os.environ.get("MTB_PROFILE", "zhengzhou")


@dataclass(frozen=True)
class Profile:
    """A city's rule settings, read from `pipelines/profiles/<name>.toml`."""

    name: str
    data: dict[str, Any]

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.data[section]

    @property
    def label(self) -> str:
        return self.data.get("label", self.name)


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


@cache
def load_profile(name: str = DEFAULT_PROFILE) -> Profile:
    """Load a rule profile by name; unknown names raise ValueError listing the known ones."""
    path = PROFILE_DIR / f"{name}.toml"
    if not path.exists():
        raise ValueError(f"未知的规则配置 {name!r}，可选：{', '.join(profile_names())}")
    with path.open("rb") as fh:
        return Profile(name=name, data=tomllib.load(fh))

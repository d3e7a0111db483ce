"""The generator's settings: realism numbers (settings.toml), rule numbers (the profile), catalogue."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.catalogue import read_catalogue
from pipelines.config import load_profile

SETTINGS_FILE = Path(__file__).resolve().parent / "settings.toml"
INSTANT = "即时办结"


@dataclass(frozen=True)
class Rules:
    """The numbers of shared/RULES.md "Zhengzhou profile" the generator plants against."""

    name: str
    accept_s: int
    complete_workdays: int
    disqualify_at: int
    actions: tuple[str, ...]
    after_last: str
    max_size_mb: float
    pdf_from: dt.date
    pdf_format: str
    instant_workdays: int
    titles: tuple[str, ...]
    classes: tuple[str, ...]
    ownership: tuple[str, ...]
    rate_num: int
    rate_den: int
    min_disqualified: int


@dataclass(frozen=True)
class Catalogue:
    """Diseases with specialty codes, settlement and relative volume."""

    names: list[str]
    specialties: list[str]
    spec: np.ndarray
    instant: np.ndarray
    weight: np.ndarray
    approve: np.ndarray


def load_rules(profile: str = "zhengzhou") -> Rules:
    p = load_profile(profile)
    strikes = p["strikes"]
    return Rules(
        name=p.name,
        accept_s=int(p["deadlines"]["accept_hours"]) * 3600,
        complete_workdays=int(p["deadlines"]["complete_workdays"]),
        disqualify_at=int(strikes["disqualify_at"]),
        actions=tuple(strikes["actions"]),
        after_last=strikes["after_last"],
        max_size_mb=float(p["upload"]["max_size_mb"]),
        pdf_from=dt.date.fromisoformat(p["upload"]["pdf_only_discharged_from"]),
        pdf_format=p["upload"]["pdf_format"],
        instant_workdays=int(p["benefit"]["instant_within_workdays"]),
        titles=tuple(p["expert_qualification"]["titles"]),
        classes=tuple(p["expert_qualification"]["hospital_classes"]),
        ownership=tuple(p["expert_qualification"]["ownership"]),
        rate_num=int(p["hospital_penalty"]["rate_numerator"]),
        rate_den=int(p["hospital_penalty"]["rate_denominator"]),
        min_disqualified=int(p["hospital_penalty"]["min_disqualified"]),
    )


@cache
def load_settings() -> dict[str, Any]:
    with SETTINGS_FILE.open("rb") as fh:
        return tomllib.load(fh)


def load_catalogue(settings: dict[str, Any]) -> Catalogue:
    """The shipped catalogue joined with the volumes and approval shares of settings.toml."""
    rows = read_catalogue()
    names = [r["disease_name"] for r in rows]
    missing = [n for n in names if n not in settings["diseases"]]
    if missing:
        raise ValueError(f"settings.toml [diseases] lacks a volume for: {', '.join(missing)}")
    specialties = sorted({r["specialty"] for r in rows})
    approval = settings["approval"]
    return Catalogue(
        names=names,
        specialties=specialties,
        spec=np.array([specialties.index(r["specialty"]) for r in rows], dtype=np.int64),
        instant=np.array([r["settlement"] == INSTANT for r in rows]),
        weight=np.array([float(settings["diseases"][n]) for n in names]),
        approve=np.array([float(approval.get(n, approval["default"])) for n in names]),
    )

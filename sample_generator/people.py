"""Applicants and expert names: a seeded Faker("zh_CN") pool, then numpy sampling (never per row)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from faker import Faker


@dataclass(frozen=True)
class NamePool:
    """Names (the female ones first) and the area codes of Faker's IDs."""

    names: list[str]
    n_female: int
    area_codes: np.ndarray

    def draw(self, rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
        """A pool index per person, from the names of the person's sex."""
        u = rng.random(len(male))
        n_male = len(self.names) - self.n_female
        return np.where(
            male,
            self.n_female + (u * n_male).astype(np.int64),
            (u * self.n_female).astype(np.int64),
        )


@dataclass(frozen=True)
class Persons:
    number17: np.ndarray
    male: np.ndarray
    name_idx: np.ndarray


@cache
def name_pool(seed: int, size: int) -> NamePool:
    """Draw `size` names and ID area codes once from a seeded Faker."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    half = size // 2
    names = [fake.name_female() for _ in range(half)] + [
        fake.name_male() for _ in range(size - half)
    ]
    return NamePool(
        names=names,
        n_female=half,
        area_codes=np.array([int(fake.ssn()[:6]) for _ in range(size)], dtype=np.int64),
    )


def _yyyymmdd(day: np.ndarray) -> np.ndarray:
    d = day.astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return year * 10_000 + month * 100 + dom


def make_persons(
    rng: np.random.Generator,
    n: int,
    pool: NamePool,
    local_codes: np.ndarray,
    local_share: float,
    ref_day: int,
) -> Persons:
    """n distinct applicants: mostly Zhengzhou-born, ages skewed old (chronic diseases)."""
    local = rng.random(n) < local_share
    area = np.where(
        local,
        local_codes[rng.integers(0, len(local_codes), n)],
        pool.area_codes[rng.integers(0, len(pool.area_codes), n)],
    )
    age_days = (np.clip(rng.normal(58, 14, n), 18, 92) * 365.25).astype(np.int64)
    birth = _yyyymmdd(ref_day - age_days)
    seq = rng.integers(0, 1000, n)
    number = area * 10**11 + birth * 1000 + seq
    while True:
        order = np.argsort(number, kind="stable")
        repeat = np.zeros(n, dtype=bool)
        repeat[order[1:]] = number[order[1:]] == number[order[:-1]]
        if not repeat.any():
            break
        number[repeat] = number[repeat] // 1000 * 1000 + rng.integers(0, 1000, int(repeat.sum()))
    male = number % 2 == 1
    return Persons(number17=number, male=male, name_idx=pool.draw(rng, male))

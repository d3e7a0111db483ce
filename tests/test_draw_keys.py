"""Verifiable draws: keys, digests, seeds, rates and quotas (shared/RULES.md "Verifiable draws")."""

from __future__ import annotations

import math
import random
import subprocess
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_draw_support import digest, first_k, key

from pipelines.draws.engine import rank_sql
from pipelines.draws.keys import (
    Member,
    draw_key,
    normalize_seed,
    parse_rate,
    population_digest,
    quota,
    rank_members,
    strata_sizes,
    take,
)
from pipelines.errors import DataError, UsageError

IDS = ["C001", "C002", "医院A-01", "E-7", "b", "B", "10", "9", "Zürich", "😀"]
SEED = "48213907561239847702"


def test_key_vectors():
    # printf '00123|C001' | sha256sum, and the same for the Chinese id
    assert draw_key("00123", "C001") == (
        "8f88d961289d6b4959d21d52337d0936a073ba44c0192611ad95c6978e06927a"
    )
    assert draw_key("00123", "医院A-01") == (
        "f9688512ec16feb69c42cdfa205d963b6a66f16b17c2c2f8072145d5dcf3c4e9"
    )
    assert draw_key("00123", "C001") != draw_key("123", "C001")
    for i in IDS:
        assert draw_key(SEED, i) == key(SEED, i)


def test_seed_is_text_with_only_surrounding_whitespace_stripped():
    assert normalize_seed("00123") == "00123"
    assert normalize_seed(" 00123\n") == "00123"
    assert normalize_seed("\u3000 甲 乙 \t") == "甲 乙"
    assert normalize_seed("１２３") == "１２３"
    for bad in ("", "   ", "12\n34", "12\x0034"):
        with pytest.raises(UsageError):
            normalize_seed(bad)
    with pytest.raises(UsageError):
        normalize_seed(123)  # type: ignore[arg-type]


def test_population_digest_is_sorted_ids_each_with_newline():
    assert population_digest([]) == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert population_digest(IDS) == digest(IDS)
    assert population_digest(reversed(IDS)) == population_digest(IDS)


def test_population_digest_equals_lc_all_c_sort_sha256sum(tmp_path: Path):
    ids = list(IDS)
    random.Random(7).shuffle(ids)
    path = tmp_path / "ids.txt"
    path.write_text("".join(i + "\n" for i in ids), encoding="utf-8")
    out = subprocess.run(
        ["bash", "-c", "LC_ALL=C sort ids.txt | sha256sum"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split()[0] == population_digest(ids)


def test_shell_pipeline_of_the_readme_gives_the_same_draw(tmp_path: Path):
    (tmp_path / "ids.txt").write_text("\n".join(IDS), encoding="utf-8")  # no final newline
    script = (
        'while IFS= read -r id || [ -n "$id" ]; do '
        "printf '%s  %s\\n' \"$(printf '%s|%s' \"$SEED\" \"$id\" | sha256sum | cut -d' ' -f1)\" "
        '"$id"; done < ids.txt | LC_ALL=C sort | head -n 4'
    )
    out = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env={"SEED": SEED, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    got = [tuple(reversed(line.split("  ", 1))) for line in out.splitlines()]
    members = [Member(i) for i in IDS]
    assert got == [(p.id, p.key) for p in take(rank_members(SEED, members), {"": 4})]
    assert got == first_k(SEED, IDS, 4)


def test_sql_keys_and_ranks_equal_hashlib():
    con = duckdb.connect()
    members = [Member(i, "H1" if n % 3 else "H2", "H9") for n, i in enumerate(IDS)]
    got = rank_sql(con, members, SEED, strata_sizes(members))
    assert got == take(rank_members(SEED, members), strata_sizes(members))
    for p in got:
        assert p.key == key(SEED, p.id)
    for stratum in ("H1", "H2"):
        ids = [m.id for m in members if m.stratum == stratum]
        assert [(p.id, p.key) for p in got if p.stratum == stratum] == first_k(SEED, ids, 99)


@pytest.mark.parametrize("text", ["0.1", "0.10", "10%", " 10 % ", ".1", "10.0%"])
def test_rates_are_exact_decimals(text: str):
    assert parse_rate(text) == Decimal("0.1")


@pytest.mark.parametrize("text", ["0", "0%", "1.5", "150%", "abc", "-0.1", "0,1", "1e-1", ""])
def test_bad_rates_are_refused(text: str):
    with pytest.raises(UsageError):
        parse_rate(text)


@pytest.mark.parametrize(
    ("rate", "n", "k"),
    [
        ("0.1", 10, 1),
        ("0.1", 30, 3),
        ("0.1", 31, 4),
        ("0.1", 1, 1),
        ("0.1", 0, 0),
        ("0.07", 100, 7),
        ("0.3", 10, 3),
        ("12.5%", 8, 1),
        ("12.5%", 9, 2),
        ("100%", 7, 7),
    ],
)
def test_quota_is_exact_ceiling(rate: str, n: int, k: int):
    assert quota(parse_rate(rate), n) == k


def test_ids_that_cannot_be_published_are_refused(con):
    from pipelines.draws.engine import freeze_population

    for bad in ("", " C1", "C1\n", "C\r1"):
        with pytest.raises(DataError):
            freeze_population(con, "expert_draw", [Member(bad)], {})
    with pytest.raises(DataError, match="重复"):
        freeze_population(con, "expert_draw", [Member("C1", "A"), Member("C1", "B")], {})


population = st.dictionaries(
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=6
    ),
    st.sampled_from(["H1", "H2", "H3"]),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    population,
    st.text(min_size=1, max_size=20).filter(
        lambda s: s.strip() and s == s.strip() and not any(ord(c) < 32 or ord(c) == 127 for c in s)
    ),
    st.integers(0, 15),
    st.integers(0, 15),
)
def test_draw_is_a_prefix_stable_function_of_population_and_seed(pop, seed, k1, k2):
    members = [Member(i, s) for i, s in pop.items()]
    small, big = min(k1, k2), max(k1, k2)
    ranked = rank_members(seed, members)
    shuffled = list(members)
    random.Random(len(pop)).shuffle(shuffled)
    assert rank_members(seed, shuffled) == ranked
    a = take(ranked, dict.fromkeys(ranked, small))
    b = take(ranked, dict.fromkeys(ranked, big))
    for s in ranked:
        got_a = [p.id for p in a if p.stratum == s]
        got_b = [p.id for p in b if p.stratum == s]
        assert got_b[: len(got_a)] == got_a
        ids = [i for i, st_ in pop.items() if st_ == s]
        assert [(p.id, p.key) for p in b if p.stratum == s] == first_k(seed, ids, big)


@settings(max_examples=60, deadline=None)
@given(population, st.fractions(min_value=Fraction(1, 1000), max_value=1, max_denominator=1000))
def test_k_per_stratum_is_ceil_rate_n_and_overall_at_least_rate(pop, fraction):
    rate = Decimal(fraction.numerator) / Decimal(fraction.denominator)
    members = [Member(i, s) for i, s in pop.items()]
    sizes = strata_sizes(members)
    k = {s: quota(rate, n) for s, n in sizes.items()}
    picks = take(rank_members("seed", members), k)
    for s, n in sizes.items():
        drawn = sum(1 for p in picks if p.stratum == s)
        assert drawn == math.ceil(Fraction(rate) * n)
        assert drawn >= Fraction(rate) * n
    assert len(picks) >= Fraction(rate) * len(members)

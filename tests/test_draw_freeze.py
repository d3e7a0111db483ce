"""Freezing and drawing column-wise (Arrow) gives the records the per-member Python code gave.

The reference below is the freeze and draw as they were written one `Member` at a time: sorted
dataclasses, `check_id` per id, `population_digest`, `population_json`, `rank_members` and
`dataclasses.asdict` per pick. Every record written by `freeze_population` and `draw` must be the
same, column for column and hash for hash, so the draw_log chain, `verify-log`, the PDF record and
the published files cannot tell the two apart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_draw_support import digest, first_k, key

from pipelines.config import ROOT
from pipelines.draws import log
from pipelines.draws.cli import write_population, write_result
from pipelines.draws.engine import (
    draw,
    freeze_population,
    frozen_population,
    load_frozen,
    population_arrow,
    population_table,
    rank_sql,
    stage_population,
    staged_picks,
    table_strata_sizes,
)
from pipelines.draws.keys import (
    STRIP_CHARS,
    Member,
    Pick,
    check_id,
    invalid_ids,
    population_digest,
    rank_members,
    strata_sizes,
    take,
)
from pipelines.draws.verify import verify_log
from pipelines.errors import DataError

AT = dt.datetime(2026, 10, 5, 9, 30, 0, 123456)
SEED = "48213907561239847702"
TOOL = ROOT / "tools" / "verify_draw.py"

# any text the database can hold: every plane, control characters and Unicode whitespace included
ANY_CHAR = st.characters(blacklist_categories=("Cs",))
TRICKY = st.sampled_from(["\t", "\n", " ", "\u3000", "\x85", "\x7f", "\x00", "\x1f", '"', "\\"])
TEXT = st.text(st.one_of(ANY_CHAR, TRICKY), max_size=6)
GOOD_ID = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=8
).filter(lambda s: s == s.strip())


def old_freeze_fields(members: list[Member], parameters: dict) -> dict:
    """The columns of a population_frozen record as the per-member code computed them."""
    mem = sorted(members)
    seen: set[str] = set()
    for m in mem:
        check_id(m.id)
        if m.id in seen:
            raise DataError(f"候选名单中编号 {m.id} 重复")
        seen.add(m.id)
    params = {**parameters, "strata_sizes": strata_sizes(mem)}
    return {
        "parameters": log.canonical_json(params),
        "population_size": len(mem),
        "population_digest": population_digest(m.id for m in mem),
        "population": json.dumps(
            {
                "columns": ["id", "stratum", "hospital_id"],
                "rows": [list(dataclasses.astuple(m)) for m in mem],
            },
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        ),
    }


def old_draw_fields(frozen: log.DrawRecord, seed: str, k: dict[str, int]) -> dict:
    """The columns of a draw record as the per-member code computed them."""
    members = frozen.members()
    picks = take(rank_members(seed, members), k)
    params = {**frozen.params(), "k": dict(sorted(k.items())), "shortfall": {}}
    sizes = strata_sizes(members)
    params["shortfall"] = {
        s: {"k": n, "available": sizes.get(s, 0)}
        for s, n in sorted(k.items())
        if n > sizes.get(s, 0)
    }
    return {
        "profile": frozen.profile,
        "frozen_id": frozen.draw_id,
        "parameters": log.canonical_json(params),
        "population_size": frozen.population_size,
        "population_digest": frozen.population_digest,
        "seed": seed,
        "picks": log.canonical_json([dataclasses.asdict(p) for p in picks]),
        "replacements": "[]",
    }


def records(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Every record's columns as hashed (a list kept apart: its text read from its table)."""
    return [tuple(r.text(c) for c in log.COLUMNS) for r in log.load_records(con)]


def old_and_new(members: list[Member], seed: str, k: dict[str, int]) -> tuple[list, list]:
    """The draw_log of freeze + draw written the old way and the new way (same times)."""
    parameters = {"rule": "TEST", "k": k}
    old, new = duckdb.connect(), duckdb.connect()
    fields = old_freeze_fields(members, {**parameters, "for_kind": "spot_check"})
    frozen = log.append(old, "population_frozen", lambda _c: {"profile": "zhengzhou", **fields}, AT)
    log.append(old, "spot_check", lambda _c: old_draw_fields(frozen, seed, k), AT)
    shuffled = list(members)
    random.Random(len(members)).shuffle(shuffled)
    got = freeze_population(new, "spot_check", shuffled, parameters, profile="zhengzhou", at=AT)
    draw(new, got, seed, at=AT)
    return records(old), records(new)


population = st.dictionaries(
    GOOD_ID, st.tuples(st.sampled_from(["H1", "H2", "医院3"]), TEXT | st.none()), max_size=30
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(population, st.integers(0, 12))
def test_freeze_and_draw_write_the_records_the_per_member_code_wrote(pop, k):
    members = [Member(i, s, h) for i, (s, h) in pop.items()]
    quota = dict.fromkeys(strata_sizes(members), k)
    old, new = old_and_new(members, SEED, quota)
    assert new == old  # every column, record_hash included


def test_a_generated_population_with_non_ascii_ids_gives_the_same_records_and_picks():
    rnd = random.Random(20261122)
    alphabet = "0123456789ABCXYZ-_医院郑州市病例é€😀\U0010ffff\u00a0"
    ids = {
        "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 10))).strip()
        for _ in range(3000)
    }
    ids.discard("")
    members = [
        Member(i, f"H{n % 7}", f"H{n % 7}" if n % 5 else None) for n, i in enumerate(sorted(ids))
    ]
    quota = {s: max(1, n // 10) for s, n in strata_sizes(members).items()}
    old, new = old_and_new(members, SEED, quota)
    assert new == old
    picks = [Pick(**p) for p in json.loads(new[1][log.COLUMNS.index("picks")])]
    for stratum, n in quota.items():
        ids_s = [m.id for m in members if m.stratum == stratum]
        assert [(p.id, p.key) for p in picks if p.stratum == stratum] == first_k(SEED, ids_s, n)
    assert new[0][log.COLUMNS.index("population_digest")] == digest(ids)


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXT | st.none(), max_size=20))
def test_invalid_ids_is_check_id_column_wise(values):
    got = invalid_ids(pa.array(values, pa.string())).to_pylist()
    for value, bad in zip(values, got, strict=True):
        try:
            check_id(value)  # type: ignore[arg-type]
            refused = False
        except DataError:
            refused = True
        assert bad == refused, repr(value)


def test_strip_chars_are_what_str_strip_removes():
    assert set(STRIP_CHARS) == {c for c in map(chr, range(0x110000)) if c.isspace()}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(ANY_CHAR, max_size=5), max_size=30))
def test_arrow_sort_and_digest_are_code_point_order_and_population_digest(ids):
    table = population_arrow([Member(i) for i in ids]).sort_by("id")
    assert table["id"].to_pylist() == sorted(ids)
    assert log.digest_sorted(table["id"]) == population_digest(ids) == digest(ids)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT, TEXT | st.none()), max_size=12))
def test_population_text_is_population_json(rows):
    members = sorted({Member(*r) for r in rows}, key=lambda m: m.id)
    table = population_arrow(members)
    text = log.population_text(table)
    assert text == log.canonical_json(
        {
            "columns": ["id", "stratum", "hospital_id"],
            "rows": [list(dataclasses.astuple(m)) for m in members],
        }
    )
    assert log.population_arrow(text).equals(table)


def test_population_text_of_plain_and_escaped_text():
    plain = population_arrow([Member("C1", "H1", None), Member("医院-2", "H 2", "H2")])
    assert log.population_text(plain) == (
        '{"columns":["id","stratum","hospital_id"],"rows":[["C1","H1",null],["医院-2","H 2","H2"]]}'
    )
    odd = population_arrow([Member('C"1', "H\\1", "H\x01")])
    assert log.population_text(odd) == (
        '{"columns":["id","stratum","hospital_id"],"rows":[["C\\"1","H\\\\1","H\\u0001"]]}'
    )
    assert log.population_text(population_arrow([])) == (
        '{"columns":["id","stratum","hospital_id"],"rows":[]}'
    )


def test_a_stored_row_shorter_than_three_reads_as_member_defaults():
    table = log.population_arrow(
        '{"columns":["id","stratum","hospital_id"],"rows":[["C1"],["C2","H"]]}'
    )
    assert table.to_pylist() == [
        {"id": "C1", "stratum": "", "hospital_id": None},
        {"id": "C2", "stratum": "H", "hospital_id": None},
    ]


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (["C2", "C1", " C0", "C1"], "' C0'"),  # the unusable id comes first in code-point order
        (["C2", "C1", "C3 ", "C1"], "C1 重复"),  # the repeat comes first
        (["B", "A", "B", "A"], "A 重复"),
        (["A", None], "None"),
    ],
)
def test_the_first_problem_in_code_point_order_is_reported(con, ids, message):
    with pytest.raises(DataError, match=message):
        freeze_population(
            con,
            "expert_draw",
            pa.table({"id": ids, "stratum": ["S"] * len(ids), "hospital_id": ["H"] * len(ids)}),
            {},
        )
    assert log.load_records(con) == []


def test_a_population_in_hand_is_ranked_as_it_is_and_gives_the_record_of_a_draw_by_id():
    members = [Member(f"C{n:03d}", f"H{n % 3}", f"H{n % 3}") for n in range(90)]
    by_id, in_hand = duckdb.connect(), duckdb.connect()
    recs = []
    for con, use_object in ((by_id, False), (in_hand, True)):
        frozen = freeze_population(
            con, "review_cases", members, {"k": {"H0": 3, "H1": 3, "H2": 4}}, at=AT
        )
        draw(con, frozen if use_object else frozen.draw_id, SEED, at=AT)
        recs.append(records(con))
    assert recs[0] == recs[1]
    loaded = load_frozen(by_id, recs[0][0][1])
    assert loaded.table.equals(population_arrow(members))
    assert loaded.members == sorted(members)
    assert (
        table_strata_sizes(loaded.table) == strata_sizes(members) == {"H0": 30, "H1": 30, "H2": 30}
    )


def test_a_population_object_of_another_log_is_not_trusted():
    a, b = duckdb.connect(), duckdb.connect()
    mine = freeze_population(
        a, "expert_draw", [Member("E1", "S"), Member("E2", "S")], {"k": {"S": 1}}, at=AT
    )
    theirs = freeze_population(b, "expert_draw", [Member("X9", "S")], {"k": {"S": 1}}, at=AT)
    assert mine.draw_id == theirs.draw_id  # same id, different logs
    assert frozen_population(a, mine) is mine
    reloaded = frozen_population(a, theirs)
    assert reloaded is not theirs and reloaded.table["id"].to_pylist() == ["E1", "E2"]
    res = draw(a, theirs, SEED)
    assert res.record.population_digest == digest(["E1", "E2"])
    assert [p.id for p in res.picks] == [first_k(SEED, ["E1", "E2"], 1)[0][0]]


def test_picks_json_is_asdict_of_each_pick():
    picks = [Pick("C1", "H1", 1, key(SEED, "C1"), "H1"), Pick('医"2', "", 2, "ab", None)]
    assert log.picks_json(picks) == log.canonical_json([dataclasses.asdict(p) for p in picks])


def test_published_files_of_a_non_ascii_population_pass_the_stand_alone_verifier(tmp_path: Path):
    rnd = random.Random(7)
    ids = sorted(
        {f"{rnd.choice('郑州开封洛阳ABé😀')}{rnd.randint(0, 99999):05d}" for _ in range(600)}
    )
    members = [Member(i, f"H{n % 4}", f"H{n % 4}") for n, i in enumerate(ids)]
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    sizes = strata_sizes(members)
    frozen = freeze_population(
        con,
        "spot_check",
        members,
        {
            "id_column": "case_id",
            "stratum_column": "hospital_id",
            "rate": "0.1",
            "k": {s: -(-n // 10) for s, n in sizes.items()},
        },
    )
    res = draw(con, frozen, SEED)
    old_rows = [[m.id, m.hospital_id] for m in frozen.record.members()]
    assert population_table(con, res.draw_id) == (["case_id", "hospital_id"], old_rows)
    write_population(con, res.draw_id, str(tmp_path / "population.csv"))
    write_result(res.record, str(tmp_path / "result.csv"))
    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            str(TOOL),
            "--seed",
            SEED,
            "--population",
            "population.csv",
            "--strata-column",
            "hospital_id",
            "--rate",
            "10%",
            "--result",
            "result.csv",
            "--digest",
            res.record.population_digest,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK" in proc.stdout


def staged_old_and_new(members: list[Member], seed: str, k: dict[str, int]) -> tuple[list, list]:
    """`old_and_new` with the population staged in DuckDB (spot-check's way) for the new one."""
    old, _ = old_and_new(members, seed, k)
    new = duckdb.connect()
    new.register("given", population_arrow(members))
    staged = stage_population(new, "select * from given")
    parameters = {"rule": "TEST", "k": k}
    got = freeze_population(new, "spot_check", staged, parameters, profile="zhengzhou", at=AT)
    res = draw(new, got, seed, at=AT)
    assert staged_picks(new, res.staged or "") == res.picks  # the CSV's rows are the record's
    # a list kept apart enters the hash by its SHA-256: the chain holds, the columns are the same
    check = verify_log(new)
    assert check.ok, check.message
    unhashed = slice(0, len(log.COLUMNS) - 2)  # prev_hash and record_hash last
    return [r[unhashed] for r in old], [r[unhashed] for r in records(new)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(population, st.integers(0, 12))
def test_a_staged_population_writes_the_records_the_per_member_code_wrote(pop, k):
    """Digest, list and picks built in SQL (texts needing JSON escapes by Python) are the same
    records, byte for byte, and their chain verifies (its hashes cover the lists kept apart by
    their SHA-256, so they are not the per-member code's)."""
    members = [Member(i, s, h) for i, (s, h) in pop.items()]
    quota = dict.fromkeys(strata_sizes(members), k)
    old, new = staged_old_and_new(members, SEED, quota)
    assert new == old


def test_a_stratum_short_of_candidates_below_its_bound_is_ranked_whole():
    """draw_rank.sql sorts only the keys below a bound per stratum; with no spare ones
    ($spare = 0, bound k / n of the key range) some strata have fewer than k keys below it and
    must be ranked whole: the picks are still the first k by key of every stratum."""
    ids = {f"H{h}": [f"H{h}-C{j:03d}" for j in range(200)] for h in range(12)}
    members = [Member(i, h, h) for h, cs in ids.items() for i in cs]
    bound = 20 / 200 * 2**32
    below = {h: sum(int(key(SEED, i)[:8], 16) < bound for i in cs) for h, cs in ids.items()}
    assert min(below.values()) < 20 < max(below.values())  # both ways among the 12 strata
    con = duckdb.connect()
    for spare in (0, 1):
        picks = rank_sql(con, members, SEED, dict.fromkeys(ids, 20), spare=spare)
        for h, cs in ids.items():
            assert [(p.id, p.key) for p in picks if p.stratum == h] == first_k(SEED, cs, 20)

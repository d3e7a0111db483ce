"""draw_log: append-only, hash-chained records; verify-log re-derives every draw and replacement."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading

import duckdb
import pytest
from test_draw_experts import expert_world
from test_draw_support import CARDIO_SPECIALTY, first_k, run_cli, spot_check_world

from pipelines.config import load_profile
from pipelines.db import connect
from pipelines.draws import draw_experts, load_records, replace, spot_check, verify_log
from pipelines.draws.engine import current_state
from pipelines.draws.log import GENESIS, PICKS_COUNT, picks_json, population_json
from pipelines.errors import DataError, UsageError

ZZ = load_profile("zhengzhou")
AS_OF = dt.datetime(2026, 7, 1, 12)
D1, D2 = dt.date(2026, 5, 1), dt.date(2026, 5, 31)
CANDIDATES = ["E01", "E02", "E07", "E09", "E14", "E15", "E16", "E17", "E18"]


@pytest.fixture
def world(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The expert register and the spot-check cases, with a spot check and an expert draw."""
    expert_world(con)
    spot_check_world(con)
    spot_check(con, D1, D2, "0.1", "11111", ZZ, operator="张操作", supervisor="李监督")
    draw_experts(con, CARDIO_SPECIALTY, 3, "22222", AS_OF, ZZ, ["H5"], operator="张操作")
    return con


def verify(db_path, capsys) -> tuple[int, str]:
    code, out, _ = run_cli(["verify-log", "--db", str(db_path)], capsys)
    return code, out


def test_records_form_a_chain_and_verify_ok(world, db_path, capsys):
    records = load_records(world)
    assert [r.kind for r in records] == [
        "population_frozen",
        "spot_check",
        "population_frozen",
        "expert_draw",
    ]
    assert records[0].prev_hash == GENESIS
    for prev, rec in zip(records, records[1:], strict=False):
        assert rec.prev_hash == prev.record_hash
        assert rec.record_hash == rec.compute_hash()
    assert records[1].operator == "张操作" and records[1].supervisor == "李监督"
    world.close()
    code, out = verify(db_path, capsys)
    assert code == 0 and out.startswith("OK") and "4 条" in out


@pytest.mark.parametrize(
    "tamper",
    [
        "update draw_log set seed = '99999' where record_no = 2",
        "update draw_log set operator = '王五' where record_no = 2",
        "update draw_log set created_at = created_at + interval 1 minute where record_no = 2",
        "update draw_log set population_digest = repeat('0', 64) where record_no = 2",
    ],
)
def test_verify_log_names_a_tampered_record(world, db_path, capsys, tamper):
    draw_id = load_records(world)[1].draw_id
    world.execute(tamper)
    world.close()
    code, out = verify(db_path, capsys)
    assert code == 1
    assert out.startswith("BROKEN") and draw_id in out and "第 2 条" in out


def test_a_tampered_record_with_a_recomputed_hash_breaks_the_next_link(world, db_path, capsys):
    records = load_records(world)
    world.execute("update draw_log set supervisor = '另一人' where record_no = 2")
    rec = load_records(world)[1]
    world.execute("update draw_log set record_hash = ? where record_no = 2", [rec.compute_hash()])
    world.close()
    code, out = verify(db_path, capsys)
    assert code == 1 and records[2].draw_id in out and "链断开" in out


def test_a_rewritten_chain_is_caught_by_recomputing_the_picks(world, db_path, capsys):
    records = load_records(world)
    assert records[1].apart == {"picks"} and records[1].picks is None  # kept apart
    first = records[1].pick_list()[0].id
    world.execute(
        "update draw_text_000002_picks set text = replace(text, ?, '\"H01-C999\"')", [f'"{first}"']
    )
    world.execute(  # the forger seals the new text too
        "update draw_log_texts set sha256 = (select sha256(text) from draw_text_000002_picks) "
        "where record_no = 2"
    )
    prev = records[0].record_hash
    for rec in load_records(world)[1:]:
        world.execute(
            "update draw_log set prev_hash = ? where record_no = ?", [prev, rec.record_no]
        )
        fixed = load_records(world)[rec.record_no - 1]
        prev = fixed.compute_hash()
        world.execute(
            "update draw_log set record_hash = ? where record_no = ?", [prev, rec.record_no]
        )
    world.close()
    code, out = verify(db_path, capsys)
    assert code == 1 and records[1].draw_id in out and "复算" in out


def test_a_deleted_record_breaks_the_chain(world, db_path, capsys):
    world.execute("delete from draw_log where record_no = 3")
    world.close()
    code, out = verify(db_path, capsys)
    assert code == 1 and "编号不连续" in out


def test_concurrent_draws_each_leave_a_complete_record(world):
    errors: list[BaseException] = []

    def one(seed: str) -> None:
        cur = world.cursor()
        try:
            spot_check(cur, D1, D2, "0.1", seed, ZZ, operator=f"op{seed}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            cur.close()

    threads = [threading.Thread(target=one, args=(str(s),)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    records = load_records(world)
    assert len(records) == 4 + 8
    draws = [r for r in records if r.kind == "spot_check" and r.operator]
    assert sorted(r.seed for r in draws if r.operator.startswith("op")) == ["0", "1", "2", "3"]
    for r in draws:
        frozen = next(f for f in records if f.draw_id == r.frozen_id)
        assert frozen.operator == r.operator and frozen.record_no < r.record_no
    assert verify_log(world).ok


def test_replacement_is_the_next_ranked_candidate_not_yet_picked(world, db_path, capsys):
    draw = [r for r in load_records(world) if r.kind == "expert_draw"][0]
    order = [i for i, _ in first_k("22222", CANDIDATES, 99)]
    assert [p.id for p in draw.pick_list()] == order[:3]
    first = replace(world, draw.draw_id, order[1], "本人因病不能参加", operator="张操作")
    assert first.picks[0].id == order[3] and first.picks[0].rank == 4
    second = replace(world, draw.draw_id, order[3], "与申请人有亲属关系")
    assert second.picks[0].id == order[4]
    state = current_state(world, draw.draw_id)
    assert [p.id for p in state.picks] == [order[0], order[4], order[2]]
    assert [r["reason"] for r in state.replacements] == ["本人因病不能参加", "与申请人有亲属关系"]
    with pytest.raises(UsageError, match="不是"):
        replace(world, draw.draw_id, order[1], "已被替换的人不能再被替换")
    with pytest.raises(UsageError, match="原因"):
        replace(world, draw.draw_id, order[0], "  ")
    world.close()
    code, out = verify(db_path, capsys)
    assert code == 0, out


def test_replacement_runs_out_of_candidates(world):
    draw = draw_experts(world, CARDIO_SPECIALTY, 8, "3", AS_OF, ZZ, ["H5"])
    last = draw.picks[0].id
    last = replace(world, draw.draw_id, last, "不能参加").picks[0].id
    with pytest.raises(DataError, match="没有可替补"):
        replace(world, draw.draw_id, last, "不能参加")


def test_a_forged_replacement_is_caught(world, db_path, capsys):
    draw = [r for r in load_records(world) if r.kind == "expert_draw"][0]
    rec = replace(world, draw.draw_id, draw.pick_list()[0].id, "不能参加").record
    forged = rec.picks.replace(rec.pick_list()[0].id, "E18" if "E18" not in rec.picks else "E17")
    world.execute("update draw_log set picks = ? where draw_id = ?", [forged, rec.draw_id])
    fixed = load_records(world)[-1]
    world.execute(
        "update draw_log set record_hash = ? where draw_id = ?", [fixed.compute_hash(), rec.draw_id]
    )
    world.close()
    code, out = verify(db_path, capsys)
    assert code == 1 and rec.draw_id in out


def test_verify_log_on_a_database_without_draws(con, db_path, capsys):
    con.close()
    code, out = verify(db_path, capsys)
    assert code == 0 and "0 条" in out


# ---- long lists kept apart (draw_log_texts, draw_text_<record>_<column>) ------------------------


def test_a_spot_checks_lists_are_kept_apart_and_read_back_as_hashed(world):
    """The spot check's frozen cases (74) and picks (2 + 4 + 4 + 1) are each the one value of a
    table of their own, the draw_log columns null; read back, the texts are the Python
    reference's and the hashes hold. The expert draw's small lists stay in draw_log."""
    raw = world.execute(
        "select record_no, population is null, picks is null from draw_log order by record_no"
    ).fetchall()
    assert raw == [(1, True, True), (2, True, True), (3, False, True), (4, True, False)]
    texts = world.execute("select * from draw_log_texts order by record_no").fetchall()
    assert [t[:4] for t in texts] == [
        (1, "population", "draw_text_000001_population", 74),
        (2, "picks", "draw_text_000002_picks", 11),
    ]
    frozen, drawn = load_records(world)[:2]
    assert frozen.population is None and drawn.picks is None
    assert frozen.apart == {"population"} and drawn.apart == {"picks"}
    assert frozen.text("population") == population_json(frozen.members())
    assert world.execute("select text from draw_text_000001_population").fetchone()[0] == (
        frozen.text("population")
    )
    assert drawn.text("picks") == picks_json(drawn.pick_list())
    # the hash covers each text by its SHA-256 (hashlib's, of the UTF-8 text), kept beside it
    assert [t[4] for t in texts] == [
        hashlib.sha256(frozen.text("population").encode()).hexdigest(),
        hashlib.sha256(drawn.text("picks").encode()).hexdigest(),
    ]
    assert dict(frozen.sealed) == {"population": texts[0][4]}
    assert [p.rank for p in drawn.pick_list() if p.stratum == "H02"] == [1, 2, 3, 4]
    assert all(r.record_hash == r.compute_hash() for r in load_records(world))
    picks = world.execute(f"select {PICKS_COUNT} from draw_log order by record_no").fetchall()
    assert picks == [(0,), (11,), (0,), (3,)]


def test_a_changed_or_missing_text_kept_apart_fails_verify(world, db_path, capsys):
    world.execute(
        "update draw_text_000001_population set text = replace(text, 'H01-C000', 'H01-C999')"
    )
    frozen_id = load_records(world)[0].draw_id
    world.close()
    code, out = verify(db_path, capsys)
    assert code == 1 and frozen_id in out
    assert "draw_text_000001_population" in out and "SHA-256 不符" in out
    with duckdb.connect(str(db_path)) as con:
        con.execute("drop table draw_text_000001_population")
    code, _, err = run_cli(["verify-log", "--db", str(db_path)], capsys)
    assert code == 1 and "draw_text_000001_population" in err and "不存在" in err


def test_a_log_from_before_the_texts_kept_apart_is_brought_forward(world, db_path, capsys):
    """A draw_log written before long texts were kept apart (texts inline, no draw_log_texts)
    is read, verified and appended to as it is."""
    old = load_records(world)
    population, picks = old[0].text("population"), old[1].text("picks")
    for table in ("draw_log_texts", "draw_text_000001_population", "draw_text_000002_picks"):
        world.execute(f"drop table {table}")
    world.execute("update draw_log set population = ? where record_no = 1", [population])
    world.execute("update draw_log set picks = ? where record_no = 2", [picks])
    assert [r.apart for r in load_records(world)] == [frozenset()] * 4  # read as it is
    hashes = hashed_as_texts(world)
    world.close()
    con = connect(db_path)
    try:
        assert [r.record_hash for r in load_records(con)] == hashes
        spot_check(con, D1, D2, "0.2", "33333", ZZ, operator="张操作", supervisor="李监督")
        assert load_records(con)[-1].apart == {"picks"}
    finally:
        con.close()
    code, out = verify(db_path, capsys)
    assert code == 0, out


def hashed_as_texts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Rewrite the chain's hashes as a log from before texts were sealed hashed them (every text
    itself, none by its SHA-256); the new hashes."""
    prev, hashes = GENESIS, []
    for rec in load_records(con):
        rec = dataclasses.replace(rec, prev_hash=prev, sealed=())
        prev = rec.compute_hash()
        hashes.append(prev)
        con.execute(
            "update draw_log set prev_hash = ?, record_hash = ? where record_no = ?",
            [rec.prev_hash, prev, rec.record_no],
        )
    return hashes


def test_a_log_with_texts_apart_before_their_sha256_was_kept_is_brought_forward(
    world, db_path, capsys
):
    """A log whose texts were kept apart without their SHA-256 (the hash covering the texts
    themselves) verifies; the next append adds the column, seals its own texts, and the whole
    log verifies; a changed old text still fails, by the record's hash."""
    world.execute("alter table draw_log_texts drop column sha256")
    hashes = hashed_as_texts(world)
    world.close()
    code, out = verify(db_path, capsys)
    assert code == 0, out
    con = connect(db_path)
    try:
        assert [r.record_hash for r in load_records(con)] == hashes
        assert [r.sealed for r in load_records(con)] == [()] * 4
        spot_check(con, D1, D2, "0.2", "33333", ZZ, operator="张操作", supervisor="李监督")
        records = load_records(con)
        assert [r.sealed for r in records[:4]] == [()] * 4
        assert [c for c, _ in records[-2].sealed] == ["population"]
        assert [c for c, _ in records[-1].sealed] == ["picks"]
        texts = con.execute("select record_no, sha256 is null from draw_log_texts").fetchall()
        assert sorted(texts) == [(1, True), (2, True), (5, False), (6, False)]
    finally:
        con.close()
    code, out = verify(db_path, capsys)
    assert code == 0, out
    with duckdb.connect(str(db_path)) as con:
        con.execute("update draw_text_000002_picks set text = replace(text, 'H01', 'H09')")
    code, out = verify(db_path, capsys)
    assert code == 1 and "记录内容与其哈希不符" in out

"""A supervisor loads new platform exports on 数据 in Chromium: Parquet and CSV in one upload.

The real server and browser: the files go through the uploader, the ingest and the mart refresh
land in one transaction, the page reports each file and the data warning, and the warehouse then
holds the new rows (the Parquet file's typed timestamps read as they are).
"""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pandas as pd

from pipelines import cli
from sample_generator import generate

from browser import ARTIFACTS, exceptions_on, login, streamlit_server, wait_for_app

AS_OF = "2026-11-20 23:59:59"


def test_upload_parquet_and_csv_on_the_data_page(tmp_path, users_file, browser):
    generate(cases=300, seed=17, out=tmp_path / "in")
    db = tmp_path / "w.duckdb"
    assert cli.main(["ingest", "--db", str(db), "--as-of", AS_OF, str(tmp_path / "in")]) == 0
    c = duckdb.connect(str(db), read_only=True)
    case_id, expert_id, pushed = c.execute(
        "select t.case_id, t.expert_id, t.pushed_at from stg_tasks t order by t.task_id limit 1"
    ).fetchone()
    cases = c.execute("select * exclude (load_id) from stg_cases order by case_id limit 1").df()
    before = c.execute("select count(*) from stg_tasks").fetchone()[0]
    c.close()

    more = tmp_path / "more"
    more.mkdir()
    tasks = pd.DataFrame(
        {
            "task_id": ["UP-1", "UP-2"],
            "case_id": [case_id, case_id],
            "expert_id": [expert_id, expert_id],
            "pushed_at": [pushed, pushed + dt.timedelta(minutes=5)],  # native timestamps
            "responded_at": [pushed + dt.timedelta(hours=1), None],
            "response": ["受理", None],
            "completed_at": [None, None],
            "verdict": [None, None],
        }
    )
    tasks.to_parquet(more / "tasks_upload.parquet", index=False)
    new_case = cases.copy()
    new_case["case_id"] = "UP-CASE"
    pid = new_case.loc[0, "person_id"]
    new_case["person_id"] = pid[:17] + ("0" if pid[17] != "0" else "1")  # wrong check digit
    new_case.to_csv(more / "cases_upload.csv", index=False)

    with streamlit_server(db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        login(page, url)
        page.get_by_role("link", name="数据", exact=True).click()
        wait_for_app(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
            [str(more / "cases_upload.csv"), str(more / "tasks_upload.parquet")]
        )
        page.get_by_text("tasks_upload.parquet").wait_for()
        wait_for_app(page)
        page.get_by_role("button", name="导入").click()
        page.get_by_text("统计表已按").wait_for(timeout=180_000)
        wait_for_app(page)
        page.get_by_text("数据警告 1").wait_for()
        body = page.inner_text("body")
        # the page ran again: the tables above the uploader are the new ones
        assert "没有数据警告" not in body
        assert "条：这些行可以使用，已经导入" in body  # the warnings table (drawn on a canvas)
        assert "cases_upload.csv：读取 1，接受 1（新增 1），隔离 0，数据警告 1" in body, body[
            -2000:
        ]
        assert "tasks_upload.parquet：读取 2，接受 2（新增 2），隔离 0" in body
        assert not exceptions_on(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "upload-done.png"), full_page=True)
        page.close()

    c = duckdb.connect(str(db), read_only=True)
    try:
        assert c.execute("select count(*) from stg_tasks").fetchone()[0] == before + 2
        got = c.execute(
            "select pushed_at, responded_at from stg_tasks where task_id = 'UP-1'"
        ).fetchone()
        assert got == (pushed, pushed + dt.timedelta(hours=1))
        warned = c.execute(
            "select record_key from data_warnings where table_name = 'cases'"
        ).fetchall()
        assert ("UP-CASE",) in warned
        # the marts were refreshed in the same transaction as the rows
        assert (
            c.execute("select count(*) from fct_tasks where task_id like 'UP-%'").fetchone()[0] == 2
        )
    finally:
        c.close()
    shutil.rmtree(more)

"""数据 — what was loaded, what was quarantined and what was loaded with a warning; upload new
platform exports."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import duckdb
import streamlit as st

from dashboard.charts import list_columns, show_table
from dashboard.common import (
    con,
    db_path,
    full_personal_data,
    head_note,
    list_head,
    list_rows,
    literal,
    num,
    page_header,
    profile,
    query,
    user,
)
from dashboard.consistency import gate
from dashboard.downloads import download_buttons
from dashboard.uploads import save_uploads
from pipelines.cliutil import disk_problem
from pipelines.db import loose_modes
from pipelines.errors import DataError, UsageError
from pipelines.ingest import ingest
from pipelines.readers import PAGE_LIMITS
from pipelines.rules import refresh_marts

UPLOADER_CSS = """
[data-testid="stFileUploaderDropzoneInstructions"] { display: none; }
[data-testid="stFileUploaderDropzone"] button { visibility: hidden; position: relative; }
[data-testid="stFileUploaderDropzone"] button::after {
    content: "选择文件"; visibility: visible; position: absolute; inset: 0;
    display: flex; align-items: center; justify-content: center;
    border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; background: inherit;
}
"""

page_header("数据", "导入记录与隔离行：每个文件 读取行数 = 接受行数 + 隔离行数。")

loads = query(
    """
    select load_id as 批次, loaded_at as 导入时间, loaded_by as 导入人, file_name as 文件,
           table_name as 表, rows_read as 读取, rows_accepted as 接受, rows_new as 新增,
           rows_updated as 更新, rows_quarantined as 隔离
    from load_log order by load_id desc, file_name
    """
)
st.subheader("导入记录")
if loads.empty:
    st.info("尚未导入任何文件。")
else:
    show_table(
        loads,
        hide_index=True,
        key="loads",
        column_config=list_columns(loads, "读取", "接受", "新增", "更新", "隔离"),
    )

if not user().perms.all_districts:
    st.info("隔离行和文件上传涉及全市数据，仅市级用户可见。")
    st.stop()

for line in loose_modes(db_path()):  # files holding every 身份证号, readable by other local users
    st.warning(line)

st.subheader("隔离行（未能导入的行）")
QUARANTINE = """
    select file_name as 文件, table_name as 表, line as 行号, column_name as 列,
           reason_zh as 原因{raw}
    from quarantine where ? is null or table_name = ? order by table_name, file_name, line
    """
quarantined = query("select distinct table_name as 表 from quarantine order by 1")
if quarantined.empty:
    st.success("没有隔离行。")
else:
    pick = st.selectbox("表", ["全部", *quarantined["表"]], key="q-table")
    # raw rows carry unmasked resident IDs
    q_sql = QUARANTINE.format(raw=", raw as 原始内容" if full_personal_data() else "")
    q_p = [None if pick == "全部" else pick] * 2
    view, total = list_head(q_sql, q_p)
    st.caption(f"共 {num(total)} 行")
    show_table(view, hide_index=True, key="q-rows", column_config=list_columns(view))
    head_note(len(view), total)
    download_buttons(view, "隔离行", key="q-dl", every=(list_rows(q_sql, q_p), total))

st.subheader("数据警告（已导入，请核实）")
WARNINGS = """
    select file_name as 文件, table_name as 表, line as 行号, column_name as 列,
           warning_zh as 警告, record_key as 记录编号, load_id as 批次
    from data_warnings order by load_id desc, table_name, file_name, line
    """
warnings, total = list_head(WARNINGS)
if warnings.empty:
    st.success("没有数据警告。")
else:
    st.caption(
        f"共 {num(total)} 条：这些行可以使用，已经导入，但内容可疑（身份证号校验位不符、"
        "时间晚于导入时间等），请与申报医院或平台核实。"
    )
    show_table(warnings, hide_index=True, key="w-rows", column_config=list_columns(warnings))
    head_note(len(warnings), total)
    download_buttons(warnings, "数据警告", key="w-dl", every=(list_rows(WARNINGS), total))

st.subheader("上传平台导出文件")
st.caption(
    "文件名以 hospitals / experts / cases / tasks（或 医院、专家、申报、任务日志 的表名）开头；支持 CSV（UTF-8 或 GBK）、xlsx、parquet。"
)
if not user().perms.run_draws:
    st.caption("当前角色只读，不能上传。")
    st.stop()
if flash := st.session_state.pop("data-flash", None):
    label, lines = flash
    st.success(label + "\n\n" + "\n\n".join(f"- {line}" for line in lines))
# Streamlit's drop zone is written in English ("Upload", "200MB per file • CSV, XLSX…"): its
# text is hidden and the same facts are said in Chinese
st.html(f"<style>{UPLOADER_CSS}</style>")
files = st.file_uploader(
    "选择文件", type=["csv", "xlsx", "parquet"], accept_multiple_files=True, key="upload"
)
st.caption(
    f"可拖入文件或点击「选择文件」，可一次选择多个；单个文件不超过 "
    f"{num(st.get_option('server.maxUploadSize'))} MB。"
)
given = st.checkbox(
    "指定本次导出的数据截止时间（不指定则取文件中最晚的事件时间）", key="upload-cutoff-on"
)
cutoff = None
if given:
    c1, c2 = st.columns(2)
    cut_day = c1.date_input("截止日期", key="upload-cutoff-date")
    cut_time = c2.time_input("截止时间", dt.time(23, 59, 59), key="upload-cutoff-time", step=60)
    cutoff = dt.datetime.combine(cut_day, cut_time)
if files and st.button("导入", type="primary", key="upload-go"):
    with tempfile.TemporaryDirectory() as tmp, st.status("正在导入…", expanded=True) as status:
        try:
            save_uploads(files, Path(tmp))
            reports = ingest(
                con(),
                [Path(tmp)],
                loaded_by=user().username,
                log=st.write,
                # the marts land in the same transaction as the rows: old or new, never a mix
                # evaluation time: the new data cut-off (DATA-CUTOFF), never the clock
                on_loaded=lambda c: refresh_marts(c, None, profile(), own_transaction=False),
                commit_guard=gate().committing,
                cutoff=cutoff,
                limits=PAGE_LIMITS,  # the page accepts less than the command line
            )
            as_of, cut = con().execute("select eval_at, data_cutoff from mart_meta").fetchone()
        except (DataError, UsageError) as exc:
            status.update(label="导入失败，未写入任何数据", state="error")
            st.error(literal(exc))
        except (duckdb.Error, OSError) as exc:
            if (problem := disk_problem(exc)) is None:
                raise
            status.update(label="导入失败：存储空间或权限问题", state="error")
            st.error(
                f"{problem}。本次导入未完成，也没有留下半截数据；请联系系统管理员腾出磁盘空间后重新导入。"
            )
        else:
            lines = [
                f"{literal(r.file)}：读取 {num(r.read)}，接受 {num(r.accepted)}（新增 {num(r.new)}），隔离 {num(r.quarantined)}"
                + (f"，数据警告 {num(r.warnings)}" if r.warnings else "")
                for r in reports
            ]
            done = (
                f"导入完成，数据截止时间 {cut:%Y-%m-%d %H:%M:%S}，"
                if cut is not None
                else "导入完成（尚无带时间的记录），"
            ) + (f"统计表已按评估时间 {as_of:%Y-%m-%d %H:%M:%S} 重算")
            status.update(label=done, state="complete")
            st.cache_data.clear()
            # run the page again so the load log, quarantine and warnings above are the new ones
            st.session_state["data-flash"] = (done + "。", lines)
            st.rerun()

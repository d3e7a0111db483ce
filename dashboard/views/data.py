"""数据 — what was loaded and what was quarantined; upload new platform exports."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from dashboard.common import con, num, page_header, query
from dashboard.downloads import download_buttons
from pipelines.ingest import ingest
from pipelines.readers import FileRejected

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
    st.dataframe(loads, hide_index=True, key="loads")

st.subheader("隔离行（未能导入的行）")
q = query(
    """
    select file_name as 文件, table_name as 表, line as 行号, column_name as 列,
           reason_zh as 原因, reason_en as reason, raw as 原始内容
    from quarantine order by table_name, file_name, line
    """
)
if q.empty:
    st.success("没有隔离行。")
else:
    tables = ["全部", *sorted(q["表"].unique())]
    pick = st.selectbox("表", tables, key="q-table")
    view = q if pick == "全部" else q[q["表"] == pick]
    st.caption(f"共 {num(len(view))} 行")
    st.dataframe(view, hide_index=True, key="q-rows")
    download_buttons(view, "隔离行", key="q-dl")

st.subheader("上传平台导出文件")
st.caption(
    "文件名以 hospitals / experts / cases / tasks（或 医院、专家、申报、任务日志 的表名）开头；支持 CSV（UTF-8 或 GBK）、xlsx、parquet。"
)
files = st.file_uploader(
    "选择文件", type=["csv", "xlsx", "parquet"], accept_multiple_files=True, key="upload"
)
if files and st.button("导入", type="primary", key="upload-go"):
    with tempfile.TemporaryDirectory() as tmp, st.status("正在导入…", expanded=True) as status:
        for f in files:
            (Path(tmp) / f.name).write_bytes(f.getvalue())
        try:
            reports = ingest(con(), [Path(tmp)], loaded_by="dashboard", log=st.write)
        except FileRejected as exc:
            status.update(label="导入失败，未写入任何数据", state="error")
            st.error(str(exc))
        else:
            status.update(label="导入完成", state="complete")
            for r in reports:
                st.write(
                    f"{r.file}：读取 {num(r.read)}，接受 {num(r.accepted)}（新增 {num(r.new)}），隔离 {num(r.quarantined)}"
                )
            st.cache_data.clear()

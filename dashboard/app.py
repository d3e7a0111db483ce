"""门诊慢特病鉴定监管看板 — the pages; started as `streamlit run dashboard/serve.py -- --db PATH`
(serve.py wraps this script in its login gate for uploads and downloads).

A thin st.navigation router over one file per page in dashboard/views/.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard.auth import current_user, keep_cookie, login_form, logout, role_caption  # noqa: E402
from dashboard.common import db_path, literal, profile, profile_name  # noqa: E402
from dashboard.consistency import gate  # noqa: E402
from dashboard.nav import sections  # noqa: E402
from pipelines.db import file_problem  # noqa: E402

PAGES = Path(__file__).resolve().parent / "views"


def main() -> None:
    st.set_page_config(page_title="门诊慢特病鉴定监管看板", page_icon="🩺", layout="wide")
    user = current_user()
    if user is None:
        login_form()
        return
    nav = {
        section: [
            st.Page(PAGES / f, title=title, icon=icon, default=default)
            for f, title, icon, default in items
            if (PAGES / f).exists()
        ]
        for section, items in sections(profile_name()).items()
    }
    page = st.navigation({k: v for k, v in nav.items() if v})
    with st.sidebar:
        st.caption(f"登录：{literal(role_caption(user))}")
        if st.button("退出登录", key="logout"):
            logout()
            st.rerun()
        st.caption(f"规则配置：{literal(profile().label)}　数据库：{literal(db_path().name)}")
        keep_cookie(user)
    if problem := file_problem(db_path()):  # deleted or replaced under the open connection
        st.error(literal(problem))
        st.stop()
    with gate().reading():
        page.run()


main()

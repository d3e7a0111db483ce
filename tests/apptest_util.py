"""Run dashboard pages headless with Streamlit's AppTest, logged in as a given role."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

from streamlit.testing.v1 import AppTest

from pipelines.users import User

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")

ROLE_USERS = {
    "市级监管": User("demo", "市级监管", None, "x"),
    "市级管理员": User("admin", "市级管理员", None, "x"),
    "区县监管": User("jinshui", "区县监管", "金水区", "x"),
    "只读审计": User("audit", "只读审计", None, "x"),
}


def open_page(
    db: Path, page: str, role: str = "市级监管", profile: str = "zhengzhou", timeout: float = 60
) -> AppTest:
    """Run `dashboard/views/<page>.py` through the router as a logged-in user of `role`."""
    os.environ["MTB_DB"] = str(db)
    os.environ["MTB_PROFILE"] = profile
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["user"] = asdict(ROLE_USERS[role])
    at.run()
    if page != "home":
        at.switch_page(f"views/{page}.py")
        at.run()
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def record_downloads(monkeypatch) -> dict:
    """What every download button of the pages holds, by what it is called (a list shown by
    its head downloads every row: its `every` callable is read); filled as pages run."""
    import dashboard.downloads

    got: dict = {}
    real = dashboard.downloads.download_buttons

    def record(df, what, *args, **kwargs):
        every = kwargs.get("every")
        got[what] = every[0]() if every else df
        return real(df, what, *args, **kwargs)

    monkeypatch.setattr(dashboard.downloads, "download_buttons", record)
    return got

"""Start the dashboard: `streamlit run dashboard/serve.py -- --db PATH [--profile NAME]`.

The same app as `dashboard/app.py`, served through Streamlit's st.App so that a small ASGI
middleware sees every HTTP request before Streamlit does (make run, the browser tests, the load
test and the bench all start it this way):

- file uploads (`/_stcore/upload_file/…`) and downloads (`/media/…`) need the login cookie the
  dashboard gives a logged-in browser (dashboard/auth.py, checked with pipelines/sessions.py):
  without it, 403 — nobody can park files in server memory or fetch another user's export;
- `/_stcore/metrics` (session and cache statistics) answers 404.
"""

from __future__ import annotations

import os
import sys
from http.cookies import CookieError, SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from pipelines import sessions  # noqa: E402
from pipelines.db import PRIVATE_UMASK  # noqa: E402

COOKIE = "mtb_session"  # the cookie dashboard/auth.py sets (auth.COOKIE)
LOGIN_ONLY = ("/_stcore/upload_file/", "/media/")
HIDDEN = ("/_stcore/metrics",)


def _base() -> str:
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def _logged_in(scope: dict) -> bool:
    raw = b"; ".join(v for k, v in scope.get("headers", []) if k == b"cookie")
    try:
        morsel = SimpleCookie(raw.decode("latin-1")).get(COOKIE)
    except CookieError:
        return False
    return morsel is not None and sessions.verify(morsel.value) is not None


def refusal(scope: dict) -> tuple[int, bytes] | None:
    """(status, body) for a request the dashboard does not serve as asked, else None."""
    if scope["type"] != "http":
        return None
    path = scope["path"].removeprefix(_base())
    if path.rstrip("/") in HIDDEN:
        return 404, b"Not Found"
    if path.startswith(LOGIN_ONLY) and scope["method"] != "OPTIONS" and not _logged_in(scope):
        return 403, "请先登录看板。(login required)".encode()
    return None


class LoginGate:
    """ASGI middleware: answers the requests `refusal` names, passes every other one on."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if (refused := refusal(scope)) is None:
            await self.app(scope, receive, send)
            return
        status, body = refused
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


os.umask(PRIVATE_UMASK)  # the .wal, the spill folder and the sessions files: owner-only
# pages read published snapshots, so commands can write the warehouse beside the dashboard
os.environ.setdefault("MTB_READ_SNAPSHOTS", "1")
app = st.App("app.py", middleware=[Middleware(LoginGate)])

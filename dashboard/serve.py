"""Start the dashboard: `streamlit run dashboard/serve.py -- --db PATH [--profile NAME]`.

The same app as `dashboard/app.py`, served through Streamlit's st.App so that a small ASGI
middleware (dashboard/gate.py: the login gate of uploads and downloads, the HttpOnly session
cookie) sees every HTTP request before Streamlit does (make run, the browser tests, the load test
and the bench all start it this way).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from dashboard.gate import LoginGate  # noqa: E402
from pipelines.db import PRIVATE_UMASK  # noqa: E402

os.umask(PRIVATE_UMASK)  # the .wal, the spill folder and the sessions files: owner-only
# pages read published snapshots, so commands can write the warehouse beside the dashboard
os.environ.setdefault("MTB_READ_SNAPSHOTS", "1")
app = st.App("app.py", middleware=[Middleware(LoginGate)])

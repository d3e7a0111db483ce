"""Start the real Streamlit server and drive it with Playwright in Debian's Chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(
    db: Path, profile: str = "zhengzhou", env: dict | None = None
) -> Iterator[str]:
    """Run `streamlit run dashboard/serve.py` on a free port until the block ends; yields the URL."""
    port = free_port()
    log = ARTIFACTS / f"streamlit-{port}.log"
    ARTIFACTS.mkdir(exist_ok=True)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "serve.py"),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--", "--db", str(db), "--profile", profile,
    ]  # fmt: skip
    with log.open("w") as fh:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Streamlit did not start; see {log}:\n{log.read_text()[-2000:]}"
                    )
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished running the script (no 'running' indicator)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-script-state') !== 'running'
                && !document.querySelector('[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]');
        }""",
        timeout=timeout,
    )
    page.wait_for_timeout(500)


def choose(page, key: str, option: str, attempts: int = 12) -> None:
    """Pick an option of the selectbox with widget key `key`: open its list until the option
    shows and the click on it lands — a rerun may close the list or replace the option under
    the pointer, and on a busy machine the first click may come before the widget listens —
    then wait for the rerun the choice starts."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wanted = page.get_by_role("option").filter(has_text=option).first
    for _ in range(attempts):
        wait_for_app(page)
        if not wanted.is_visible():
            if page.get_by_role("listbox").count():  # another list left open: close it
                page.keyboard.press("Escape")
            page.locator(f".st-key-{key}").get_by_role("combobox").click()
        try:
            wanted.wait_for(timeout=5_000)
            wanted.click(timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    else:
        raise AssertionError(
            f"selectbox {key}: option {option!r} never shown after {attempts} tries"
        )
    wait_for_app(page)


def login(page, url: str, username: str = "demo", password: str = "demo2026") -> None:
    """Open the app and log in through the real form."""
    page.goto(url, timeout=180_000)
    wait_for_app(page, timeout=180_000)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("退出登录").wait_for(timeout=180_000)
    wait_for_app(page, timeout=180_000)
    session_cookie(page, "set")


def session_cookie(page, state: str) -> None:
    """Wait until the server has answered the page's session hand-over ("set" after a login,
    "cleared" after a logout; dashboard/auth.py marks the page when it has)."""
    page.wait_for_function(
        f"document.documentElement.dataset.mtbSession === '{state}'", timeout=180_000
    )


def exceptions_on(page) -> list[str]:
    return [e.inner_text() for e in page.query_selector_all('[data-testid="stException"]')]


def click_download(page, button, attempts: int = 5):
    """Click a download button (a locator) until the browser gets the file; its Download.

    A download button's file is made on the server when it is clicked; a click that lands
    while the page is still rerunning after an earlier click finds the button's file id
    already revoked and Streamlit drops it. A user then clicks again — so does this helper,
    after 45 s without a file (a dropped click once cost a CI run 150 s of waiting), or after a
    minute of a disabled button (on a loaded CI machine one stayed disabled past 120 s and came
    back after the page was waited for again).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    for attempt in range(attempts):
        wait_for_app(page)
        try:
            # the button is disabled while the page reruns (30 s, Playwright's default, was
            # once not enough on a loaded CI machine)
            expect(button).to_be_enabled(timeout=60_000)
            with page.expect_download(timeout=45_000) as info:
                button.click(timeout=30_000)
            return info.value
        except (PlaywrightTimeout, AssertionError):  # expect() fails with AssertionError
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def download(page, button, target: Path, attempts: int = 5) -> Path:
    """Click a download button (a locator) and save the file into ``target``."""
    d = click_download(page, button, attempts)
    path = target / d.suggested_filename
    d.save_as(str(path))
    wait_for_app(page)
    return path

"""Async Playwright counterparts of tests/browser.py, and what the load test measures on the side.

One Chromium, many contexts: every context is a separate Streamlit session that logs in through
the real form and moves between pages by the sidebar links (a URL load would start a new session
and lose the login).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

LOGIN_TITLE = "门诊慢特病鉴定监管看板"

# The app has finished a run and the page is on screen: not running, no running icon, no stale
# (greyed, left over from the previous run) element in the main area, no skeleton (an element
# whose code is still loading: the first chart or metric a browser context shows comes as a
# skeleton first) and, when given, the page's own title on top.
_DONE = """(title) => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app && app.getAttribute('data-test-script-state');
    if (!app || state === 'running' || state === 'rerunRequested') return false;
    if (document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')) return false;
    if (document.querySelector('[data-testid="stMain"] [data-stale="true"]')) return false;
    if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"], '
        + '[data-testid="stAppSkeleton"]')) return false;
    if (!title) return true;
    const h = document.querySelector('[data-testid="stMain"] h1');
    return !!h && h.textContent.trim().startsWith(title);
}"""

_METRICS = """() => Object.fromEntries(
    [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => [
        m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
        m.querySelector('[data-testid="stMetricValue"]').innerText.trim(),
    ]))"""


async def new_context(browser, width: int = 1280, height: int = 800):
    """A fresh context (its own cookies, so its own login) and its page.

    Reduced motion: the pages share two cores with the server, and Streamlit then skips its
    entering animations, which cost the browser CPU and measure nothing.
    """
    ctx = await browser.new_context(
        viewport={"width": width, "height": height}, reduced_motion="reduce"
    )
    page = await ctx.new_page()
    page.set_default_timeout(180_000)
    return ctx, page


async def wait_for_app(page: Page, title: str | None = None, timeout: float = 180_000) -> None:
    """Wait until Streamlit has finished the run and the page (with `title`) is on screen."""
    await page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    await page.wait_for_function(_DONE, arg=title, timeout=timeout, polling=100)
    # two frames: React has committed what the run sent (a widget's value lands a frame later)
    await page.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    )


async def settle(page: Page, title: str | None = None) -> None:
    """Like wait_for_app, then a short pause and once more (a click may start its rerun late)."""
    await wait_for_app(page, title)
    await page.wait_for_timeout(300)
    await wait_for_app(page, title)


async def login(page: Page, url: str, username: str, password: str) -> None:
    """Open the app and log in through the real form (as tests/browser.py `login`)."""
    await page.goto(url, timeout=180_000)
    await wait_for_app(page, LOGIN_TITLE)
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await page.get_by_text("退出登录").wait_for(timeout=180_000)
    await settle(page)
    # the server has set the login cookie uploads and downloads need (dashboard/auth.py)
    await page.wait_for_function(
        "document.documentElement.dataset.mtbSession === 'set'", timeout=180_000
    )


async def go(page: Page, link: str, title: str) -> float:
    """Click a sidebar link and wait until that page has run and rendered; returns seconds."""
    t0 = time.monotonic()
    await page.get_by_role("link", name=link, exact=True).click()
    await wait_for_app(page, title)
    return time.monotonic() - t0


async def exceptions_on(page: Page) -> list[str]:
    return [
        await e.inner_text() for e in await page.query_selector_all('[data-testid="stException"]')
    ]


async def metrics(page: Page) -> dict[str, str]:
    """Every metric on the page: label → value as shown."""
    return await page.evaluate(_METRICS)


# ---- the draw page's widgets (async versions of tests/test_browser_draws.py helpers) -------


def widget(page: Page, key: str):
    return page.locator(f".st-key-{key}")


async def fill(page: Page, key: str, text: str) -> None:
    box = widget(page, key).locator("input")
    await box.fill(text)
    await box.press("Enter")
    await settle(page)


async def click(page: Page, key: str) -> None:
    await widget(page, key).locator("button").click()
    await settle(page)


async def choose(page: Page, key: str, option: str) -> None:
    """Pick an option of a selectbox (opened again if a rerun closed the list meanwhile)."""
    wanted = page.get_by_role("option").filter(has_text=option)
    for _ in range(3):
        await widget(page, key).get_by_role("combobox").click()
        try:
            await wanted.first.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            await settle(page)
    await wanted.first.click()
    await settle(page)


# ---- the server process and the machine -----------------------------------------------------


def _parents() -> dict[int, int]:
    """pid → parent pid of every process."""
    out = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                out[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return out


def _children(pid: int) -> list[int]:
    return [c for c, parent in _parents().items() if parent == pid]


def _descendants(pid: int, parents: dict[int, int]) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for c, parent in parents.items():
            if parent == p and c not in out:
                out.add(c)
                todo.append(c)
    return out


def server_pid(port: int) -> int:
    """The `streamlit run` process this test started (a child of this process) on `port`."""
    for pid in _children(os.getpid()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmd) and str(port).encode() in cmd:
            return pid
    raise RuntimeError(f"no streamlit child process on port {port}")


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    v = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def _proc_cpu_seconds(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Sampler:
    """Samples the server's RSS and the machine's load every second in a thread."""

    pid: int
    peak_rss_kb: int = 0
    peak_hwm_kb: int = 0
    max_load1: float = 0.0
    load_at_start: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cpu_busy: float = 0.0  # share of all cores busy over the run (every process, not just ours)
    server_cpu_seconds: float = 0.0
    browser_cpu_seconds: float = 0.0  # the test's other processes: Playwright's driver, Chromium
    wall_seconds: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> None:
        self.peak_rss_kb = max(self.peak_rss_kb, _status_kb(self.pid, "VmRSS"))
        self.peak_hwm_kb = max(self.peak_hwm_kb, _status_kb(self.pid, "VmHWM"))
        self.max_load1 = max(self.max_load1, os.getloadavg()[0])
        parents = _parents()
        for pid in (
            _descendants(os.getpid(), parents) - {self.pid} - _descendants(self.pid, parents)
        ):
            try:
                self._cpu[pid] = _proc_cpu_seconds(pid) - self._cpu0_of.get(pid, 0.0)
            except (OSError, ValueError, IndexError):
                continue

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._sample()
            except OSError:
                return

    def __enter__(self) -> Sampler:
        self.load_at_start = os.getloadavg()
        self._t0, self._ticks0 = time.monotonic(), _cpu_ticks()
        self._cpu0 = _proc_cpu_seconds(self.pid)
        self._cpu: dict[int, float] = {}
        self._cpu0_of: dict[int, float] = {}
        for pid in _descendants(os.getpid(), _parents()) - {self.pid}:
            with contextlib.suppress(OSError, ValueError, IndexError):
                self._cpu0_of[pid] = _proc_cpu_seconds(pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        try:  # VmHWM is the kernel's own high-water mark: nothing between samples is missed
            self._sample()
            self.server_cpu_seconds = _proc_cpu_seconds(self.pid) - self._cpu0
        except OSError:
            pass
        self.browser_cpu_seconds = sum(self._cpu.values())
        busy, total = _cpu_ticks()
        self.cpu_busy = (busy - self._ticks0[0]) / max(total - self._ticks0[1], 1)
        self.wall_seconds = time.monotonic() - self._t0

    @property
    def peak_mb(self) -> float:
        return max(self.peak_rss_kb, self.peak_hwm_kb) / 1024

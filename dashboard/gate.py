"""The dashboard's HTTP gate (dashboard/serve.py puts it in front of Streamlit): an ASGI
middleware that sees every HTTP request before Streamlit does.

- file uploads (`/_stcore/upload_file/…`) and downloads (`/media/…`) need the login cookie the
  dashboard gives a logged-in browser (dashboard/auth.py, checked with pipelines/sessions.py):
  without it, 403 — nobody can park files in server memory or fetch another user's export;
- `/_stcore/metrics` (session and cache statistics) answers 404;
- `POST /_mtb/session` (same origin only) turns a login token the page hands over into the
  session cookie, `HttpOnly` (no script of the page can read it afterwards), `SameSite=Strict`;
  an empty body clears it (logout). A token that `pipelines/sessions.py` does not accept is
  refused, so nobody can plant a cookie.
"""

from __future__ import annotations

import os
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from pipelines import sessions

COOKIE = "mtb_session"  # the login cookie
SESSION_PATH = "/_mtb/session"  # where the page hands its token over (dashboard/auth.py)
SESSION_MAX_AGE = 2 * 60 * 60  # the cookie lives as long as an idle session (auth.IDLE_SECONDS)
LOGIN_ONLY = ("/_stcore/upload_file/", "/media/")
HIDDEN = ("/_stcore/metrics",)
TOKEN_BYTES = 4096  # a token is a few hundred bytes; a longer body is refused unread


def base_path() -> str:
    """Streamlit's server.baseUrlPath as a path prefix ("" or "/base")."""
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
    path = scope["path"].removeprefix(base_path())
    if path.rstrip("/") in HIDDEN:
        return 404, b"Not Found"
    if path.startswith(LOGIN_ONLY) and scope["method"] != "OPTIONS" and not _logged_in(scope):
        return 403, "请先登录看板。(login required)".encode()
    return None


def _header(scope: dict, name: bytes) -> str | None:
    found = [v for k, v in scope.get("headers", []) if k == name]
    return found[0].decode("latin-1") if found else None


def same_origin(scope: dict) -> bool:
    """Whether the request comes from a page of this server: its Origin names the host the
    browser asked for (Host, or X-Forwarded-Host behind a proxy; the scheme may differ behind
    one that ends TLS). A page of another site cannot set or clear the cookie: it cannot forge
    Origin, nor send X-Forwarded-Host without a preflight this endpoint does not answer."""
    origin = _header(scope, b"origin")
    if not origin:
        return False
    asked = urlsplit(origin).netloc
    hosts = (_header(scope, b"host"), _header(scope, b"x-forwarded-host"))
    return bool(asked) and asked in hosts


def session_cookie(token: str) -> tuple[int, list[tuple[bytes, bytes]]]:
    """(status, headers) answering a token handed over: the cookie set for a valid token,
    cleared for an empty one, 403 otherwise."""
    if token and sessions.verify(token) is None:
        return 403, []
    age = SESSION_MAX_AGE if token else 0
    secure = "; Secure" if os.environ.get("MTB_SECURE_COOKIE") == "1" else ""
    cookie = f"{COOKIE}={token}; Path=/; Max-Age={age}; HttpOnly; SameSite=Strict{secure}"
    return 204, [(b"set-cookie", cookie.encode("latin-1")), (b"cache-control", b"no-store")]


async def _body(receive, limit: int) -> bytes | None:
    """The request body, or None when it is longer than limit."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


class LoginGate:
    """ASGI middleware: answers the requests `refusal` names and the session hand-over, passes
    every other one on."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].removeprefix(base_path()) == SESSION_PATH:
            await self._session(scope, receive, send)
            return
        if (refused := refusal(scope)) is None:
            await self.app(scope, receive, send)
            return
        status, body = refused
        await _answer(send, status, [], body)

    async def _session(self, scope, receive, send) -> None:
        if scope["method"] != "POST" or not same_origin(scope):
            await _answer(send, 403, [], b"Forbidden")
            return
        body = await _body(receive, TOKEN_BYTES)
        try:
            token = body.decode("ascii").strip() if body is not None else None
        except UnicodeDecodeError:
            token = None
        if token is None:
            await _answer(send, 403, [], b"Forbidden")
            return
        status, headers = session_cookie(token)
        await _answer(send, status, headers, b"" if status == 204 else b"Forbidden")


async def _answer(send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

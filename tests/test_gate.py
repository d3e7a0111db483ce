"""dashboard/gate.py, the middleware in front of Streamlit, called as an ASGI app: the session
hand-over sets an HttpOnly cookie for a valid token from a page of this server only; uploads and
downloads need the cookie; everything else passes through untouched."""

from __future__ import annotations

import asyncio

import pytest

from dashboard import gate
from pipelines import sessions
from pipelines import users as users_mod

HOST = "127.0.0.1:8501"


@pytest.fixture
def token(tmp_path, monkeypatch) -> str:
    path = tmp_path / "users.json"
    users_mod.add_user("li", "password-2", "区县监管", "金水区", path)
    monkeypatch.setattr(users_mod, "USERS_FILE", path)  # where the gate's sessions.verify looks
    return sessions.issue(users_mod.User(**users_mod._read(path)["li"]), 60)


def call(path: str, method: str = "POST", body: bytes = b"", headers: dict | None = None):
    """(status, headers, body) of the gate's answer, or ("passed", …) when it handed on."""
    sent: list[dict] = []
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "scheme": "http",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    parts = [body[i : i + 100] for i in range(0, len(body), 100)] or [b""]

    async def receive():
        chunk = parts.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(parts)}

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        sent.append({"passed": True})

    asyncio.run(gate.LoginGate(app)(scope, receive, send))
    if sent[0].get("passed"):
        return "passed", {}, b""
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


def same_site(**extra: str) -> dict:
    return {"Host": HOST, "Origin": f"http://{HOST}", **extra}


def test_a_valid_token_from_this_server_becomes_an_httponly_cookie(token):
    status, headers, _ = call(gate.SESSION_PATH, body=token.encode(), headers=same_site())
    assert status == 204
    cookie = headers[b"set-cookie"].decode()
    assert cookie.startswith(f"mtb_session={token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=7200" in cookie
    assert "Secure" not in cookie


def test_an_empty_body_clears_the_cookie():
    status, headers, _ = call(gate.SESSION_PATH, body=b"", headers=same_site())
    assert status == 204 and headers[b"set-cookie"].decode().startswith("mtb_session=; ")
    assert "Max-Age=0" in headers[b"set-cookie"].decode()


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": HOST},  # no Origin
        {"Host": HOST, "Origin": "http://evil.example"},
        {"Host": HOST, "Origin": "null"},
        {"Host": HOST, "Origin": "http://127.0.0.1:9999"},
    ],
)
def test_another_origin_can_neither_set_nor_clear_the_cookie(token, headers):
    status, sent, _ = call(gate.SESSION_PATH, body=token.encode(), headers=headers)
    assert status == 403 and b"set-cookie" not in sent
    status, sent, _ = call(gate.SESSION_PATH, body=b"", headers=headers)
    assert status == 403 and b"set-cookie" not in sent


def test_behind_a_proxy_the_forwarded_host_and_another_scheme_are_this_server(token):
    headers = {
        "Host": "127.0.0.1:8501",
        "X-Forwarded-Host": "mtb.example",
        "Origin": "https://mtb.example",
    }
    assert call(gate.SESSION_PATH, body=token.encode(), headers=headers)[0] == 204


def test_a_forged_or_oversized_token_or_a_get_is_refused(token):
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for body in (forged.encode(), b"x" * (gate.TOKEN_BYTES + 1), "令牌".encode()):
        status, sent, _ = call(gate.SESSION_PATH, body=body, headers=same_site())
        assert status == 403 and b"set-cookie" not in sent
    assert call(gate.SESSION_PATH, method="GET", headers=same_site())[0] == 403


def test_secure_is_added_when_served_over_https(token, monkeypatch):
    monkeypatch.setenv("MTB_SECURE_COOKIE", "1")
    _, headers, _ = call(gate.SESSION_PATH, body=token.encode(), headers=same_site())
    assert headers[b"set-cookie"].decode().endswith("; Secure")


def test_downloads_need_the_cookie_and_pages_pass(token):
    assert call("/media/abc.csv", method="GET")[0] == 403
    cookie = {"Cookie": f"mtb_session={token}"}
    assert call("/media/abc.csv", method="GET", headers=cookie)[0] == "passed"
    assert call("/_stcore/metrics", method="GET", headers=cookie)[0] == 404
    assert call("/", method="GET")[0] == "passed"

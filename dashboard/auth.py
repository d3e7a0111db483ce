"""Login gate for the dashboard: bcrypt-checked users, roles, idle sessions expire.

A login survives a reload of the page (F5): the browser keeps a signed token in a cookie
(pipelines/sessions.py) that a new Streamlit session reads. The token is renewed while the user
works and expires after the idle time; logging out revokes it. The page hands each new token to
the server (`POST /_mtb/session`, dashboard/gate.py), which sets the cookie `HttpOnly`: no
script of the page can read it afterwards. Served without serve.py (no such endpoint), the page
sets the cookie itself, as before.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import streamlit as st

from dashboard.gate import COOKIE, SESSION_MAX_AGE, SESSION_PATH, base_path
from pipelines import sessions, throttle
from pipelines.users import ROLES, User, authenticate

IDLE_SECONDS = SESSION_MAX_AGE  # an idle session ends, and its cookie with it
RENEW_SECONDS = 10 * 60


def _restore() -> User | None:
    """The user of a valid token cookie sent with this browser session's first request."""
    token = st.context.cookies.get(COOKIE)
    if not token:
        return None
    user = sessions.verify(token)
    if user is None:
        return None
    st.session_state["user"] = asdict(user)
    st.session_state["token"] = token
    st.session_state["token_renewed"] = 0.0  # renew at once: a fresh expiry from now
    return user


def current_user() -> User | None:
    """The logged-in user, or None (also when the session has been idle too long)."""
    rec = st.session_state.get("user")
    now = time.time()
    if rec is None:
        if st.session_state.get("logged_out") or _restore() is None:
            return None
        st.session_state["last_seen"] = now
        return User(**st.session_state["user"])
    if now - st.session_state.get("last_seen", now) > IDLE_SECONDS:
        logout("会话已超时，请重新登录。")
        return None
    st.session_state["last_seen"] = now
    return User(**rec)


def logout(message: str | None = None) -> None:
    if token := st.session_state.get("token"):
        sessions.revoke(token)
    for k in ("user", "last_seen", "token", "token_renewed"):
        st.session_state.pop(k, None)
    st.session_state["logged_out"] = True  # this session's first request still carries the cookie
    if message:
        st.session_state["login_message"] = message


def _set_cookie(value: str, max_age: int) -> None:
    """Hand the token to the server, which sets it as an HttpOnly cookie (an empty value clears
    it); only where that endpoint is missing (404) does the page set the cookie itself."""
    url = base_path() + SESSION_PATH
    fallback = f"{COOKIE}={value}; Path=/; Max-Age={max_age}; SameSite=Strict"
    done = "set" if value else "cleared"  # on the page when the server has answered
    st.html(
        f"<script>fetch('{url}', {{method: 'POST', body: '{value}', credentials: 'same-origin'}})"
        f".then(r => {{ if (r.status === 404) document.cookie = '{fallback}'; "
        f"document.documentElement.dataset.mtbSession = r.ok || r.status === 404 "
        f"? '{done}' : 'refused'; }});</script>",
        unsafe_allow_javascript=True,
    )


def keep_cookie(user: User) -> None:
    """Give the browser a fresh token now and then while the user works (call once per run)."""
    now = time.time()
    if now - st.session_state.get("token_renewed", 0.0) < RENEW_SECONDS:
        return
    token = sessions.issue(user, IDLE_SECONDS, renew=st.session_state.get("token"))
    _set_cookie(token, IDLE_SECONDS)
    st.session_state["token"] = token
    st.session_state["token_renewed"] = now


def login_form() -> None:
    """The only thing shown until a user logs in."""
    st.title("门诊慢特病鉴定监管看板")
    st.caption("请登录。账号由市级管理员分配；演示环境账号见 README。")
    if st.session_state.get("logged_out"):
        _set_cookie("", 0)
    if msg := st.session_state.pop("login_message", None):
        st.warning(msg)
    with st.form("login", clear_on_submit=False):
        username = st.text_input("用户名", key="login-user")
        password = st.text_input("密码", type="password", key="login-password")
        ok = st.form_submit_button("登录", type="primary")
    if ok:
        user = _check(username.strip(), password)
        if user is None:
            return
        st.session_state["user"] = asdict(user)
        st.session_state["last_seen"] = time.time()
        st.session_state.pop("logged_out", None)
        st.rerun()


def client_address() -> str | None:
    """The address of the browser's WebSocket connection (None from this machine itself:
    Streamlit reports no address for localhost), not a header the client could write."""
    return st.context.ip_address


def _locked_message(until: float) -> str:
    return (
        f"登录失败次数过多，已暂停登录至 {throttle.clock(until)}。"
        "请到时再试，或请市级管理员在「审计日志」页解锁。"
    )


def _check(username: str, password: str) -> User | None:
    """The user if the password is right and neither the name nor the client is locked;
    otherwise shows why (a lockout names the time it ends) and returns None."""
    keys = throttle.keys(username, client_address())
    if until := throttle.locked_until(keys):
        st.error(_locked_message(until))
        return None
    user = authenticate(username, password)
    if user is None:
        until = throttle.record_failure(keys)
        st.error(_locked_message(until) if until else "用户名或密码错误。")
        return None
    throttle.record_success(keys)
    return user


def role_caption(user: User) -> str:
    scope = user.district or "全市"
    return f"{user.username}（{user.role}，{scope}）"


__all__ = ["ROLES", "current_user", "keep_cookie", "login_form", "logout", "role_caption"]

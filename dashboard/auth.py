"""Login gate for the dashboard: bcrypt-checked users, roles, idle sessions expire."""

from __future__ import annotations

import time
from dataclasses import asdict

import streamlit as st

from pipelines.users import ROLES, User, authenticate

IDLE_SECONDS = 2 * 60 * 60


def current_user() -> User | None:
    """The logged-in user, or None (also when the session has been idle too long)."""
    rec = st.session_state.get("user")
    if rec is None:
        return None
    now = time.time()
    if now - st.session_state.get("last_seen", now) > IDLE_SECONDS:
        logout("会话已超时，请重新登录。")
        return None
    st.session_state["last_seen"] = now
    return User(**rec)


def logout(message: str | None = None) -> None:
    for k in ("user", "last_seen"):
        st.session_state.pop(k, None)
    if message:
        st.session_state["login_message"] = message


def login_form() -> None:
    """The only thing shown until a user logs in."""
    st.title("门诊慢特病鉴定监管看板")
    st.caption("请登录。账号由市级管理员分配；演示环境账号见 README。")
    if msg := st.session_state.pop("login_message", None):
        st.warning(msg)
    with st.form("login", clear_on_submit=False):
        username = st.text_input("用户名", key="login-user")
        password = st.text_input("密码", type="password", key="login-password")
        ok = st.form_submit_button("登录", type="primary")
    if ok:
        user = authenticate(username.strip(), password)
        if user is None:
            st.error("用户名或密码错误。")
            return
        st.session_state["user"] = asdict(user)
        st.session_state["last_seen"] = time.time()
        st.rerun()


def role_caption(user: User) -> str:
    scope = user.district or "全市"
    return f"{user.username}（{user.role}，{scope}）"


__all__ = ["ROLES", "current_user", "login_form", "logout", "role_caption"]

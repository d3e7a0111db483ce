"""Login throttling: after a few wrong passwords an account, and the client that tried, wait.

Failures are counted per account name (whether or not the account exists, so a lockout tells
nothing about which names are real) and per client address. From the ``free_failures``-th
failure in a row on, each failure locks the name (or address) for ``first_lock_seconds``,
doubling with every further failure up to ``max_lock_seconds``; while locked, even the right
password is refused. A successful login clears the name and the address; failures older than
``forget_seconds`` are forgotten. A 市级管理员 can unlock a name or an address at once.

The counts live in a file beside the users file (``.login_throttle.json``, mode 600), read and
rewritten under a file lock and replaced atomically, so every session and every server process
sees the same counts. Each lockout and unlock is appended to ``login_audit.jsonl`` there too,
which the 审计日志 page shows.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines import users as users_mod


@dataclass(frozen=True)
class Settings:
    free_failures: int = 5
    first_lock_seconds: int = 60
    max_lock_seconds: int = 3600
    forget_seconds: int = 24 * 3600


def settings() -> Settings:
    """The thresholds, each overridable by an environment variable (MTB_LOGIN_...)."""
    base = Settings()
    env = {
        "free_failures": "MTB_LOGIN_FREE_FAILURES",
        "first_lock_seconds": "MTB_LOGIN_LOCK_SECONDS",
        "max_lock_seconds": "MTB_LOGIN_LOCK_MAX_SECONDS",
        "forget_seconds": "MTB_LOGIN_FORGET_SECONDS",
    }
    values = {}
    for field, var in env.items():
        raw = os.environ.get(var)
        try:
            values[field] = int(raw) if raw else getattr(base, field)
        except ValueError:
            raise ValueError(f"环境变量 {var}={raw!r} 不是整数") from None
    return Settings(**values)


def _files(users_path: Path | None) -> tuple[Path, Path, Path]:
    base = (users_path or users_mod.USERS_FILE).parent
    return base / ".login_throttle.json", base / ".login_throttle.lock", base / "login_audit.jsonl"


def account_key(username: str) -> str:
    return f"user:{username}"


def client_key(address: str) -> str:
    return f"client:{address}"


def keys(username: str, address: str | None) -> list[str]:
    """The counters one login attempt touches: its account name and, when known, its client."""
    return [account_key(username), *([client_key(address)] if address else [])]


@contextmanager
def _state(users_path: Path | None, write: bool) -> Iterator[dict[str, dict]]:
    state_path, lock_path, _ = _files(users_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
        state = users_mod._read(state_path)
        yield state
        if write:
            users_mod._write(state_path, state)


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def locked_until(
    attempt_keys: list[str], users_path: Path | None = None, now: float | None = None
) -> float | None:
    """The time until which any of the keys is locked, or None when none is."""
    with _state(users_path, write=False) as state:
        until = max((state.get(k, {}).get("locked_until", 0.0) for k in attempt_keys), default=0)
    return until if until > _now(now) else None


def record_failure(
    attempt_keys: list[str],
    users_path: Path | None = None,
    now: float | None = None,
    conf: Settings | None = None,
) -> float | None:
    """Count a wrong password against each key; the lock it starts (an epoch time) or None."""
    conf, t = conf or settings(), _now(now)
    locked = None
    with _state(users_path, write=True) as state:
        _forget(state, t, conf)
        for key in attempt_keys:
            rec = state.setdefault(key, {"failures": 0, "locked_until": 0.0})
            rec["failures"] += 1
            rec["last"] = t
            over = rec["failures"] - conf.free_failures
            if over >= 0:
                seconds = min(conf.first_lock_seconds * 2 ** min(over, 30), conf.max_lock_seconds)
                rec["locked_until"] = t + seconds
                locked = max(locked or 0.0, rec["locked_until"])
    if locked is not None:
        log_event("锁定", attempt_keys, f"连续 {conf.free_failures} 次以上登录失败", users_path, t)
    return locked


def _forget(state: dict[str, dict], now: float, conf: Settings) -> None:
    for key in [k for k, r in state.items() if now - r.get("last", 0) > conf.forget_seconds]:
        if state[key].get("locked_until", 0) <= now:
            del state[key]


def record_success(attempt_keys: list[str], users_path: Path | None = None) -> None:
    """A right password: the account and the client start again from zero."""
    with _state(users_path, write=True) as state:
        for key in attempt_keys:
            state.pop(key, None)


def locks(users_path: Path | None = None, now: float | None = None) -> list[dict]:
    """The keys locked now: key, failures, locked_until (epoch seconds)."""
    t = _now(now)
    with _state(users_path, write=False) as state:
        return [
            {"key": k, "failures": r["failures"], "locked_until": r["locked_until"]}
            for k, r in sorted(state.items())
            if r.get("locked_until", 0) > t
        ]


def unlock(key: str, by: str, users_path: Path | None = None) -> bool:
    """Clear a key's failures and lock (a 市级管理员's decision); False if it had none."""
    with _state(users_path, write=True) as state:
        had = state.pop(key, None) is not None
    if had:
        log_event("解锁", [key], f"由 {by} 解锁", users_path)
    return had


def log_event(
    event: str, event_keys: list[str], detail: str, users_path: Path | None = None, now=None
) -> None:
    """Append one line to the login audit file (beside the users file, mode 600)."""
    _, lock_path, audit_path = _files(users_path)
    line = {"at": _now(now), "event": event, "keys": event_keys, "detail": detail}
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fd = os.open(audit_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def events(users_path: Path | None = None) -> list[dict]:
    """Every lockout and unlock so far, newest first."""
    audit_path = _files(users_path)[2]
    if not audit_path.exists():
        return []
    lines = audit_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in reversed(lines) if x.strip()]


def clock(epoch: float) -> str:
    """2026-05-01 14:32:10 (server local time), as a lockout message names it."""
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def describe(key: str) -> str:
    """user:zhang → 账号 zhang; client:10.0.0.5 → 客户端 10.0.0.5."""
    kind, _, value = key.partition(":")
    return f"{'账号' if kind == 'user' else '客户端'} {value}"

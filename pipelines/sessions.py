"""Signed login tokens, so that reloading the dashboard (F5) does not log the user out.

A token names the user, a random id and an expiry, and is signed with HMAC-SHA256 under a
secret kept beside the users file (created on first use, mode 600). It holds no role: the user's
current record is read from the users file each time, so a changed role applies at once, and a
changed password or a removed user makes every older token worthless. Logging out revokes the
token's id. Tokens expire after the idle time; the dashboard renews them while the user works.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from pathlib import Path

from pipelines import users as users_mod
from pipelines.users import User

PREFIX = "v1"


def _files(users_path: Path | None) -> tuple[Path, Path, Path]:
    path = users_path or users_mod.USERS_FILE
    return path, path.parent / ".session_secret", path.parent / ".sessions_revoked"


def _secret(secret_path: Path) -> bytes:
    """The signing secret; made once, atomically, so that logins racing the first one all
    read the same complete key (written to a temp file, then linked into place)."""
    if not secret_path.exists():
        secret_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=secret_path.parent, prefix=".session_secret.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):  # another login made it first: use it
                os.link(tmp, secret_path)
        finally:
            os.unlink(tmp)
    return secret_path.read_text().strip().encode("ascii")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode("ascii")).hexdigest()[:16]


def issue(
    user: User,
    ttl: float,
    users_path: Path | None = None,
    now: float | None = None,
    renew: str | None = None,
) -> str:
    """A token for ``user`` valid for ``ttl`` seconds.

    ``renew`` is an earlier token of the same login: the new one keeps its id, so logging out
    (which revokes the id) ends every token the login was ever given.
    """
    _, secret_path, _ = _files(users_path)
    payload = {
        "u": user.username,
        "id": _token_id(renew, secret_path) or secrets.token_hex(8),
        "exp": int((time.time() if now is None else now) + ttl),
        "pw": _fingerprint(user.password_hash),
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    sig = hmac.new(_secret(secret_path), f"{PREFIX}.{body}".encode("ascii"), hashlib.sha256)
    return f"{PREFIX}.{body}.{_b64(sig.digest())}"


def _token_id(token: str | None, secret_path: Path) -> str | None:
    payload = _payload(token, secret_path) if token else None
    return payload.get("id") if payload else None


def _payload(token: str, secret_path: Path) -> dict | None:
    try:
        prefix, body, sig = token.split(".")
        if prefix != PREFIX or not secret_path.exists():
            return None
        want = hmac.new(_secret(secret_path), f"{prefix}.{body}".encode("ascii"), hashlib.sha256)
        if not hmac.compare_digest(want.digest(), _unb64(sig)):
            return None
        return json.loads(_unb64(body))
    except (ValueError, UnicodeError):
        return None


def verify(token: str, users_path: Path | None = None, now: float | None = None) -> User | None:
    """The user a token stands for, or None if it is forged, expired, revoked or outdated."""
    path, secret_path, revoked_path = _files(users_path)
    payload = _payload(token, secret_path)
    if payload is None:
        return None
    if payload.get("exp", 0) <= (time.time() if now is None else now):
        return None
    if revoked_path.exists() and payload.get("id") in revoked_path.read_text().split():
        return None
    rec = users_mod._read(path).get(payload.get("u"))
    if rec is None or _fingerprint(rec["password_hash"]) != payload.get("pw"):
        return None
    return User(**rec)


def revoke(token: str, users_path: Path | None = None) -> None:
    """Make a token and every renewal of it worthless from now on (logout)."""
    _, secret_path, revoked_path = _files(users_path)
    payload = _payload(token, secret_path)
    if payload is None:
        return
    fd = os.open(revoked_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # owner only
    with os.fdopen(fd, "a") as fh:
        fh.write(f"{payload['id']}\n")

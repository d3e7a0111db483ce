"""Signed login tokens (pipelines/sessions.py): what makes a token worthless."""

from __future__ import annotations

import pytest

from pipelines import sessions
from pipelines.users import add_user


@pytest.fixture
def users(tmp_path):
    path = tmp_path / "users.json"
    add_user("wang", "password-1", "市级监管", None, path)
    add_user("li", "password-2", "区县监管", "金水区", path)
    return path


def test_a_fresh_token_stands_for_its_user(users):
    user = sessions.verify(sessions.issue(_user(users, "li"), 60, users), users)
    assert (user.username, user.role, user.district) == ("li", "区县监管", "金水区")
    assert (users.parent / ".session_secret").stat().st_mode & 0o777 == 0o600


def _user(path, name):
    from pipelines.users import User, _read

    return User(**_read(path)[name])


def test_expiry_is_exact(users):
    t0 = 1_800_000_000.0
    token = sessions.issue(_user(users, "wang"), 7200, users, now=t0)
    assert sessions.verify(token, users, now=t0 + 7199) is not None
    assert sessions.verify(token, users, now=t0 + 7200) is None


def test_a_changed_body_or_signature_is_refused(users):
    token = sessions.issue(_user(users, "li"), 60, users)
    prefix, body, sig = token.split(".")
    forged_body = sessions._b64(sessions._unb64(body).replace(b'"li"', b'"wang"'))
    assert sessions.verify(f"{prefix}.{forged_body}.{sig}", users) is None
    assert sessions.verify(f"{prefix}.{body}.{sig[:-2]}AA", users) is None
    assert sessions.verify("garbage", users) is None
    assert sessions.verify("v1.x.y", users) is None


def test_another_installation_s_secret_does_not_sign_for_this_one(users, tmp_path):
    other = tmp_path / "other" / "users.json"
    add_user("li", "password-2", "区县监管", "金水区", other)
    token = sessions.issue(_user(other, "li"), 60, other)
    assert sessions.verify(token, other) is not None
    assert sessions.verify(token, users) is None


def test_logout_revokes_only_that_token(users):
    a = sessions.issue(_user(users, "wang"), 60, users)
    b = sessions.issue(_user(users, "wang"), 60, users)
    sessions.revoke(a, users)
    assert sessions.verify(a, users) is None
    assert sessions.verify(b, users) is not None


def test_a_new_password_or_a_removed_user_ends_old_tokens(users):
    token = sessions.issue(_user(users, "wang"), 60, users)
    add_user("wang", "password-9", "市级监管", None, users)
    assert sessions.verify(token, users) is None
    token = sessions.issue(_user(users, "li"), 60, users)
    users.write_text(users.read_text().replace('"li"', '"li-gone"'))
    assert sessions.verify(token, users) is None


def test_the_role_comes_from_the_users_file_not_the_token(users):
    token = sessions.issue(_user(users, "li"), 60, users)
    rec = users.read_text().replace('"区县监管"', '"只读审计"')
    users.write_text(rec)
    assert sessions.verify(token, users).role == "只读审计"


def test_a_renewal_keeps_the_login_s_id_so_logout_ends_them_all(users):
    first = sessions.issue(_user(users, "wang"), 60, users)
    renewed = sessions.issue(_user(users, "wang"), 600, users, renew=first)
    other_login = sessions.issue(_user(users, "wang"), 60, users)
    sessions.revoke(renewed, users)
    assert sessions.verify(first, users) is None
    assert sessions.verify(renewed, users) is None
    assert sessions.verify(other_login, users) is not None

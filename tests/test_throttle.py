"""Login throttling (issue 15, item 2): wrong passwords lock the account name and the client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import throttle, users
from pipelines.throttle import Settings, account_key, client_key

ROOT = Path(__file__).resolve().parent.parent
CONF = Settings(free_failures=5, first_lock_seconds=60, max_lock_seconds=300, forget_seconds=3600)
T0 = 1_800_000_000.0


@pytest.fixture
def path(tmp_path):
    f = tmp_path / "users.json"
    users.add_user("zhang", "correct-horse", "区县监管", "金水区", f)
    return f


def fail(path, n, keys=None, start=T0):
    return [
        throttle.record_failure(keys or [account_key("zhang")], path, start + i, CONF)
        for i in range(n)
    ]


def test_four_failures_are_free_the_fifth_locks_for_a_minute(path):
    assert fail(path, 4) == [None] * 4
    assert throttle.locked_until([account_key("zhang")], path, T0 + 4) is None
    assert throttle.record_failure([account_key("zhang")], path, T0 + 4, CONF) == T0 + 64
    assert throttle.locked_until([account_key("zhang")], path, T0 + 63) == T0 + 64
    assert throttle.locked_until([account_key("zhang")], path, T0 + 64) is None


def test_each_further_failure_doubles_the_lock_up_to_the_maximum(path):
    locks = fail(path, 9)
    # failures 5..9 lock for 60, 120, 240, 300 (the cap), 300 seconds from their own time
    assert locks[4:] == [T0 + 4 + 60, T0 + 5 + 120, T0 + 6 + 240, T0 + 7 + 300, T0 + 8 + 300]


def test_a_success_clears_the_count(path):
    fail(path, 4)
    throttle.record_success([account_key("zhang")], path)
    assert fail(path, 4, start=T0 + 10) == [None] * 4


def test_old_failures_are_forgotten(path):
    fail(path, 4)
    assert throttle.record_failure([account_key("zhang")], path, T0 + 3 + 3601, CONF) is None


def test_the_client_is_locked_across_account_names(path):
    for i, name in enumerate(["a", "b", "c", "d", "e"]):
        until = throttle.record_failure(
            [account_key(name), client_key("10.0.0.9")], path, T0 + i, CONF
        )
    assert until == T0 + 4 + 60
    assert throttle.locked_until(throttle.keys("zhang", "10.0.0.9"), path, T0 + 5) == T0 + 64
    assert throttle.locked_until(throttle.keys("zhang", "10.0.0.8"), path, T0 + 5) is None


def test_unlock_clears_the_lock_and_both_are_in_the_audit_file(path):
    fail(path, 5)
    assert [x["key"] for x in throttle.locks(path, T0 + 5)] == ["user:zhang"]
    assert throttle.unlock(account_key("zhang"), "admin", path)
    assert throttle.locked_until([account_key("zhang")], path, T0 + 5) is None
    assert not throttle.unlock(account_key("zhang"), "admin", path)
    events = throttle.events(path)
    assert [e["event"] for e in events] == ["解锁", "锁定"]
    assert events[0]["detail"] == "由 admin 解锁" and events[1]["keys"] == ["user:zhang"]
    assert (path.parent / ".login_throttle.json").stat().st_mode & 0o777 == 0o600
    assert (path.parent / "login_audit.jsonl").stat().st_mode & 0o777 == 0o600


def test_the_counts_are_shared_between_processes(path):
    code = (
        "import sys; from pathlib import Path; from pipelines import throttle as t;"
        "[t.record_failure(['user:zhang'], Path(sys.argv[1])) for _ in range(5)]"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=True)
    assert throttle.locked_until([account_key("zhang")], path) is not None


def test_a_wrong_setting_is_named(monkeypatch):
    monkeypatch.setenv("MTB_LOGIN_FREE_FAILURES", "five")
    with pytest.raises(ValueError, match="MTB_LOGIN_FREE_FAILURES"):
        throttle.settings()


def _login(at, name, password):
    at.text_input(key="login-user").input(name)
    at.text_input(key="login-password").input(password)
    at.button[0].click().run()
    return " ".join(e.value for e in at.error)


def test_the_login_form_refuses_the_right_password_while_locked(path, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from apptest_util import APP

    monkeypatch.setattr(users, "USERS_FILE", path)
    os.environ["MTB_DB"] = str(tmp_path / "none.duckdb")
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    for _ in range(4):
        assert _login(at, "zhang", "wrong-password") == "用户名或密码错误。"
    message = _login(at, "zhang", "wrong-password")
    assert message.startswith("登录失败次数过多，已暂停登录至 20")
    assert "市级管理员" in message
    assert _login(at, "zhang", "correct-horse").startswith("登录失败次数过多")
    assert "user" not in at.session_state
    throttle.unlock(account_key("zhang"), "admin", path)
    _login(at, "zhang", "correct-horse")
    assert not at.exception
    assert at.session_state["user"]["username"] == "zhang"


def test_a_city_admin_unlocks_on_the_audit_page(path, tmp_path, monkeypatch):
    from pipelines.db import connect

    from apptest_util import open_page

    monkeypatch.setattr(users, "USERS_FILE", path)
    connect(tmp_path / "w.duckdb").close()
    fail(path, 5, start=throttle.time.time())
    city = open_page(tmp_path / "w.duckdb", "audit_log", role="市级监管")
    assert not city.exception
    assert any(t.value.startswith("账号 zhang：连续失败 5 次") for t in city.text)
    assert not [b for b in city.button if b.label == "解锁"]
    admin = open_page(tmp_path / "w.duckdb", "audit_log", role="市级管理员")
    [unlock] = [b for b in admin.button if b.label == "解锁"]
    unlock.click().run()
    assert not admin.exception
    assert throttle.locked_until([account_key("zhang")], path) is None
    events = admin.dataframe[-1].value
    assert events["事件"].tolist() == ["解锁", "锁定"]
    assert events["对象"].tolist() == ["账号 zhang", "账号 zhang"]
    assert events["说明"].tolist()[0] == "由 admin 解锁"


def test_the_command_line_unlocks(path, monkeypatch, capsys):
    monkeypatch.setattr(users, "USERS_FILE", path)
    fail(path, 5, start=throttle.time.time())
    assert users.main(["unlock", "--username", "zhang"]) == 0
    assert capsys.readouterr().out == "已解锁账号 zhang\n"
    assert throttle.locked_until([account_key("zhang")], path) is None

"""Users, roles and what each role may see (login for the dashboard).

Users live in a local JSON file (default `data/users.json`, or $MTB_USERS) with bcrypt password
hashes — never plain text. Add a user:

    python -m pipelines.users add --username zhang --role 区县监管 --district 金水区

(the password is asked for, or read from stdin with --password-stdin).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import bcrypt

from pipelines.config import ROOT

USERS_FILE = Path(os.environ.get("MTB_USERS", ROOT / "data" / "users.json"))


@dataclass(frozen=True)
class Role:
    """What a role may do; `district_only` roles see one district's hospitals, cases, experts."""

    name: str
    all_districts: bool
    full_personal_data: bool
    run_draws: bool
    download_personal_data: bool
    manage_users: bool


ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role("市级管理员", True, True, True, True, True),
        Role("市级监管", True, True, True, True, False),
        Role("区县监管", False, False, False, True, False),
        Role("只读审计", True, False, False, False, False),
    )
}

DEMO_USERS = [
    ("demo", "demo2026", "市级监管", None),
    ("admin", "admin2026", "市级管理员", None),
    ("jinshui", "jinshui2026", "区县监管", "金水区"),
    ("audit", "audit2026", "只读审计", None),
]


@dataclass(frozen=True)
class User:
    username: str
    role: str
    district: str | None
    password_hash: str

    @property
    def perms(self) -> Role:
        return ROLES[self.role]

    @property
    def scope_district(self) -> str | None:
        """The district this user is limited to, or None for all districts."""
        return None if self.perms.all_districts else self.district


def _read(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, data: dict[str, dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def add_user(
    username: str, password: str, role: str, district: str | None = None, path: Path | None = None
) -> User:
    """Add or replace a user; the password is stored as a bcrypt hash."""
    if role not in ROLES:
        raise ValueError(f"未知角色 {role!r}，可选：{'、'.join(ROLES)}")
    if not ROLES[role].all_districts and not district:
        raise ValueError("区县监管用户必须指定所属区县（--district）")
    if len(password) < 8:
        raise ValueError("密码至少 8 位")
    path = path or USERS_FILE
    data = _read(path)
    h = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")
    user = User(username, role, district if not ROLES[role].all_districts else None, h)
    data[username] = asdict(user)
    _write(path, data)
    return user


def authenticate(username: str, password: str, path: Path | None = None) -> User | None:
    """The user if the password matches its bcrypt hash, else None."""
    rec = _read(path or USERS_FILE).get(username)
    if rec is None:
        bcrypt.checkpw(b"timing", bcrypt.hashpw(b"x", bcrypt.gensalt(4)))
        return None
    if not bcrypt.checkpw(password.encode("utf-8"), rec["password_hash"].encode("ascii")):
        return None
    return User(**rec)


def ensure_demo(path: Path | None = None) -> bool:
    """Create the documented demo accounts when there is no users file yet."""
    path = path or USERS_FILE
    if path.exists():
        return False
    for username, password, role, district in DEMO_USERS:
        add_user(username, password, role, district, path)
    return True


def _unlock(username: str | None, client: str | None) -> None:
    from pipelines import throttle

    key = throttle.account_key(username) if username else throttle.client_key(client)
    done = throttle.unlock(key, f"命令行（{getpass.getuser()}）")
    print(f"已解锁{throttle.describe(key)}" if done else f"{throttle.describe(key)} 没有被暂停登录")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipelines.users", description="管理看板登录用户")
    sub = p.add_subparsers(dest="verb", required=True)
    a = sub.add_parser("add", help="添加或修改用户")
    a.add_argument("--username", required=True)
    a.add_argument("--role", required=True, choices=list(ROLES))
    a.add_argument("--district", default=None)
    a.add_argument("--password-stdin", action="store_true")
    sub.add_parser("ensure-demo", help="没有用户文件时创建演示账号")
    sub.add_parser("list", help="列出用户")
    u = sub.add_parser("unlock", help="解除因密码错误过多而暂停的登录")
    who = u.add_mutually_exclusive_group(required=True)
    who.add_argument("--username")
    who.add_argument("--client", help="客户端地址")
    args = p.parse_args(argv)
    try:
        if args.verb == "add":
            pw = (
                sys.stdin.readline().rstrip("\n")
                if args.password_stdin
                else getpass.getpass("密码：")
            )
            u = add_user(args.username, pw, args.role, args.district)
            print(f"已保存用户 {u.username}（{u.role}{'，' + u.district if u.district else ''}）")
        elif args.verb == "ensure-demo":
            made = ensure_demo()
            print(
                "已创建演示账号 demo / demo2026（市级监管）等"
                if made
                else f"用户文件已存在：{USERS_FILE}"
            )
        elif args.verb == "unlock":
            _unlock(args.username, args.client)
        else:
            for name, rec in _read(USERS_FILE).items():
                print(f"{name}\t{rec['role']}\t{rec.get('district') or ''}")
    except ValueError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

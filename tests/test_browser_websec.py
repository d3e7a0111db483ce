"""Outside probes against the real server (issue 15): upload names, the login gate, a deleted
database file.

- An upload named `../cases_evil.csv` lands inside the upload's private folder as
  `cases_evil.csv` (the server's TMPDIR is a test folder, so the parent is watched).
- The upload PUT and the /media/ download of a logged-in browser, replayed without the login
  cookie (but with Streamlit's XSRF cookie and header), are refused; /_stcore/metrics is not
  served.
- The warehouse file deleted while the dashboard runs: the next page run says so and offers no
  import.
"""

from __future__ import annotations

import urllib.error
import urllib.request

import duckdb

from pipelines import cli
from sample_generator import generate

from browser import click_download, login, session_cookie, streamlit_server, wait_for_app

AS_OF = "2026-11-20 23:59:59"


def _warehouse(tmp_path):
    generate(cases=120, seed=5, out=tmp_path / "in")
    db = tmp_path / "w.duckdb"
    assert cli.main(["ingest", "--db", str(db), "--as-of", AS_OF, str(tmp_path / "in")]) == 0
    return db


def _bad_case_csv(db) -> bytes:
    """One new case whose 身份证号 has a wrong check digit: loaded with a data warning."""
    c = duckdb.connect(str(db), read_only=True)
    df = c.execute("select * exclude (load_id) from stg_cases order by case_id limit 1").df()
    c.close()
    df["case_id"] = "EVIL-1"
    pid = df.loc[0, "person_id"]
    df["person_id"] = pid[:17] + ("0" if pid[17] != "0" else "1")
    return df.to_csv(index=False).encode("utf-8")


def _status(url: str, method: str = "GET", headers: dict | None = None, body=None) -> int:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _cookies(page, *names: str) -> str:
    jar = {c["name"]: c["value"] for c in page.context.cookies()}
    return "; ".join(f"{n}={jar[n]}" for n in names)


def test_upload_names_and_the_login_gate(tmp_path, users_file, browser):
    db = _warehouse(tmp_path)
    evil = _bad_case_csv(db)
    server_tmp = tmp_path / "server-tmp"
    server_tmp.mkdir()
    env = {"MTB_USERS": str(users_file), "TMPDIR": str(server_tmp)}
    with streamlit_server(db, env=env) as url:
        assert _status(f"{url}/_stcore/metrics") == 404
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        puts = []
        page.on(
            "request",
            lambda r: puts.append(r) if r.method == "PUT" and "upload_file" in r.url else None,
        )
        login(page, url)
        # the login cookie is the server's, HttpOnly: no script of the page can read it
        jar = {c["name"]: c for c in page.context.cookies()}
        assert jar["mtb_session"]["httpOnly"] and jar["mtb_session"]["sameSite"] == "Strict"
        assert "mtb_session" not in page.evaluate("document.cookie")
        page.get_by_role("link", name="数据", exact=True).click()
        wait_for_app(page)
        payload = {"name": "../cases_evil.csv", "mimeType": "text/csv", "buffer": evil}
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([payload])
        page.get_by_text("cases_evil.csv").first.wait_for()
        wait_for_app(page)
        page.get_by_role("button", name="导入").click()
        page.get_by_text("统计表已按").wait_for(timeout=180_000)
        # the report of the file, shown by the run after the import's (st.rerun)
        page.get_by_text("cases_evil.csv：读取 1，接受 1（新增 1），隔离 0，数据警告 1").wait_for()
        wait_for_app(page)
        # nothing beside the private folder (which the old code wrote, and then found nothing)
        assert not (server_tmp / "cases_evil.csv").exists()

        # the upload PUT again, with Streamlit's XSRF cookie and header but no login cookie
        put = puts[-1]
        boundary = "websecboundary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="cases_again.csv"\r\nContent-Type: text/csv\r\n\r\n'
            ).encode()
            + evil
            + f"\r\n--{boundary}--\r\n".encode()
        )
        xsrf = {
            "X-Xsrftoken": put.headers["x-xsrftoken"],
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        anonymous = {**xsrf, "Cookie": _cookies(page, "_streamlit_xsrf")}
        assert _status(put.url, "PUT", anonymous, body) == 403
        logged_in = {**xsrf, "Cookie": _cookies(page, "_streamlit_xsrf", "mtb_session")}
        assert _status(put.url, "PUT", logged_in, body) in (200, 204)

        # a download URL of the logged-in user fetched by someone without the cookie
        media = click_download(page, page.locator(".st-key-w-dl-csv button")).url
        assert "/media/" in media
        assert _status(media) == 403
        assert _status(media, headers={"Cookie": _cookies(page, "mtb_session")}) == 200

        # logging out clears the cookie (the server's answer to the page's empty hand-over)
        page.get_by_role("button", name="退出登录").click()
        page.get_by_label("用户名").wait_for()
        session_cookie(page, "cleared")
        assert "mtb_session" not in {c["name"] for c in page.context.cookies()}


def test_deleted_database_file_stops_the_pages(tmp_path, users_file, browser):
    db = _warehouse(tmp_path)
    with streamlit_server(db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        login(page, url)
        page.get_by_role("link", name="数据", exact=True).click()
        wait_for_app(page)
        page.get_by_text("上传平台导出文件").wait_for()
        for f in (db, db.with_name(db.name + ".wal")):  # what `make clean-demo` does
            f.unlink(missing_ok=True)
        page.get_by_role("link", name="总览", exact=True).click()
        page.get_by_text("在打开后已被删除").wait_for(timeout=60_000)
        wait_for_app(page)
        body = page.inner_text("body")
        assert f"数据库文件 {db}" in body and "拒绝写入" in body
        assert "上传平台导出文件" not in body
        assert not db.exists()  # nothing wrote a new, empty warehouse either

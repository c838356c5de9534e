"""The administrator's page: reset password, role, deactivation, backup and restore — good and bad paths."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import zipfile

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from sandbox import backup as backups
from sandbox.users.models import User
from tests.conftest import strip_tags


def _uid(session, username: str) -> int:
    session.rollback()  # a fresh snapshot
    return session.scalar(select(User.id).where(User.username == username))


def _user(session, username: str) -> User:
    session.rollback()
    return session.scalar(select(User).where(User.username == username))


def _me(client) -> int:
    return client.get("/api/v1/me").status_code


def _text(resp) -> str:
    return strip_tags(resp.get_data(as_text=True))


# --- users -------------------------------------------------------------------------------

def test_the_user_list_offers_each_action(login_as, session):
    page = login_as("admin").get("/admin/users")
    html = page.get_data(as_text=True)
    uid = _uid(session, "candidate1")
    for action in ("password", "role", "deactivate"):
        assert f"/admin/users/{uid}/{action}" in html
    admin_id = _uid(session, "admin")
    assert f"/admin/users/{admin_id}/deactivate" not in html  # not offered on one's own row
    assert "/admin/backup" in html


def test_reset_password_asks_first_then_shows_a_one_time_password(app, login_as, api_token, session):
    victim = login_as("candidate1")
    token = api_token("candidate1")
    admin = login_as("admin")
    uid = _uid(session, "candidate1")
    confirm = admin.get(f"/admin/users/{uid}/password")
    assert confirm.status_code == 200 and "确认重置" in _text(confirm)
    old_hash = _user(session, "candidate1").password_hash
    assert _user(session, "candidate1").password_hash == old_hash  # nothing happened on GET
    done = admin.post(f"/admin/users/{uid}/password")
    assert done.status_code == 200
    password = re.search(r'data-testid="one-time-password">([^<]+)<', done.get_data(as_text=True)).group(1)
    assert "只显示这一次" in _text(done)
    # the old session, the token and the old password are gone; the new one works
    assert _me(victim) == 401
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    old = app.config["TEST_PASSWORDS"]["candidate1"]
    assert app.test_client().post("/login", data={"username": "candidate1", "password": old}).status_code == 401
    assert app.test_client().post("/login", data={"username": "candidate1", "password": password}).status_code == 302
    # it is never shown again, nor kept in the cookie
    assert password not in admin.get("/admin/users").get_data(as_text=True)
    assert password not in (admin.get_cookie("bankdrill_session").value or "")


def test_change_role_takes_effect_at_once(login_as, session):
    someone = login_as("candidate2")
    assert someone.get("/bank/customers").status_code == 403
    admin = login_as("admin")
    uid = _uid(session, "candidate2")
    page = admin.get(f"/admin/users/{uid}/role")
    assert page.status_code == 200 and '<option selected value="candidate">' in page.get_data(as_text=True)
    resp = admin.post(f"/admin/users/{uid}/role", data={"role": "examiner"})
    assert resp.status_code == 302
    assert "考官" in _text(admin.get("/admin/users"))
    assert someone.get("/bank/customers").status_code == 200
    bad = admin.post(f"/admin/users/{uid}/role", data={"role": "superuser"})
    assert bad.status_code == 400 and _user(session, "candidate2").role == "examiner"


def test_the_last_admin_cannot_demote_themselves_but_one_of_two_can(login_as, runner, session):
    admin = login_as("admin")
    me = _uid(session, "admin")
    resp = admin.post(f"/admin/users/{me}/role", data={"role": "trainer"})
    assert resp.status_code == 409 and "至少需要保留一名启用中的管理员" in _text(resp)
    assert _user(session, "admin").role == "admin"
    assert runner.invoke(args=["users", "create", "admin2", "--role", "admin", "--password", "second123"]).exit_code == 0
    assert admin.post(f"/admin/users/{me}/role", data={"role": "trainer"}).status_code == 302
    assert _user(session, "admin").role == "trainer"
    assert admin.get("/admin/users").status_code == 403  # a trainer now


def test_deactivate_ends_sessions_and_refuses_login_then_activate(app, login_as, session):
    victim = login_as("examiner")
    admin = login_as("admin")
    uid = _uid(session, "examiner")
    confirm = admin.get(f"/admin/users/{uid}/deactivate")
    assert confirm.status_code == 200 and "确认停用" in _text(confirm) and _me(victim) == 200
    resp = admin.post(f"/admin/users/{uid}/deactivate", follow_redirects=True)
    assert "已停用 examiner：结束 1 个登录会话" in _text(resp)
    assert "已停用" in _text(admin.get("/admin/users"))
    assert _me(victim) == 401
    password = app.config["TEST_PASSWORDS"]["examiner"]
    refused = app.test_client().post("/login", data={"username": "examiner", "password": password})
    assert refused.status_code == 403 and "该账号已停用" in _text(refused)
    assert admin.get(f"/admin/users/{uid}/activate").status_code == 200
    assert admin.post(f"/admin/users/{uid}/activate").status_code == 302
    assert app.test_client().post("/login", data={"username": "examiner", "password": password}).status_code == 302


def test_an_admin_cannot_deactivate_themselves(login_as, runner, session):
    runner.invoke(args=["users", "create", "admin2", "--role", "admin", "--password", "second123"])
    admin = login_as("admin")
    me = _uid(session, "admin")
    resp = admin.post(f"/admin/users/{me}/deactivate")
    assert resp.status_code == 409 and "不能停用自己的账号" in _text(resp)
    assert _user(session, "admin").active is True and _me(admin) == 200


def test_the_last_active_admin_cannot_be_deactivated_by_another(app, login_as, runner, session):
    runner.invoke(args=["users", "create", "admin2", "--role", "admin", "--password", "second123"])
    second = app.test_client()
    assert second.post("/login", data={"username": "admin2", "password": "second123"}).status_code == 302
    assert second.post(f"/admin/users/{_uid(session, 'admin')}/deactivate").status_code == 302
    first = app.test_client()  # admin is deactivated now; admin2 is the last one
    resp = second.post(f"/admin/users/{_uid(session, 'admin2')}/deactivate")
    assert resp.status_code == 409 and _user(session, "admin2").active is True
    assert _me(first) == 401


def test_unknown_users_are_404(login_as):
    admin = login_as("admin")
    for action in ("password", "role", "deactivate", "activate"):
        assert admin.get(f"/admin/users/999999/{action}").status_code == 404


@pytest.mark.parametrize("action", ["password", "role", "deactivate", "activate"])
def test_other_roles_are_refused_even_the_confirmation_page(login_as, session, action):
    uid = _uid(session, "candidate1")
    for role in ("candidate", "examiner", "trainer"):
        assert login_as(role).get(f"/admin/users/{uid}/{action}").status_code == 403


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_every_action_needs_the_pages_token(self, app, session):
        client = app.test_client()
        html = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        password = app.config["TEST_PASSWORDS"]["admin"]
        assert client.post("/login", data={"username": "admin", "password": password,
                                           "csrf_token": token}).status_code == 302
        uid = _uid(session, "candidate1")
        for url in (f"/admin/users/{uid}/password", f"/admin/users/{uid}/deactivate", "/admin/backup/download"):
            resp = client.post(url, data={"understood": "y"})
            assert resp.status_code == 400 and "CSRF" in _text(resp)
        assert _user(session, "candidate1").active is True
        page = client.get(f"/admin/users/{uid}/deactivate").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post(f"/admin/users/{uid}/deactivate", data={"csrf_token": token}).status_code == 302
        assert _user(session, "candidate1").active is False


# --- backup and restore ---------------------------------------------------------------------

def _download(admin) -> bytes:
    resp = admin.post("/admin/backup/download", data={"understood": "y"})
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert "attachment" in resp.headers["Content-Disposition"] and ".zip" in resp.headers["Content-Disposition"]
    data = resp.data
    resp.close()  # streamed from an open file, as a WSGI server would close it
    return data


def _upload(admin, data: bytes, name: str = "backup.zip"):
    # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart(MultiDict({"file": FileStorage(io.BytesIO(data), filename=name)}))
    return admin.post("/admin/restore", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _token(resp) -> str:
    return re.search(r'/admin/restore/([0-9a-f]{32})', resp.get_data(as_text=True)).group(1)


def _count_users(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(User))


def test_backup_needs_the_confirmation_and_is_the_cli_zip(login_as, tmp_path, runtime):
    admin = login_as("admin")
    page = admin.get("/admin/backup")
    assert page.status_code == 200 and "下载备份" in _text(page) and "从备份恢复" in _text(page)
    refused = admin.post("/admin/backup/download", data={})
    assert refused.status_code == 400 and refused.mimetype == "text/html" and "请先勾选确认" in _text(refused)
    path = tmp_path / "web.zip"
    path.write_bytes(_download(admin))
    info = backups.inspect(path)
    assert info.tables["users"] == 5 and info.rows > 1000
    assert not list((runtime.settings.home / "admin-backups").iterdir())  # nothing left on the server


def test_restore_asks_first_then_replaces_everything(login_as, runner, session, runtime):
    admin = login_as("admin")
    data = _download(admin)
    before = _count_users(session)
    runner.invoke(args=["users", "create", "zhaoliu", "--role", "candidate", "--password", "zhaoliu123"])
    assert _count_users(session) == before + 1
    preview = _upload(admin, data, "周五备份.zip")
    assert preview.status_code == 200
    text = _text(preview)
    assert "周五备份.zip" in text and "替换本实例的全部数据" in text and "确认恢复" in text
    assert _count_users(session) == before + 1  # nothing yet
    staged = runtime.settings.home / "restore-staging"
    assert stat.S_IMODE(os.stat(staged).st_mode) == 0o700
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in staged.glob("*.zip"))
    done = admin.post(f"/admin/restore/{_token(preview)}", data={"confirm": "1"})
    assert done.status_code == 200 and "恢复完成" in _text(done) and "检索索引已重建" in _text(done)
    assert _count_users(session) == before
    assert not list(staged.iterdir())
    # the search works on the restored knowledge base
    assert admin.get("/api/v1/kb/search?q=挂失").get_json()["results"]


def test_a_restore_token_that_looks_like_a_mobile_number_still_links(login_as, session, monkeypatch):
    """The staged upload's token is random hex: a digit run in it (here one that reads as a
    mobile number) must not be masked by the page's redaction, or 确认恢复 would find nothing."""
    token = "00873239fd915fc84cd3e16912132365"  # "16912132365": eleven digits, 1[3-9]…
    monkeypatch.setattr("sandbox.web.admin.secrets.token_hex", lambda n=None: token)
    admin = login_as("admin")
    data = _download(admin)
    preview = _upload(admin, data)
    assert preview.status_code == 200 and _token(preview) == token
    done = admin.post(f"/admin/restore/{token}", data={"confirm": "1"})
    assert done.status_code == 200 and "恢复完成" in _text(done)


def test_cancel_discards_the_upload_and_changes_nothing(login_as, runner, session, runtime):
    admin = login_as("admin")
    data = _download(admin)
    runner.invoke(args=["users", "create", "zhaoliu", "--role", "candidate", "--password", "zhaoliu123"])
    preview = _upload(admin, data)
    token = _token(preview)
    resp = admin.post(f"/admin/restore/{token}", data={"cancel": "1"}, follow_redirects=True)
    assert "已取消恢复，未做任何改动" in _text(resp)
    assert session.scalar(select(User.id).where(User.username == "zhaoliu")) is not None
    assert admin.post(f"/admin/restore/{token}", data={"confirm": "1"}).status_code == 404


def test_a_file_that_is_not_a_backup_is_refused_at_upload(login_as, session):
    admin = login_as("admin")
    before = _count_users(session)
    for data in (b"not a zip at all", _zip({"hello.txt": "x"})):
        resp = _upload(admin, data)
        assert resp.status_code == 400 and "未做任何改动" in _text(resp)
    assert "请选择要恢复的备份文件" in _text(admin.post("/admin/restore", data={}))
    assert _count_users(session) == before


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return buf.getvalue()


def _rewrite(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    """The backup ``data`` with ``change(name, text) -> text`` applied to every member."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item.filename, change(item.filename, src.read(item.filename).decode("utf-8")))
    return out.getvalue()


def test_a_broken_table_fails_the_restore_and_changes_nothing(login_as, runner, session):
    admin = login_as("admin")
    data = _download(admin)
    broken = _rewrite(data, lambda name, text: text[: len(text) // 2] if name == "tables/kb_articles.json" else text)
    runner.invoke(args=["users", "create", "zhaoliu", "--role", "candidate", "--password", "zhaoliu123"])
    before = _count_users(session)
    preview = _upload(admin, broken)
    assert preview.status_code == 200  # the users table is fine, so the upload check passes
    resp = admin.post(f"/admin/restore/{_token(preview)}", data={"confirm": "1"})
    assert resp.status_code == 400 and "已损坏" in _text(resp) and "未做任何改动" in _text(resp)
    assert _count_users(session) == before
    assert session.scalar(select(User.id).where(User.username == "zhaoliu")) is not None
    assert _me(admin) == 200


def test_a_backup_without_an_active_admin_is_refused(login_as, session):
    admin = login_as("admin")
    data = _download(admin)

    def demote(name: str, text: str) -> str:
        if name != "tables/users.json":
            return text
        body = json.loads(text)
        role, active = body["columns"].index("role"), body["columns"].index("active")
        for row in body["rows"]:
            if row[role] == "admin":
                row[active] = False
        return json.dumps(body, ensure_ascii=False)

    resp = _upload(admin, _rewrite(data, demote))
    assert resp.status_code == 400 and "没有启用中的管理员" in _text(resp)


def test_a_backup_from_a_newer_version_is_refused(login_as):
    admin = login_as("admin")
    data = _download(admin)

    def newer(name: str, text: str) -> str:
        if name != "manifest.json":
            return text
        manifest = json.loads(text)
        manifest["revision"] = "from_the_future"
        return json.dumps(manifest)

    resp = _upload(admin, _rewrite(data, newer))
    assert resp.status_code == 400 and "更新的数据库版本" in _text(resp)


def test_another_admins_upload_cannot_be_confirmed(app, login_as, runner, session):
    admin = login_as("admin")
    preview = _upload(admin, _download(admin))
    runner.invoke(args=["users", "create", "admin2", "--role", "admin", "--password", "second123"])
    other = app.test_client()
    other.post("/login", data={"username": "admin2", "password": "second123"})
    assert other.post(f"/admin/restore/{_token(preview)}", data={"confirm": "1"}).status_code == 404
    assert admin.post("/admin/restore/not-a-token", data={"confirm": "1"}).status_code == 404

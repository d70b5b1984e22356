"""Issue 14, HIGH 2: logins are rate limited; new users get their own one-time password and must
change it before they can do anything else."""
from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest
import requests

from happyclient.cli import write_initial_passwords
from hc_superset.client import SupersetApiError, SupersetClient
from hc_superset.security import (
    ROLE_MANAGER,
    ROLE_MUST_CHANGE_PASSWORD,
    SecurityReport,
    _list_users,
    create_roles_and_users,
)
from hc_superset.sync import ImportReport
from tests.superset.harness import USER_PASSWORD, RunningSuperset


def _make_user(admin: SupersetClient, username: str, roles: list[int], password: str) -> int:
    return admin.post("/api/v1/security/users/", {
        "username": username, "first_name": "Проба", "last_name": "Входа", "email": f"{username}@happyclient.local",
        "active": True, "roles": roles, "password": password,
    })["id"]


def _api_login(url: str, username: str, password: str) -> int:
    resp = requests.post(f"{url}/api/v1/security/login", json={"username": username, "password": password, "provider": "db"}, timeout=30)
    return resp.status_code


def test_wrong_passwords_get_429_after_five_a_minute(superset: RunningSuperset, security: SecurityReport) -> None:
    admin = SupersetClient(superset.url, superset.user, superset.password)
    username = f"probe_{uuid.uuid4().hex[:8]}"
    user_id = _make_user(admin, username, [security.roles[ROLE_MANAGER]], USER_PASSWORD)
    try:
        codes = [_api_login(superset.url, username, f"wrong-{n}") for n in range(5)]
        assert codes == [401] * 5
        assert _api_login(superset.url, username, "wrong-6") == 429
        assert _api_login(superset.url, username, USER_PASSWORD) == 429  # locked for the window, even with the password
        # other users are not locked out
        assert _api_login(superset.url, superset.user, superset.password) == 200
    finally:
        admin.delete(f"/api/v1/security/users/{user_id}")


def test_successful_logins_are_not_throttled(superset: RunningSuperset, security: SecurityReport) -> None:
    username = sorted(security.users)[0]
    assert [_api_login(superset.url, username, USER_PASSWORD) for _ in range(8)] == [200] * 8


def test_a_user_with_a_one_time_password_may_only_change_it(superset: RunningSuperset, imported: ImportReport, security: SecurityReport) -> None:
    admin = SupersetClient(superset.url, superset.user, superset.password)
    roles = {r["name"]: r["id"] for r in admin.get("/api/v1/security/roles/", params={"q": "(page_size:100)"})["result"]}
    username = f"newuser_{uuid.uuid4().hex[:8]}"
    user_id = _make_user(admin, username, [security.roles[ROLE_MANAGER], roles[ROLE_MUST_CHANGE_PASSWORD]], "one-time-Pa55")
    try:
        client = SupersetClient(superset.url, username, "one-time-Pa55")
        for path in ("/api/v1/dashboard/", "/api/v1/chart/", "/api/v1/dataset/"):
            assert client.request("GET", path, expect=(200, 401, 403)).status_code in (401, 403), path
        kpi = next(i for u, i in imported.dataset_ids.items() if u)  # any dataset: refused before RLS
        payload = {"datasource": {"id": kpi, "type": "table"}, "queries": [{"columns": [], "metrics": []}], "result_format": "json", "result_type": "full"}
        assert client.request("POST", "/api/v1/chart/data", json=payload, expect=(200, 400, 401, 403, 404)).status_code in (401, 403, 404)
        assert client.request("GET", "/api/v1/me/").status_code == 200
        client.request("PUT", "/api/v1/me/", json={"password": "my-own-Pa55word"})
        after = SupersetClient(superset.url, username, "my-own-Pa55word")
        assert after.request("GET", "/api/v1/dashboard/").status_code == 200
        names = {r["name"] for r in _list_users(admin)[username]["roles"]}
        assert names == {ROLE_MANAGER}
        with pytest.raises(SupersetApiError):
            SupersetClient(superset.url, username, "one-time-Pa55")
    finally:  # the user changed itself (changed_by = itself), so Superset cannot delete it: deactivate
        admin.put(f"/api/v1/security/users/{user_id}", {"active": False})


def test_sync_gives_a_new_user_a_random_one_time_password(superset: RunningSuperset, security: SecurityReport, warehouse_url: str) -> None:
    admin = SupersetClient(superset.url, superset.user, superset.password)
    username = sorted(u for u, r in security.users.items() if r == ROLE_MANAGER)[-1]
    users = _list_users(admin)
    admin.delete(f"/api/v1/security/users/{users[username]['id']}")  # as if Bitrix24 had a new user
    try:
        report = create_roles_and_users(superset.url, superset.user, superset.password, warehouse_url)
        assert set(report.initial_passwords) == {username}  # existing users keep theirs
        password = report.initial_passwords[username]
        assert len(password) >= 16 and password != USER_PASSWORD
        assert password not in repr(report)
        with pytest.raises(SupersetApiError):
            SupersetClient(superset.url, username, USER_PASSWORD)
        client = SupersetClient(superset.url, username, password)
        assert client.request("GET", "/api/v1/dashboard/", expect=(200, 401, 403)).status_code in (401, 403)
        again = create_roles_and_users(superset.url, superset.user, superset.password, warehouse_url)
        assert again.initial_passwords == {}
        assert ROLE_MUST_CHANGE_PASSWORD in {r["name"] for r in _list_users(admin)[username]["roles"]}  # kept until changed
    finally:  # back to the shared test password for the other tests
        user = _list_users(admin)[username]
        admin.put(f"/api/v1/security/users/{user['id']}", {"password": USER_PASSWORD, "roles": [security.roles[ROLE_MANAGER]]})


def test_initial_passwords_file_is_private(tmp_path: Path) -> None:
    path = write_initial_passwords(tmp_path, {"b24_2": "secret-one", "b24_3": "secret-two"})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    assert lines == ["b24_2\tsecret-one", "b24_3\tsecret-two"]

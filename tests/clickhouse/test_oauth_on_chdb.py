"""Bitrix24 OAuth on a ClickHouse warehouse (issue 13): the rotated refresh token kept in
`ingest_state.oauth_tokens` (ingestion.bitrix24.token_store.ClickHouseTokenStore) on chDB in this
process, against the fake portal, which invalidates a refresh token once it has issued the next.
The cases of the Postgres store's tests in tests/ingestion/test_run_fakes.py (where two loads
starting from one token run on both engines), and those only ClickHouse needs (no lock across
hosts)."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hc_demo.fakes.bitrix24 import FakeBitrix24
from ingestion.bitrix24.auth import OAuthAuth
from ingestion.bitrix24.errors import Bitrix24Error
from ingestion.bitrix24.token_store import ClickHouseTokenStore, TokenStoreError
from ingestion.config import SourceSettings
from ingestion.run import ingest

pytestmark = pytest.mark.clickhouse


@pytest.fixture
def b24(demo_dir: Path) -> Iterator[FakeBitrix24]:
    fake = FakeBitrix24(demo_dir, rate_per_s=200.0, burst=200)
    fake.start()
    yield fake
    fake.stop()


def _oauth(b24: FakeBitrix24, token: str) -> SourceSettings:
    return SourceSettings(
        bitrix24_portal_url=b24.portal_url, bitrix24_client_id=b24.client_id,
        bitrix24_client_secret=b24.client_secret, bitrix24_refresh_token=token,
        bitrix24_rate_per_s=200.0, bitrix24_burst=200,
    )


def _stored(url: str) -> list[tuple[str, str]]:
    """(portal, newest token) of every portal in ingest_state.oauth_tokens."""
    from hc_base.clickhouse import client

    with client(url) as handle:
        rows = handle.query("select portal_url, argMax(refresh_token, _version) from ingest_state.oauth_tokens"
                            " group by portal_url")
        return [tuple(r) for r in rows.result_rows]


def _refreshes(b24: FakeBitrix24) -> list[int]:
    """The HTTP status of every refresh the portal answered."""
    return [r.status for r in b24.requests_log if r.method == "oauth.token"]


def test_oauth_rotated_refresh_token_is_persisted(b24: FakeBitrix24, chdb_warehouse: str) -> None:
    settings = _oauth(b24, b24.refresh_token)
    first = ingest("bitrix24.departments", warehouse_url=chdb_warehouse, settings=settings)
    assert first.rows_landed > 0
    stored = _stored(chdb_warehouse)
    assert stored == [(b24.portal_url, b24.refresh_token)] and stored[0][1] != settings.bitrix24_refresh_token
    # the env token is now invalid on the portal; the next run must use the stored one
    assert ingest("bitrix24.users", warehouse_url=chdb_warehouse, settings=settings).rows_landed > 0
    # each rotation is a new version; the store reads the newest
    assert _refreshes(b24) == [200, 200]
    assert _stored(chdb_warehouse) == [(b24.portal_url, b24.refresh_token)]
    assert ClickHouseTokenStore(chdb_warehouse).load(b24.portal_url) == b24.refresh_token


def test_concurrent_refreshes_are_serialised_by_the_lock(b24: FakeBitrix24, chdb_warehouse: str,
                                                         tmp_path: Path) -> None:
    """Four workers (the lock is a file lock: threads of one process hold it like processes do)
    refresh three times each at once with the same start token: none may fail, and the store ends
    on the token the portal holds."""
    env_token = b24.refresh_token
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        try:
            auth = OAuthAuth(b24.portal_url, b24.client_id, b24.client_secret, env_token,
                             ClickHouseTokenStore(chdb_warehouse, lock_dir=tmp_path))
            session = requests.Session()
            start.wait()
            for _ in range(3):
                auth.refresh(session, 5.0)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert _refreshes(b24) == [200] * 12  # no refresh used a token another had traded
    assert ClickHouseTokenStore(chdb_warehouse).load(b24.portal_url) == b24.refresh_token != env_token


class _StaleFirstRead(ClickHouseTokenStore):
    """A store read before another host's refresh stored its token: the first load sees nothing."""

    rotation_wait_s = 1.0

    def __init__(self, url: str, lock_dir: Path) -> None:
        super().__init__(url, lock_dir)
        self.loads = 0

    def load(self, portal_url: str) -> str | None:
        self.loads += 1
        return None if self.loads <= 2 else super().load(portal_url)


def test_a_token_rotated_on_another_host_is_taken_after_invalid_grant(b24: FakeBitrix24, chdb_warehouse: str,
                                                                      tmp_path: Path) -> None:
    env_token = b24.refresh_token
    other_host = OAuthAuth(b24.portal_url, b24.client_id, b24.client_secret, env_token,
                           ClickHouseTokenStore(chdb_warehouse, lock_dir=tmp_path / "a"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    here = OAuthAuth(b24.portal_url, b24.client_id, b24.client_secret, env_token,
                     _StaleFirstRead(chdb_warehouse, tmp_path / "b"))  # another lock: not serialised
    session = requests.Session()
    other_host.refresh(session, 5.0)
    here.refresh(session, 5.0)  # env_token is rejected (invalid_grant); the stored one is traded
    # the other host's refresh, ours with the stale token (rejected), ours with the stored one
    assert _refreshes(b24) == [200, 400, 200]
    assert here.access_token
    assert ClickHouseTokenStore(chdb_warehouse).load(b24.portal_url) == b24.refresh_token == here.refresh_token


def test_a_rejected_token_still_fails_clearly_and_secrets_stay_out(b24: FakeBitrix24, chdb_warehouse: str,
                                                                   tmp_path: Path) -> None:
    store = ClickHouseTokenStore(chdb_warehouse, lock_dir=tmp_path)
    store.rotation_wait_s = 0.3
    auth = OAuthAuth(b24.portal_url, b24.client_id, b24.client_secret, "not-the-portal-token-123", store)
    with pytest.raises(Bitrix24Error) as caught:
        auth.refresh(requests.Session(), 5.0)
    assert caught.value.code == "invalid_grant"
    for secret in (b24.client_secret, "not-the-portal-token-123"):
        assert secret not in str(caught.value) and secret not in repr(auth)
    assert "chdb" not in repr(store) and repr(store) == "ClickHouseTokenStore(warehouse_url='***')"
    assert store.load(b24.portal_url) is None  # nothing stored by a failed refresh


def test_the_token_is_stored_before_the_access_token_is_used(b24: FakeBitrix24, chdb_warehouse: str,
                                                             tmp_path: Path) -> None:
    """A crash right after the store returns loses nothing: a new process (a new store, a new
    chDB client) starts from the stored token, which the portal accepts."""
    seen: list[Any] = []

    class Watching(ClickHouseTokenStore):
        def save(self, portal_url: str, refresh_token: str) -> None:
            seen.append(auth.access_token)  # no new access token yet
            super().save(portal_url, refresh_token)

    auth = OAuthAuth(b24.portal_url, b24.client_id, b24.client_secret, b24.refresh_token,
                     Watching(chdb_warehouse, lock_dir=tmp_path))
    auth.refresh(requests.Session(), 5.0)
    assert seen == [None] and auth.access_token
    restarted = OAuthAuth(b24.portal_url, b24.client_id, b24.client_secret, "stale-env-token-1",
                          ClickHouseTokenStore(chdb_warehouse, lock_dir=tmp_path))
    assert restarted.refresh_token == b24.refresh_token
    restarted.refresh(requests.Session(), 5.0)
    assert restarted.access_token


def test_a_store_failure_names_the_table_not_the_token(tmp_path: Path) -> None:
    store = ClickHouseTokenStore("clickhouse://hc:pw-s3cret-77@127.0.0.1:1/", lock_dir=tmp_path)
    with pytest.raises(TokenStoreError) as caught:
        store.save("https://portal.example/", "refresh-s3cret-9")
    text = str(caught.value)
    assert "ingest_state.oauth_tokens" in text and "refresh-s3cret-9" not in text and "pw-s3cret-77" not in text
    # one lock file per warehouse and portal, named without the password
    other = ClickHouseTokenStore("clickhouse://hc:other@127.0.0.1:1/", lock_dir=tmp_path)
    assert store.lock_path("https://portal.example/") == other.lock_path("https://portal.example/")
    assert store.lock_path("https://portal.example/") != store.lock_path("https://other.example/")

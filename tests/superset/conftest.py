"""Fixtures for the Superset tests: a warehouse with marts and a fresh Superset with the assets."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from happyclient.superset.security import SecurityReport, create_roles_and_users
from happyclient.superset.sync import ImportReport, import_assets
from tests.superset.harness import ASSETS_DIR, USER_PASSWORD, RunningSuperset, superset_fixture, warehouse_fixture


@pytest.fixture(scope="session")
def warehouse_url(pg_admin_url: str) -> Iterator[str]:
    yield from warehouse_fixture(pg_admin_url)


@pytest.fixture(scope="session")
def superset(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> RunningSuperset:
    return superset_fixture(tmp_path_factory, request)


@pytest.fixture(scope="session")
def imported(superset: RunningSuperset, warehouse_url: str) -> ImportReport:
    """The committed assets imported once into the session's Superset."""
    return import_assets(superset.url, superset.user, superset.password, ASSETS_DIR, warehouse_url)


@pytest.fixture(scope="session")
def security(superset: RunningSuperset, imported: ImportReport, warehouse_url: str) -> SecurityReport:
    """Roles, one user per Bitrix24 manager and RLS rules (idempotent, so shared safely)."""
    return create_roles_and_users(superset.url, superset.user, superset.password, warehouse_url, user_password=USER_PASSWORD)

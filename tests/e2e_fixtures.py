"""Session fixtures shared by tests/superset and tests/browser: the demo warehouse's URL, one
Superset server with the committed assets imported, and the RLS roles and users.

Loaded once for the whole session through `pytest_plugins` in tests/conftest.py, so both test
folders use the same warehouse and the same Superset instead of building their own.
"""

from __future__ import annotations

import os

import pytest

from hc_superset.security import SecurityReport, create_roles_and_users
from hc_superset.sync import ImportReport, import_assets
from tests.superset.harness import ASSETS_DIR, USER_PASSWORD, RunningSuperset, superset_fixture, warehouse_with_password


@pytest.fixture(scope="session")
def warehouse_url(request: pytest.FixtureRequest) -> str:
    """A warehouse whose marts were built by the whole pipeline from the demo data."""
    given = os.environ.get("HAPPYCLIENT_E2E_WAREHOUSE_URL")
    if given:
        return given
    demo = request.getfixturevalue("demo_warehouse")
    if not demo.run_success:
        pytest.fail(f"the demo pipeline failed, so the dashboards have no marts: {demo.step_errors}")
    return warehouse_with_password(demo.url)


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
    return create_roles_and_users(
        superset.url, superset.user, superset.password, warehouse_url, user_password=USER_PASSWORD
    )

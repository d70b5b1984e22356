"""Dagster resources. Values come from environment variables through `dg.EnvVar`, read when a run
starts (and hidden in the UI), never at import time."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dagster as dg

from hc_base.redact import register_secret
from hc_base.warehouse_url import dbt_env


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse: PostgreSQL, or ClickHouse for a clickhouse:// (chdb:// in tests) URL. `happyclient`
    exports WAREHOUSE_URL for the embedded server too."""

    url: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        from hc_base.warehouse_url import clickhouse_dbt_env, is_clickhouse_url, parse_url

        if is_clickhouse_url(self.url):
            clickhouse_dbt_env(self.url)  # registers the password
        else:
            register_secret(parse_url(self.url).password)

    @property
    def is_clickhouse(self) -> bool:
        from hc_base.warehouse_url import is_clickhouse_url

        return is_clickhouse_url(self.url)

    def dbt_env(self) -> dict[str, str]:
        """HAPPYCLIENT_PG_* (or target clickhouse and HAPPYCLIENT_CH_*) variables for dbt's profiles.yml."""
        return dbt_env(self.url)


class SupersetResource(dg.ConfigurableResource):
    """Where the dashboards are synchronised to (REST API)."""

    base_url: str
    admin_user: str
    admin_password: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        register_secret(self.admin_password)


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block (dbt reads its profile from them)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old

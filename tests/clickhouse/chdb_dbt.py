"""Test-only shim: run dbt-clickhouse against chDB (the ClickHouse engine in process).

Released dbt-clickhouse (1.10.x) only speaks HTTP or the native protocol to a server; upstream has
an unmerged `driver: chdb`. clickhouse-connect (1.12) has a chDB client behind the same API as its
HTTP client, so this shim swaps the client dbt-clickhouse's HTTP wrapper creates for a chDB one on
the directory in HAPPYCLIENT_CHDB_PATH, then runs dbt's command line. Nothing in the product
imports it: the product talks to a ClickHouse server (target `clickhouse` of profiles.yml).

    HAPPYCLIENT_CHDB_PATH=/tmp/x HAPPYCLIENT_DBT_TARGET=clickhouse python tests/clickhouse/chdb_dbt.py build ...

One process at a time may open a chDB directory: the test that lands the raw data closes its
client before it runs this.
"""
from __future__ import annotations

import os
import sys


def install() -> None:
    import clickhouse_connect
    from dbt.adapters.clickhouse import httpclient

    path = os.environ["HAPPYCLIENT_CHDB_PATH"]

    def _create_client(self, credentials):
        settings = {k: v for k, v in self._conn_settings.items() if k != "session_id"}
        return clickhouse_connect.get_client(interface="chdb", path=path, settings=settings)

    httpclient.ChHttpClient._create_client = _create_client
    # dbt-clickhouse drops the client's database after dropping a database (HTTP query parameter);
    # a chDB handle keeps its USE state, so keep it on a database that exists.
    httpclient.ChHttpClient.database_dropped = lambda self, database: None


def main(argv: list[str]) -> None:
    install()
    from dbt.cli.main import cli

    cli.main(args=argv, prog_name="dbt")  # exits with dbt's exit code


if __name__ == "__main__":
    main(sys.argv[1:])

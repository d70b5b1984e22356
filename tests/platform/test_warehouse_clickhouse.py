"""WAREHOUSE_URL=clickhouse://… routes dbt to target `clickhouse` of dbt_project/profiles.yml (issue 13)."""
from __future__ import annotations

import pytest
import yaml

from hc_base.redact import redact
from hc_base.settings import PROJECT_ROOT
from hc_base.warehouse_url import WarehouseError, dbt_env, is_clickhouse_url


def test_clickhouse_url_selects_the_clickhouse_target() -> None:
    env = dbt_env("clickhouse://analyst:s%40cret@ch.example.org:8124/ignored?cluster=happyclient")
    assert env == {
        "HAPPYCLIENT_DBT_TARGET": "clickhouse",
        "HAPPYCLIENT_CH_HOST": "ch.example.org",
        "HAPPYCLIENT_CH_PORT": "8124",
        "HAPPYCLIENT_CH_USER": "analyst",
        "HAPPYCLIENT_CH_PASSWORD": "s@cret",
        "HAPPYCLIENT_CH_SECURE": "false",
        "HAPPYCLIENT_CH_CLUSTER": "happyclient",
    }
    assert "s@cret" not in redact("connecting with s@cret")  # the password is registered as a secret


def test_clickhouse_defaults_tls_and_chdb() -> None:
    env = dbt_env("clickhouses://ch.example.org")
    assert (env["HAPPYCLIENT_CH_PORT"], env["HAPPYCLIENT_CH_SECURE"], env["HAPPYCLIENT_CH_USER"]) == ("8443", "true", "default")
    assert "HAPPYCLIENT_CH_CLUSTER" not in env
    assert dbt_env("clickhouse://localhost")["HAPPYCLIENT_CH_PORT"] == "8123"
    assert dbt_env("chdb:///tmp/hc-chdb") == {"HAPPYCLIENT_DBT_TARGET": "clickhouse", "HAPPYCLIENT_CHDB_PATH": "/tmp/hc-chdb"}
    with pytest.raises(WarehouseError):
        dbt_env("chdb://")
    assert is_clickhouse_url("clickhouse://x") and not is_clickhouse_url("postgresql://x") and not is_clickhouse_url(None)
    assert "HAPPYCLIENT_DBT_TARGET" not in dbt_env("postgresql://db.local/wh")  # Postgres: the default target


def test_profile_reads_every_variable_the_url_sets() -> None:
    profile = (PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text(encoding="utf-8")
    outputs = yaml.safe_load(profile)["happyclient"]["outputs"]
    assert outputs["clickhouse"]["type"] == "clickhouse" and outputs["warehouse"]["type"] == "postgres"
    for name in dbt_env("clickhouses://u:p@h:1/?cluster=c"):
        assert f"env_var('{name}'" in profile, f"{name} is set from WAREHOUSE_URL but profiles.yml does not read it"


def test_a_clickhouse_url_is_a_warehouse_of_its_own_not_the_embedded_postgres(tmp_path) -> None:
    from types import SimpleNamespace

    from happyclient.warehouse import resolve_warehouse

    url = "clickhouse://hc:s3cr3t-ch@ch.local:8123/"
    warehouse = resolve_warehouse(SimpleNamespace(warehouse_url=url, data_dir=tmp_path, pg_port=1))
    assert warehouse.url == url and warehouse.embedded is None
    assert "ClickHouse" in warehouse.describe() and "s3cr3t-ch" not in warehouse.describe()
    with pytest.raises(WarehouseError, match="chdb:///path"):  # a chDB URL names its directory
        resolve_warehouse(SimpleNamespace(warehouse_url="chdb://", data_dir=tmp_path, pg_port=1))


def test_the_dagster_definitions_load_with_a_clickhouse_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The job's definitions do not need a PostgreSQL URL; its warehouse resource knows the engine
    (the dbt steps then leave out the unit tests tagged not_on_clickhouse)."""
    monkeypatch.setenv("WAREHOUSE_URL", "clickhouse://default:@127.0.0.1:8123/")
    from orchestration.definitions import PIPELINE_JOB, defs
    from orchestration.resources import WarehouseResource

    assert defs.resolve_job_def(PIPELINE_JOB) is not None
    assert WarehouseResource(url="chdb:///tmp/x").is_clickhouse
    assert not WarehouseResource(url="postgresql://u@h/db").is_clickhouse
    assert WarehouseResource(url="clickhouse://h:8123/").dbt_env()["HAPPYCLIENT_DBT_TARGET"] == "clickhouse"


def test_one_parser_for_a_clickhouse_url() -> None:
    """`parse_clickhouse_url`: TLS, cluster, chDB path and a password of URL-special characters,
    decoded once; the three users (client, dbt, Superset) read the same parts."""
    from hc_base.warehouse_url import ClickHouseTarget, ClickHouseUrlError, clickhouse_dbt_env, parse_clickhouse_url

    password = "p@ss:w/o#rd%?"  # written %-encoded in the URL
    url = "clickhouses://ana%40lyst:p%40ss%3Aw%2Fo%23rd%25%3F@CH.example.org/db?cluster=two_shards"
    target = parse_clickhouse_url(url)
    assert target == ClickHouseTarget(host="ch.example.org", port=8443, user="ana@lyst", password=password,
                                      secure=True, cluster="two_shards")
    assert parse_clickhouse_url("clickhouse://h:9000") == ClickHouseTarget(host="h", port=9000)
    assert parse_clickhouse_url("clickhouse://") == ClickHouseTarget()  # 127.0.0.1:8123, user default, no TLS
    assert parse_clickhouse_url("chdb:///tmp/wh%20dir") == ClickHouseTarget(chdb_path="/tmp/wh dir")
    env = clickhouse_dbt_env(url)
    assert (env["HAPPYCLIENT_CH_USER"], env["HAPPYCLIENT_CH_PASSWORD"], env["HAPPYCLIENT_CH_PORT"]) == ("ana@lyst", password, "8443")
    for text in (repr(target), str(target), f"{target}"):
        assert password not in text and "p@ss" not in text and "***" in text
    assert "***" not in repr(ClickHouseTarget())  # no password, no mask
    for bad in ("chdb://", "postgresql://u:s3cret-pw@h/db", "clickhouse://u:s3cret-pw@h:port/"):
        with pytest.raises(ClickHouseUrlError) as raised:
            parse_clickhouse_url(bad)
        assert isinstance(raised.value, ValueError) and isinstance(raised.value, WarehouseError)
        assert "s3cret-pw" not in str(raised.value)


def test_the_client_connects_with_the_parsed_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    clickhouse_connect = pytest.importorskip("clickhouse_connect")
    from hc_base import clickhouse

    calls: list[dict] = []
    monkeypatch.setattr(clickhouse_connect, "get_client", lambda **kwargs: calls.append(kwargs))
    clickhouse.connect("clickhouses://ana%40lyst:p%40ss%3Aw%2Fo%23rd@ch.local/")
    clickhouse.connect("chdb:///tmp/wh%20dir")
    assert calls == [
        {"host": "ch.local", "port": 8443, "username": "ana@lyst", "password": "p@ss:w/o#rd", "secure": True, "settings": None},
        {"interface": "chdb", "path": "/tmp/wh dir", "settings": None},  # decoded, as dbt and Superset read it
    ]


def test_superset_reads_the_same_parts() -> None:
    from hc_superset.sync import clickhouse_sqlalchemy_uri

    assert clickhouse_sqlalchemy_uri("clickhouses://ana%40lyst:p%40ss%3Aw%2Fo%23rd@ch.local/?cluster=c") == (
        "clickhousedb://ana%40lyst:XXXXXXXXXX@ch.local:8443/marts?secure=true", "p@ss:w/o#rd")
    assert clickhouse_sqlalchemy_uri("clickhouse://ch.local") == ("clickhousedb://default@ch.local:8123/marts", None)
    assert clickhouse_sqlalchemy_uri("chdb:///tmp/wh%20dir")[0] == (
        "clickhousedb://default@localhost/marts?interface=chdb&path=/tmp/wh%20dir")

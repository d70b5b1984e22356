"""The ClickHouse cluster of docker-compose profile `clickhouse` (issue 13), validated without Docker:
2 shards x 2 replicas and a 3-node Keeper, whose compose services, remote_servers, per-node macros,
Keeper raft configuration and the settings the dbt models need all agree with each other."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from hc_base.settings import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
CONFIG = PROJECT_ROOT / "docker" / "clickhouse"
CLUSTER = "happyclient"


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return {name: svc for name, svc in compose["services"].items() if "clickhouse" in (svc.get("profiles") or [])}


def _xml(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def _mounts(service: dict) -> dict[str, Path]:
    """container path -> host file of the service's ./docker bind mounts"""
    out = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            out[target] = PROJECT_ROOT / source
    return out


def _servers(services: dict[str, dict]) -> dict[str, dict]:
    return {n: s for n, s in services.items() if s["image"].startswith("clickhouse/clickhouse-server")}


def _keepers(services: dict[str, dict]) -> dict[str, dict]:
    return {n: s for n, s in services.items() if s["image"].startswith("clickhouse/clickhouse-keeper")}


def test_profile_is_two_shards_of_two_replicas_and_three_keepers(services: dict[str, dict]) -> None:
    cluster = _xml(CONFIG / "config.d" / "cluster.xml").find(f"remote_servers/{CLUSTER}")
    shards = [[(r.findtext("host"), r.findtext("port")) for r in shard.findall("replica")] for shard in cluster.findall("shard")]
    assert [len(s) for s in shards] == [2, 2]
    assert all(shard.findtext("internal_replication") == "true" for shard in cluster.findall("shard"))
    hosts = [host for shard in shards for host, _ in shard]
    assert sorted(hosts) == sorted(_servers(services)), "every replica is a compose service and vice versa"
    assert len(_keepers(services)) == 3
    # no other service joins the profile, and the default stack does not start the cluster
    assert set(services) == set(_servers(services)) | set(_keepers(services))


def test_each_server_has_its_own_shard_and_replica_macros(services: dict[str, dict]) -> None:
    cluster = _xml(CONFIG / "config.d" / "cluster.xml").find(f"remote_servers/{CLUSTER}")
    expected = {replica.findtext("host"): (str(number), replica.findtext("host"))
                for number, shard in enumerate(cluster.findall("shard"), start=1) for replica in shard.findall("replica")}
    seen = set()
    for name, service in _servers(services).items():
        mounts = _mounts(service)
        for target in ("/etc/clickhouse-server/config.d/cluster.xml", "/etc/clickhouse-server/users.d/happyclient.xml",
                       "/etc/clickhouse-server/config.d/macros.xml"):
            assert target in mounts and mounts[target].is_file(), (name, target)
        macros = _xml(mounts["/etc/clickhouse-server/config.d/macros.xml"]).find("macros")
        got = (macros.findtext("shard"), macros.findtext("replica"))
        assert got == expected[name], f"{name}: macros {got}, remote_servers says {expected[name]}"
        assert macros.findtext("cluster") == CLUSTER
        seen.add(got)
        assert any(v.endswith(":/var/lib/clickhouse") and not v.startswith(".") for v in service["volumes"]), name
    assert len(seen) == 4, "two servers share a replica identity"
    # replicated tables find their Keeper path and replica name through these macros
    config = _xml(CONFIG / "config.d" / "cluster.xml")
    assert "{shard}" in config.findtext("default_replica_path") and config.findtext("default_replica_name") == "{replica}"


def test_servers_and_keepers_agree_on_the_keeper_ensemble(services: dict[str, dict]) -> None:
    zookeeper = [(n.findtext("host"), n.findtext("port")) for n in _xml(CONFIG / "config.d" / "cluster.xml").findall("zookeeper/node")]
    keeper = _xml(CONFIG / "keeper" / "keeper.xml").find("keeper_server")
    raft = {s.findtext("id"): s.findtext("hostname") for s in keeper.findall("raft_configuration/server")}
    keepers = _keepers(services)
    assert sorted(h for h, _ in zookeeper) == sorted(keepers) == sorted(raft.values())
    assert {p for _, p in zookeeper} == {keeper.findtext("tcp_port")}
    assert keeper.find("server_id").get("from_env") == "KEEPER_SERVER_ID"
    assert {name: svc["environment"]["KEEPER_SERVER_ID"] for name, svc in keepers.items()} == {h: i for i, h in raft.items()}
    for name, service in keepers.items():
        assert any(m.name == "keeper.xml" for m in _mounts(service).values()), name
    for service in _servers(services).values():
        assert set(service["depends_on"]) == set(keepers)


def test_the_users_profile_has_the_settings_of_the_dbt_target(services: dict[str, dict]) -> None:
    """The models rely on these settings (LEFT JOIN without a match gives NULL, ...): the server
    profile and target `clickhouse` of profiles.yml set the same ones, to the same values."""
    users = _xml(CONFIG / "users.d" / "happyclient.xml")
    profile = {child.tag: child.text for child in users.find("profiles/happyclient")}
    dbt = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text(encoding="utf-8"))
    custom = dbt["happyclient"]["outputs"]["clickhouse"]["custom_settings"]
    assert {"join_use_nulls", "cast_keep_nullable", "aggregate_functions_null_for_empty", "union_default_mode"} <= set(custom)
    for name, value in custom.items():
        assert profile.get(name) == str(value), f"setting {name}: server profile {profile.get(name)!r}, dbt {value!r}"
    user = users.find("users/happyclient")
    assert user.findtext("profile") == "happyclient"
    assert user.find("password").get("from_env") == "CLICKHOUSE_PASSWORD" and not (user.find("password").text or "").strip()
    for service in _servers(services).values():
        assert service["environment"]["CLICKHOUSE_PASSWORD"] == "${CLICKHOUSE_PASSWORD}"
        assert "ports" not in service, "the cluster is reached from the compose network only"

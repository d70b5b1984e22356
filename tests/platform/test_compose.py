"""docker-compose.yml only references things that exist, and every variable is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from hc_base.settings import ENV_VARS, PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?-[^}]*)?\}")
EXPECTED_SERVICES = {
    "postgres",
    "redis",
    "superset",
    "superset-worker",
    "dagster-webserver",
    "dagster-daemon",
    "happyclient-code",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _env_example_names() -> set[str]:
    names = set()
    for line in (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            names.add(line.split("=", 1)[0].strip())
    return names


def test_every_service_is_there(compose: dict) -> None:
    assert set(compose["services"]) >= EXPECTED_SERVICES


def test_builds_reference_existing_dockerfiles_and_copied_paths(compose: dict) -> None:
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is None:
            assert service.get("image"), f"service {name} has neither build nor image"
            continue
        context = (COMPOSE.parent / build["context"]).resolve()
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert context.is_dir(), f"{name}: build context {context} missing"
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
        for line in dockerfile.read_text(encoding="utf-8").splitlines():
            if line.startswith("COPY "):
                for source in line.split()[1:-1]:
                    assert (context / source).exists(), f"{dockerfile.name}: COPY source {source} missing"


def test_volumes_and_dependencies_exist(compose: dict) -> None:
    named = set(compose.get("volumes") or {})
    services = set(compose["services"])
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith(("./", "/", "${")):
                if source.startswith("./docker"):
                    assert (COMPOSE.parent / source).exists(), f"{name}: bind mount {source} missing"
            else:
                assert source in named, f"{name}: volume {source} is not declared"
        depends = service.get("depends_on", [])
        for dependency in depends if isinstance(depends, list) else depends.keys():
            assert dependency in services, f"{name} depends on unknown service {dependency}"


def test_every_variable_is_documented() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(VAR.findall(text))
    assert used, "no ${VAR} found: the pattern is wrong"
    example = _env_example_names()
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for name in sorted(used):
        assert name in example, f"${{{name}}} is used in docker-compose.yml but missing from .env.example"
        assert f"`{name}`" in readme, f"${{{name}}} is not documented in README.md"


def test_settings_and_env_example_are_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for name in sorted(set(ENV_VARS) | _env_example_names()):
        assert f"`{name}`" in readme, f"{name} is missing from the README configuration table"


def test_no_secret_in_env_example() -> None:
    for line in (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition("=")
        if any(word in name for word in ("PASSWORD", "SECRET", "TOKEN", "WEBHOOK")):
            assert value.strip() == "", f".env.example must not carry a value for {name}"


def test_docker_scripts_are_executable() -> None:
    for path in [
        *(PROJECT_ROOT / "docker" / "postgres-init").glob("*.sh"),
        PROJECT_ROOT / "docker" / "superset-init.sh",
    ]:
        assert path.stat().st_mode & 0o111, f"{path} is not executable"


def test_workspace_points_at_the_code_location(compose: dict) -> None:
    workspace = yaml.safe_load((PROJECT_ROOT / "docker" / "workspace.yaml").read_text(encoding="utf-8"))
    server = workspace["load_from"][0]["grpc_server"]
    assert server["host"] in compose["services"]
    command = compose["services"][server["host"]]["command"]
    assert str(server["port"]) in command and "orchestration.definitions" in command
    assert Path(PROJECT_ROOT / "orchestration" / "definitions.py").exists()


def test_readme_links_point_at_files() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)\)", readme):
        assert (PROJECT_ROOT / target).exists(), f"README links to {target}, which does not exist"


# a string literal named like one of the product's environment variables
_PRODUCT_VAR = re.compile(
    r"""["']((?:HAPPYCLIENT|BITRIX24|ONEC|FILES|SUPERSET|DAGSTER|WAREHOUSE|REDIS|CHROMIUM|CHROMEDRIVER|SMTP"""
    r"""|POSTGRES|WRITEBACK)_[A-Z0-9_]+)["']"""
)
# set by the product for Superset itself, never by a user
_INTERNAL_VARS = {"SUPERSET_CONFIG_PATH"}


def test_every_variable_the_code_reads_is_in_the_readme() -> None:
    """ENV_VARS covers hc_base.settings; the connectors, the file loader and superset_config
    read their own variables: each one the product's code names must be in the README table too."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    sources = [*PROJECT_ROOT.glob("happyclient/**/*.py"), *PROJECT_ROOT.glob("ingestion/**/*.py"),
               *PROJECT_ROOT.glob("orchestration/**/*.py"), *PROJECT_ROOT.glob("predictions/**/*.py"),
               PROJECT_ROOT / "superset" / "superset_config.py"]
    named: dict[str, str] = {}
    for path in sources:
        if "fakes" in path.parts or "demo" in path.parts:
            continue  # the demo's own tools, not the product's configuration
        for name in _PRODUCT_VAR.findall(path.read_text(encoding="utf-8")):
            named.setdefault(name, str(path.relative_to(PROJECT_ROOT)))
    assert len(named) > 20, "the pattern finds too few variables: it is wrong"
    missing = [f"{name} (read in {where})" for name, where in sorted(named.items())
               if name not in _INTERNAL_VARS and f"`{name}`" not in readme]
    assert not missing, "not in the README configuration table: " + ", ".join(missing)


def test_published_ports_are_bound_to_localhost(compose: dict) -> None:
    """Issue 14 (10c): the Dagster UI has no login and Superset speaks plain HTTP: neither is
    published on all interfaces; the README puts an authenticating TLS proxy in front."""
    published = {name: svc["ports"] for name, svc in compose["services"].items() if svc.get("ports")}
    assert {"superset", "dagster-webserver"} <= set(published)
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_superset_admin_password_is_not_on_a_command_line() -> None:
    script = (PROJECT_ROOT / "docker" / "superset-init.sh").read_text(encoding="utf-8")
    assert "--password" not in script
    assert 'printf \'%s\\n%s\\n\' "$SUPERSET_ADMIN_PASSWORD"' in script


def test_dagster_telemetry_is_off_in_compose_and_in_the_local_instance(tmp_path: Path) -> None:
    from happyclient.pipeline import ensure_dagster_instance

    assert yaml.safe_load((PROJECT_ROOT / "docker" / "dagster.yaml").read_text(encoding="utf-8"))["telemetry"] == {"enabled": False}
    path = ensure_dagster_instance(tmp_path / "fresh")
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == {"telemetry": {"enabled": False}}
    existing = tmp_path / "old"
    existing.mkdir()
    (existing / "dagster.yaml").write_text("run_retries:\n  enabled: false", encoding="utf-8")
    ensure_dagster_instance(existing)
    ensure_dagster_instance(existing)  # idempotent
    assert yaml.safe_load((existing / "dagster.yaml").read_text(encoding="utf-8")) == {
        "run_retries": {"enabled": False}, "telemetry": {"enabled": False}}

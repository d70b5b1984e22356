"""`happyclient`: the command line. `happyclient demo` runs the whole product on demo data;
the other subcommands run one step each. Run `happyclient <command> --help` for details."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from happyclient.console import Console
from happyclient.pipeline import error_summary
from happyclient.processes import BackgroundProcess
from happyclient.warehouse import Warehouse, resolve_warehouse
from hc_base.redact import install_log_redaction, redact
from hc_base.settings import PROJECT_ROOT, Settings
from hc_base.warehouse_url import dbt_env

DAGSTER_UI = "dagster-ui"


class CliError(RuntimeError):
    """An error to show the user without a traceback."""


# ------------------------------------------------------------------------------------------ helpers
def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _warehouse(settings: Settings, console: Console) -> Warehouse:
    warehouse = resolve_warehouse(settings)
    with console.step(f"warehouse: {warehouse.describe()}"):
        warehouse.start()
    return warehouse


def _superset_server(settings: Settings) -> object:
    from hc_superset.server import SupersetServer

    return SupersetServer(settings.superset_data_dir, port=settings.superset_port)


def _pipeline_env(settings: Settings, warehouse_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    password, _ = settings.admin_password()
    env = {
        "WAREHOUSE_URL": warehouse_url,
        "SUPERSET_URL": settings.superset_base_url,
        "SUPERSET_ADMIN_USER": settings.superset_admin_user,
        "SUPERSET_ADMIN_PASSWORD": password,
        "DAGSTER_HOME": str(settings.dagster_home),
    }
    env.update(extra or {})
    return env


# connector variables that say where the data comes from: one of them set means the user's sources
USER_SOURCE_VARS = (
    "BITRIX24_WEBHOOK_URL",
    "BITRIX24_PORTAL_URL",
    "BITRIX24_CLIENT_ID",
    "BITRIX24_CLIENT_SECRET",
    "BITRIX24_REFRESH_TOKEN",
    "ONEC_ODATA_URL",
    "ONEC_USER",
    "ONEC_PASSWORD",
    "FILES_DIR",
)


def _demo_sources_env(settings: Settings, console: Console) -> dict[str, str]:
    """While the demo's fake servers run, the connector variables pointing at them, but only
    when the user configured no source: what the user set always wins, and is never mixed with
    the demo's (a user's FILES_DIR with the demo's Bitrix24 would be neither). One line says
    which sources the command uses. The demo's date is used unless HAPPYCLIENT_AS_OF is set."""
    from happyclient.demo import cached_demo_data, fake_processes, source_env, start_fakes

    if not all(p.is_running() for p in fake_processes(settings).values()):
        return {}
    marker = settings.demo_dir / "current"
    if not marker.exists():
        return {}
    data = cached_demo_data(Path(marker.read_text(encoding="utf-8").strip()))
    if data is None:
        return {}
    own = [name for name in USER_SOURCE_VARS if os.environ.get(name, "").strip()]
    if own:
        console.info(
            f"the demo's fake sources are running, but you set {', '.join(own)}: using your settings only "
            "(stop the fakes with `happyclient fakes stop`)"
        )
        return {}
    console.info("using the demo's fake Bitrix24 and 1C and its files (set BITRIX24_*, ONEC_*, FILES_DIR for yours)")
    env = {k: v for k, v in source_env(start_fakes(settings, data), data).items() if not os.environ.get(k, "").strip()}
    if settings.as_of is None:
        env["HAPPYCLIENT_AS_OF"] = data.as_of.isoformat()
    return env


def _print_step(console: Console) -> object:
    def on_step(step: str, status: str) -> None:
        if status != "started":
            console.info(f"{step}: {status}")

    return on_step


def _run_pipeline(
    settings: Settings,
    console: Console,
    env: dict[str, str],
    *,
    exclude_groups: Sequence[str] = (),
    title: str = "Dagster job happyclient_pipeline",
) -> None:
    import contextlib

    from happyclient.pipeline import DbtProgress, run_pipeline

    settings.log_dir.mkdir(parents=True, exist_ok=True)
    output = settings.log_dir / "pipeline-output.log"
    with console.step(title):
        console.info(f"dbt and Dagster output: {output}")
        # the console keeps the terminal; dbt's and Dagster's own output goes to the log file,
        # and dbt's progress («dbt N of M: <model>») is echoed to the console as it runs
        with (
            open(output, "a", encoding="utf-8") as sink,
            contextlib.redirect_stdout(DbtProgress(sink, console.info)),  # type: ignore[type-var]
            contextlib.redirect_stderr(sink),
            _log_handlers_to(sink),
        ):
            result = run_pipeline(
                env, dagster_home=settings.dagster_home, exclude_groups=exclude_groups, on_step=_print_step(console)
            )
        if not result.success:
            settings.log_dir.mkdir(parents=True, exist_ok=True)
            log_file = settings.log_dir / f"pipeline-{result.run_id}.log"
            log_file.write_text(
                "".join(f"== {step}\n{error}\n\n" for step, error in result.errors.items()), encoding="utf-8"
            )
            details = "\n".join(f"    {step}: {error_summary(error)}" for step, error in result.errors.items())
            raise CliError(
                f"the pipeline run {result.run_id} failed:\n{details}\n"
                f"  full errors: {log_file}; the run is also in the Dagster UI (happyclient ui)"
            )


@contextmanager
def _log_handlers_to(stream: TextIO) -> Iterator[None]:
    """Point the root logger's stream handlers at `stream` for the duration of a block."""
    import logging

    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(stream) for h in handlers]
    try:
        yield
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            if old is not None:
                handler.setStream(old)


# ------------------------------------------------------------------------------------------ commands
def cmd_warehouse(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    warehouse = resolve_warehouse(settings)
    if args.action == "start":
        _warehouse(settings, console)
    elif args.action == "stop":
        if warehouse.embedded is None:
            console.line("WAREHOUSE_URL points at an external PostgreSQL; nothing to stop")
        else:
            warehouse.stop()
            console.line("embedded PostgreSQL stopped")
    else:
        console.line(redact(warehouse.url))
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from happyclient.demo import ensure_demo_data

    with console.step(f"demo data: {args.clients} clients, seed {args.seed}"):
        data, generated = ensure_demo_data(settings.demo_data_dir, seed=args.seed, clients=args.clients)
        console.info(f"{'generated' if generated else 'cached'}: {data.path} (as of {data.as_of})")
    return 0


def cmd_fakes(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from happyclient.demo import ensure_demo_data, start_fakes, stop_fakes

    if args.action == "stop":
        stopped = stop_fakes(settings)
        console.line(f"stopped: {', '.join(stopped) or 'nothing was running'}")
        return 0
    data, _ = ensure_demo_data(settings.demo_data_dir, seed=args.seed, clients=args.clients)
    (settings.demo_dir / "current").write_text(str(data.path), encoding="utf-8")
    with console.step("fake Bitrix24 and 1C servers"):
        endpoints = start_fakes(settings, data)
        console.info(f"1C OData: {endpoints.onec_odata_url}")
        console.info(f"Bitrix24 webhook URL: in {settings.demo_dir / 'bitrix24-webhook.url'}")
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from ingestion.config import SourceSettings
    from ingestion.registry import ENTITIES, SOURCES
    from ingestion.run import ingest, ingest_source

    warehouse = _warehouse(settings, console)
    env = {**os.environ, **_demo_sources_env(settings, console)}
    sources = SourceSettings.from_env(env)
    with console.step(f"ingest {args.target}{' (full refresh)' if args.full_refresh else ''}"):
        if args.target in SOURCES:
            ingest_source(
                args.target,
                warehouse_url=warehouse.url,
                settings=sources,
                full_refresh=args.full_refresh,
                log=console.info,
            )
        elif args.target in ENTITIES:
            ingest(
                args.target,
                warehouse_url=warehouse.url,
                settings=sources,
                full_refresh=args.full_refresh,
                log=console.info,
                files=getattr(args, "file", None),  # --file: load these files as the kind
                require_files=True,  # a requested kind without a file is an error
            )
        else:
            raise CliError(
                f"unknown source or entity {args.target!r}; sources: {', '.join(SOURCES)}; "
                f"entities: {', '.join(sorted(ENTITIES))}"
            )
    return 0


# dbt commands (and sub-commands) that take --vars
_DBT_VARS_COMMANDS = {
    ("build",), ("run",), ("test",), ("compile",), ("seed",), ("snapshot",), ("show",), ("list",), ("ls",),
    ("parse",), ("run-operation",), ("docs", "generate"), ("source", "freshness"),
}


def dbt_args_with_as_of(
    dbt_args: Sequence[str], as_of: str | None, mapping_vars: Mapping[str, Any] | None = None
) -> list[str]:
    """`dbt_args` with `--vars` carrying as_of_date = HAPPYCLIENT_AS_OF and the mapping file's
    hc_* vars (`mapping_vars`), as the pipeline passes them. A `--vars` of the user's own is merged
    (their values win); commands without --vars are left alone."""
    return dbt_args_with_vars(
        dbt_args, {**dict(mapping_vars or {}), **({"as_of_date": as_of} if as_of is not None else {})}
    )


def dbt_args_with_vars(dbt_args: Sequence[str], run_vars: Mapping[str, Any]) -> list[str]:
    """`dbt_args` with `--vars` carrying `run_vars` (the mapping's hc_* vars, then
    Settings.run_dbt_vars: HAPPYCLIENT_AS_OF, HAPPYCLIENT_COMPARE, HAPPYCLIENT_DBT_VARS, --compare,
    --var), as the pipeline passes them. A `--vars` of the user's own is merged (its values win);
    commands without --vars are left alone."""
    import json

    import yaml

    args = list(dbt_args)
    words = [a for a in args if not a.startswith("-")]
    if not run_vars or not any(tuple(words[: len(c)]) == c for c in _DBT_VARS_COMMANDS):
        return args
    own: object = {}
    for i, arg in enumerate(args):
        if arg == "--vars" and i + 1 < len(args) or arg.startswith("--vars="):
            text = args[i + 1] if arg == "--vars" else arg.split("=", 1)[1]
            del args[i : i + (2 if arg == "--vars" else 1)]
            try:
                own = yaml.safe_load(text) or {}
            except yaml.YAMLError as exc:
                raise CliError(f"--vars is not YAML or JSON: {exc}") from None
            break
    if not isinstance(own, dict):
        raise CliError("--vars must be a YAML or JSON mapping, e.g. --vars '{as_of_date: 2026-10-31}'")
    return [*args, "--vars", json.dumps({**run_vars, **own}, default=str, ensure_ascii=False)]


def apply_run_options(settings: Settings, compare: str | None, var_options: Sequence[str]) -> dict[str, str]:
    """`--compare CURRENT:BASE` and `--var KEY=VALUE` (repeatable) of `pipeline` and `dbt`: set on
    `settings` (over HAPPYCLIENT_COMPARE / HAPPYCLIENT_DBT_VARS) and returned as those variables,
    for the pipeline's environment (the Dagster job reads them when its dbt step runs)."""
    import json

    from hc_base.settings import SettingsError, parse_compare, parse_var_option

    try:
        if compare is not None:
            settings.compare = parse_compare(compare)
        for option in var_options:
            key, value = parse_var_option(option)
            settings.dbt_vars[key] = value
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    env = {}
    if settings.compare is not None:
        env["HAPPYCLIENT_COMPARE"] = settings.compare
    if settings.dbt_vars:
        env["HAPPYCLIENT_DBT_VARS"] = json.dumps(settings.dbt_vars, default=str)
    return env


def split_run_options(dbt_args: Sequence[str]) -> tuple[list[str], str | None, list[str]]:
    """`happyclient dbt` arguments without our own --compare X / --var K=V (anywhere in the
    list; dbt has neither), and those options' values."""
    rest: list[str] = []
    compare: str | None = None
    var_options: list[str] = []
    args = list(dbt_args)
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if name in ("--compare", "--var"):
            if not eq:
                if i + 1 >= len(args):
                    raise CliError(f"{name} needs a value")
                value = args[i + 1]
                i += 1
            if name == "--compare":
                compare = value
            else:
                var_options.append(value)
        else:
            rest.append(arg)
        i += 1
    return rest, compare, var_options


def _say_vars(console: Console, run_vars: Mapping[str, Any]) -> None:
    if run_vars:
        console.info("dbt vars: " + ", ".join(f"{k}={v}" for k, v in run_vars.items()))


def cmd_dbt(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    warehouse = _warehouse(settings, console)
    env = {**os.environ, **dbt_env(warehouse.url), "DBT_PROFILES_DIR": str(PROJECT_ROOT / "dbt_project")}
    dbt_args = list(args.dbt_args)
    if dbt_args and dbt_args[0] == "--":
        dbt_args = dbt_args[1:]
    dbt_args, compare, var_options = split_run_options(dbt_args)
    apply_run_options(settings, compare, var_options)
    from ingestion.mapping import dbt_vars_in_force, mapping_path

    mapping_vars = dbt_vars_in_force()
    run_vars = {**mapping_vars, **settings.run_dbt_vars()}
    with_vars = dbt_args_with_vars(dbt_args, run_vars)
    if with_vars != dbt_args:
        import json

        used = json.loads(with_vars[-1])
        as_of = run_vars.get("as_of_date")
        if "as_of_date" in used:
            console.info(f"dbt var as_of_date: {used['as_of_date']} "
                         f"({'HAPPYCLIENT_AS_OF' if used['as_of_date'] == as_of else 'your --vars'})")
        if mapping_vars:
            console.info(f"dbt vars hc_*: the mapping {mapping_path()}")
        _say_vars(console, {k: v for k, v in used.items() if k != "as_of_date" and k not in mapping_vars})
    return subprocess.run([_bin("dbt"), *with_vars], cwd=PROJECT_ROOT / "dbt_project", env=env, check=False).returncode


def cmd_superset(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    server = _superset_server(settings)
    password, _ = settings.admin_password()
    if args.action == "init":
        with console.step("Superset: initialise metadata and admin user"):
            server.init(settings.superset_admin_user, password)  # type: ignore[attr-defined]
    elif args.action == "start":
        with console.step(f"Superset: start on {settings.superset_base_url}"):
            server.init(settings.superset_admin_user, password)  # type: ignore[attr-defined]
            server.start()  # type: ignore[attr-defined]
    elif args.action == "stop":
        server.stop()  # type: ignore[attr-defined]
        console.line("Superset stopped")
    elif args.action == "sync":
        from hc_superset.sync import import_assets

        warehouse = _warehouse(settings, console)
        with console.step("Superset: import superset_assets/"):
            report = import_assets(
                settings.superset_base_url,
                settings.superset_admin_user,
                password,
                PROJECT_ROOT / "superset_assets",
                warehouse.url,
            )
            console.info(str(report))
    elif args.action == "users":
        from hc_superset.security import create_roles_and_users

        warehouse = _warehouse(settings, console)
        with console.step("Superset: roles and users from the Bitrix24 users"):
            report = create_roles_and_users(
                settings.superset_base_url, settings.superset_admin_user, password, warehouse.url
            )
            console.info(str(report))
        if report.initial_passwords:
            path = write_initial_passwords(settings.data_dir, report.initial_passwords)
            console.line(
                f"{len(report.initial_passwords)} new users: their one-time passwords are in {path} (mode 0600, "
                "shown nowhere else); each user must set a new password at the first login. Hand them over, then delete the file"
            )
    else:
        from hc_superset.sync import export_assets

        with console.step("Superset: export into superset_assets/"):
            written = export_assets(
                settings.superset_base_url, settings.superset_admin_user, password, PROJECT_ROOT / "superset_assets"
            )
            console.info(f"{len(written)} files written")
    return 0


def write_initial_passwords(data_dir: Path, passwords: dict[str, str]) -> Path:
    """Write «username<TAB>password» lines to a new 0600 file in ``data_dir``; return its path."""
    from datetime import datetime

    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"superset-new-users-{datetime.now():%Y%m%d-%H%M%S}.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# Superset users created by `happyclient superset users`: one-time passwords (change at first login)\n")
        for username, pw in sorted(passwords.items()):
            fh.write(f"{username}\t{pw}\n")
    return path


def cmd_pipeline(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    warehouse = _warehouse(settings, console)
    options = apply_run_options(settings, args.compare, args.var or [])
    env = _pipeline_env(settings, warehouse.url, {**_demo_sources_env(settings, console), **options})
    _say_vars(console, {k: v for k, v in settings.run_dbt_vars().items() if k != "as_of_date"})
    _run_pipeline(settings, console, env, exclude_groups=("superset",) if args.no_superset else ())
    return 0


def cmd_push(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from ingestion.config import SourceSettings
    from ingestion.run import bitrix24_client
    from predictions.writeback import push_to_bitrix24

    warehouse = _warehouse(settings, console)
    dry_run = args.dry_run or not settings.writeback_enabled
    if not args.dry_run and not settings.writeback_enabled:
        console.warn("WRITEBACK_ENABLED is not true: running as a dry run")
    sources = SourceSettings.from_env({**os.environ, **_demo_sources_env(settings, console)})
    with console.step(f"write-back to Bitrix24 ({'dry run' if dry_run else 'live'})"):
        report = push_to_bitrix24(
            warehouse.url, bitrix24_client(sources, warehouse.url), dry_run=dry_run, log=console.info
        )
        console.info(str(report))
        if not report.ok:
            raise CliError(report.failure())
    return 0


def _start_ui(settings: Settings, env: dict[str, str]) -> str:
    proc = BackgroundProcess(DAGSTER_UI, settings.run_dir, settings.log_dir)
    from happyclient.pipeline import ensure_dagster_instance

    ensure_dagster_instance(settings.dagster_home)
    proc.start(
        [
            _bin("dagster-webserver"),
            "-m",
            "orchestration.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(settings.dagster_port),
        ],
        env={**os.environ, **env, "PYTHONPATH": str(PROJECT_ROOT)},
        cwd=PROJECT_ROOT,
    )
    url = f"http://127.0.0.1:{settings.dagster_port}"
    # print the address only once it answers (the webserver loads the code location first);
    # generous for a busy machine, and a process that dies is reported at once
    proc.wait_for_http(f"{url}/server_info", timeout=600)
    return url


def cmd_ui(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    warehouse = _warehouse(settings, console)
    url = _start_ui(settings, _pipeline_env(settings, warehouse.url, _demo_sources_env(settings, console)))
    console.line(f"Dagster UI: {url} (log: {settings.log_dir / (DAGSTER_UI + '.log')})")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    import threading

    from happyclient.demo import prepare_demo

    warehouse = _warehouse(settings, console)
    _, env = prepare_demo(settings, warehouse.url, clients=args.clients, seed=args.seed, console=console)
    password = env["SUPERSET_ADMIN_PASSWORD"]

    superset_error: list[BaseException] = []
    superset_thread: threading.Thread | None = None
    if not args.no_serve:
        server = _superset_server(settings)

        def start_superset() -> None:
            try:
                server.init(settings.superset_admin_user, password)  # type: ignore[attr-defined]
                server.start()  # type: ignore[attr-defined]
            except BaseException as exc:  # reported after the pipeline
                superset_error.append(exc)

        console.line("==> Superset: initialising and starting in the background")
        superset_thread = threading.Thread(target=start_superset, daemon=True)
        superset_thread.start()

    try:
        _run_pipeline(settings, console, env, exclude_groups=("superset",))
    except BaseException as exc:
        # never leave Superset's metadata half-migrated: let its initialisation finish first
        if superset_thread is not None and superset_thread.is_alive():
            console.warn("waiting for the Superset initialisation to finish before exiting")
            superset_thread.join()
        if isinstance(exc, CliError):
            # the demo did not finish: say so last and exit 1, never «demo is running»
            raise CliError(demo_failed_message(exc)) from None
        raise
    if args.no_serve:
        console.line("pipeline finished (--no-serve: Superset and the Dagster UI were not started)")
        return 0

    assert superset_thread is not None
    with console.step("Superset: waiting for the server"):
        superset_thread.join()
        if superset_error:
            raise CliError(f"Superset did not start: {redact(superset_error[0])}")
    try:
        _run_pipeline(
            settings,
            console,
            env,
            exclude_groups=_groups_except(env, "superset"),
            title="Dagster: import dashboards into Superset",
        )
    except CliError as exc:
        raise CliError(demo_failed_message(exc)) from None
    with console.step("Dagster UI"):
        ui_url = _start_ui(settings, env)
    console.line("")
    console.line("Happy Client demo is running:")
    console.line(f"  Панель руководителя (Superset): {settings.superset_base_url}")
    console.line(f"  Dagster (pipeline, lineage):    {ui_url}")
    console.line(f"  Warehouse (PostgreSQL):         {redact(warehouse.url)}")
    console.line(f"  Superset login: {settings.superset_admin_user}")
    # the one place a secret is printed: the user needs this login
    print(f"  Superset password: {password}", flush=True)
    console.line("Stop everything with: happyclient stop")
    return 0


def demo_failed_message(error: CliError) -> str:
    """The demo's last words when the pipeline failed: what failed, where to look, how to stop."""
    return (
        f"{error}\nthe demo did NOT finish: the panel is not ready. Inspect the run with `happyclient ui` "
        "(Dagster), fix the cause and run the demo again; `happyclient stop` stops the servers started so far"
    )


def _groups_except(env: dict[str, str], keep: str) -> list[str]:
    from happyclient.pipeline import _environ

    with _environ(env):
        from orchestration.definitions import defs

        graph = defs.resolve_asset_graph()
        return sorted({graph.get(k).group_name for k in graph.get_all_asset_keys()} - {keep})


def cmd_stop(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from happyclient.demo import stop_fakes

    if BackgroundProcess(DAGSTER_UI, settings.run_dir, settings.log_dir).stop():
        console.line("Dagster UI stopped")
    try:
        server = _superset_server(settings)
        if server.is_running():  # type: ignore[attr-defined]
            server.stop()  # type: ignore[attr-defined]
            console.line("Superset stopped")
    except ImportError:
        pass
    for name in stop_fakes(settings):
        console.line(f"{name} stopped")
    warehouse = resolve_warehouse(settings)
    if warehouse.embedded is not None and warehouse.embedded.is_running():
        warehouse.stop()
        console.line("embedded PostgreSQL stopped")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from happyclient.demo import fake_processes

    warehouse = resolve_warehouse(settings)
    if warehouse.embedded is not None:
        state = "running" if warehouse.embedded.is_running() else "stopped"
        console.line(f"warehouse        {state:8} {warehouse.describe()}")
    else:
        console.line(f"warehouse        external {warehouse.describe()}")
    for name, proc in fake_processes(settings).items():
        pid = proc.pid()
        console.line(f"{name:16} {'running' if pid else 'stopped':8} {f'pid {pid}' if pid else ''}")
    try:
        running = _superset_server(settings).is_running()  # type: ignore[attr-defined]
        console.line(f"{'superset':16} {'running' if running else 'stopped':8} {settings.superset_base_url}")
    except ImportError:
        console.line("superset         unavailable (hc_superset not installed)")
    ui = BackgroundProcess(DAGSTER_UI, settings.run_dir, settings.log_dir).pid()
    console.line(f"{DAGSTER_UI:16} {'running' if ui else 'stopped':8} http://127.0.0.1:{settings.dagster_port}")
    return 0


# ------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    from happyclient.demo import DEFAULT_CLIENTS, DEFAULT_SEED

    parser = argparse.ArgumentParser(prog="happyclient", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    demo = sub.add_parser("demo", help="the whole product on demo data: pipeline, dashboards, UIs")
    demo.add_argument("--clients", type=int, default=DEFAULT_CLIENTS, help="demo size (default %(default)s)")
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED, help=argparse.SUPPRESS)
    demo.add_argument("--no-serve", action="store_true", help="run the pipeline only; start no Superset or UI")
    demo.set_defaults(func=cmd_demo)

    sub.add_parser("stop", help="stop everything `happyclient` started").set_defaults(func=cmd_stop)
    sub.add_parser("status", help="what is running").set_defaults(func=cmd_status)

    wh = sub.add_parser("warehouse", help="the warehouse PostgreSQL")
    wh.add_argument("action", choices=["start", "stop", "url"])
    wh.set_defaults(func=cmd_warehouse)

    gen = sub.add_parser("generate", help="generate the demo data set (cached by seed and size)")
    gen.add_argument("--clients", type=int, default=DEFAULT_CLIENTS)
    gen.add_argument("--seed", type=int, default=DEFAULT_SEED)
    gen.set_defaults(func=cmd_generate)

    fakes = sub.add_parser("fakes", help="fake Bitrix24 and 1C servers over the demo data")
    fakes.add_argument("action", choices=["start", "stop"])
    fakes.add_argument("--clients", type=int, default=DEFAULT_CLIENTS)
    fakes.add_argument("--seed", type=int, default=DEFAULT_SEED)
    fakes.set_defaults(func=cmd_fakes)

    ing = sub.add_parser("ingest", help="load one source (bitrix24, onec, files) or entity (bitrix24.deals)")
    ing.add_argument("target")
    ing.add_argument("--full-refresh", action="store_true", help="re-read everything, not only changes")
    ing.add_argument("--file", action="append", type=Path, metavar="PATH",
                     help="with a file kind (files.sales_lines): load this file as that kind, whatever its name")
    ing.set_defaults(func=cmd_ingest)

    dbt = sub.add_parser("dbt", help="run dbt against the warehouse: happyclient dbt build "
                                     "[--compare CURRENT:BASE] [--var KEY=VALUE]", add_help=False)
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)

    ss = sub.add_parser(
        "superset",
        help="Superset: init, start, stop, sync dashboards in, export them out, users (roles and users from Bitrix24)",
    )
    ss.add_argument("action", choices=["init", "start", "stop", "sync", "export", "users"])
    ss.set_defaults(func=cmd_superset)

    pipe = sub.add_parser("pipeline", help="run the Dagster job happyclient_pipeline in this process")
    pipe.add_argument("--no-superset", action="store_true", help="leave out the dashboard import")
    pipe.add_argument("--compare", metavar="CURRENT:BASE",
                      help="also compute the client-development marts for this pair of periods (grain custom): "
                           "2026-H2:2026-H1, 2026-07-01..2026-12-31:2026-01-01..2026-06-30, or all "
                           "(default $HAPPYCLIENT_COMPARE)")
    pipe.add_argument("--var", action="append", metavar="KEY=VALUE",
                      help="a dbt var for this run, e.g. --var abc_months=6 --var stability_base=previous "
                           "(docs/kpi_variables.md; over $HAPPYCLIENT_DBT_VARS)")
    pipe.set_defaults(func=cmd_pipeline)

    push = sub.add_parser("push", help="write results back to Bitrix24")
    push.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    push.set_defaults(func=cmd_push)

    sub.add_parser("ui", help="start the Dagster UI in the background").set_defaults(func=cmd_ui)

    from happyclient.connect import add_parser as add_connect_parser

    add_connect_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import logging

    from ingestion.config import SourceSettings

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        settings = Settings.from_env()
        # the connectors' settings: malformed values fail here, and their secrets are redacted from now on
        SourceSettings.from_env()
        return int(args.func(args, settings, console) or 0)
    except KeyboardInterrupt:
        console.line("interrupted")
        return 130
    except Exception as exc:  # one readable line instead of a traceback
        if os.environ.get("HAPPYCLIENT_DEBUG"):
            raise
        console.line(f"error: {redact(exc)}")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

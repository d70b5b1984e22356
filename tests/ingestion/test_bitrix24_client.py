"""Bitrix24Client against a scripted loopback server: retries, fatal errors, batch, fast export, OAuth."""
from __future__ import annotations

import logging
from typing import Any

import pytest

from ingestion.bitrix24.auth import MemoryTokenStore, OAuthAuth, WebhookAuth
from ingestion.bitrix24.client import Bitrix24Client
from ingestion.bitrix24.errors import Bitrix24Error, Bitrix24RetryExhausted
from ingestion.config import ConfigError

from .bitrix_handler import ListHandler, deal_rows
from .conftest import SECRET, fixture_json
from .scripted_server import Reply, ScriptedServer

SYSTEM = fixture_json("bitrix24/errors.system.json")
OK = {"result": [{"ID": "1"}], "total": 1, "time": {"start": 1.0}}
HTML = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


class Sleeper:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(url: str, **kw: Any) -> tuple[Bitrix24Client, Sleeper]:
    sleeper = Sleeper()
    options: dict[str, Any] = {"rate_per_s": 1000.0, "burst": 1000, "timeout_s": 15.0, "max_retries": 3,
                               "backoff_s": 0.01, "sleep": sleeper}
    options.update(kw)
    return Bitrix24Client(WebhookAuth(url), **options), sleeper


def assert_no_secret(text: str) -> None:
    assert SECRET not in text


def test_call_posts_json_and_returns_full_answer(server: ScriptedServer, webhook_url: str) -> None:
    answer = fixture_json("bitrix24/crm.deal.list.response.json")
    server.replies.append(Reply(200, answer))
    client, _ = make_client(webhook_url)
    got = client.call("crm.deal.list", {"filter": {">ID": 5}, "select": ["ID"]})
    assert got == answer
    request = server.seen[0]
    assert request.method == "POST" and request.path == f"/rest/1/{SECRET}/crm.deal.list"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"filter": {">ID": 5}, "select": ["ID"]}


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (503, SYSTEM["503_QUERY_LIMIT_EXCEEDED"], "application/json"),
        (503, {"error": "OVERLOAD_LIMIT", "error_description": "overload"}, "application/json"),
        (500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}, "application/json"),
        (502, HTML, "text/html"),
        (200, HTML, "text/html"),
    ],
    ids=["503-query-limit", "503-overload", "500", "html-502", "html-200"],
)
def test_transient_errors_are_retried(server: ScriptedServer, webhook_url: str, status: int, body: Any,
                                      content_type: str) -> None:
    server.replies += [Reply(status, body, content_type), Reply(status, body, content_type), Reply(200, OK)]
    client, sleeper = make_client(webhook_url)
    assert client.call("crm.deal.list")["result"] == [{"ID": "1"}]
    assert len(server.seen) == 3
    assert len(sleeper.calls) >= 2  # two backoffs (plus possibly rate-limit waits)


def test_operation_time_limit_waits_until_reset(server: ScriptedServer, webhook_url: str) -> None:
    body = dict(SYSTEM["429_OPERATION_TIME_LIMIT"])
    body["time"] = {"operating_reset_at": 1_000_030, "operating": 481.0}
    server.replies += [Reply(429, body), Reply(200, OK)]
    client, sleeper = make_client(webhook_url, clock=lambda: 1_000_000.0)
    client.call("crm.deal.list")
    assert len(server.seen) == 2
    assert sleeper.calls[-1] == pytest.approx(30.5)  # reset in 30 s, plus half a second margin


def test_timeout_and_dropped_connection_are_retried(server: ScriptedServer, webhook_url: str) -> None:
    server.replies += [Reply(200, OK, delay_s=1.0), Reply(drop=True), Reply(200, OK)]
    client, _ = make_client(webhook_url, timeout_s=0.3)
    assert client.call("crm.deal.list")["total"] == 1
    assert len(server.seen) == 3


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (401, SYSTEM["401_NO_AUTH_FOUND"], "NO_AUTH_FOUND"),
        (403, SYSTEM["403_insufficient_scope"], "insufficient_scope"),
        (400, fixture_json("bitrix24/crm.deal.list.error_400.json"), ""),
        (400, fixture_json("bitrix24/crm.item.list.error_400.json"), "INVALID_ARG_VALUE"),
    ],
    ids=["401", "403", "400-empty-code", "400-coded"],
)
def test_client_errors_are_not_retried_and_hide_the_secret(
    server: ScriptedServer, webhook_url: str, status: int, body: Any, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    # the server echoes the webhook URL in its description: it must still not leak
    leaky = dict(body)
    leaky["error_description"] = f"{body['error_description']} (called {webhook_url}crm.deal.list)"
    server.replies.append(Reply(status, leaky))
    client, sleeper = make_client(webhook_url)
    with caplog.at_level(logging.DEBUG), pytest.raises(Bitrix24Error) as caught:
        client.call("crm.deal.list", {"filter": "x"})
    err = caught.value
    assert not isinstance(err, Bitrix24RetryExhausted)
    assert (err.code, err.http_status, err.method) == (code, status, "crm.deal.list")
    assert len(server.seen) == 1 and sleeper.calls == []
    for text in (str(err), repr(err), repr(err.args), err.description, caplog.text):
        assert_no_secret(text)
    if code == "":
        assert "(no error code)" in str(err) and "Parameter 'filter' must be array." in str(err)


def test_retries_exhausted_raise_without_secret(
    server: ScriptedServer, webhook_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.handler = lambda seen: Reply(503, SYSTEM["503_QUERY_LIMIT_EXCEEDED"])
    client, _ = make_client(webhook_url, max_retries=2)
    with caplog.at_level(logging.DEBUG), pytest.raises(Bitrix24RetryExhausted) as caught:
        client.call("crm.deal.list")
    assert caught.value.code == "QUERY_LIMIT_EXCEEDED" and caught.value.http_status == 503
    assert len(server.seen) == 3  # first try + 2 retries
    assert "retry 1/2" in caplog.text
    assert_no_secret(str(caught.value) + caplog.text)


def test_connection_refused_error_hides_secret() -> None:
    url = f"http://127.0.0.1:9/rest/1/{SECRET}/"
    client, _ = make_client(url, max_retries=1, timeout_s=0.5)
    with pytest.raises(Bitrix24RetryExhausted) as caught:
        client.call("crm.deal.list")
    # changed with issue 14 (LOW): the cause and the host are named
    assert caught.value.code == "CONNECTION_REFUSED"
    assert "connection refused by 127.0.0.1:9" in str(caught.value) and "no HTTP answer" in str(caught.value)
    assert_no_secret(str(caught.value))


def test_configuration_errors_fail_fast_naming_cause_and_host() -> None:
    """Issue 14 (LOW): a host that does not resolve is not retried 8 times; the message names the
    cause and the host, never the webhook secret."""
    client, sleeper = make_client(f"http://nonexistent-host.invalid/rest/1/{SECRET}/", max_retries=8)
    with pytest.raises(Bitrix24Error) as caught:
        client.call("crm.deal.list")
    assert not isinstance(caught.value, Bitrix24RetryExhausted) and caught.value.code == "HOST_NOT_FOUND"
    assert client.requests_sent == 1 and client.retries == 0
    text = str(caught.value)
    assert "cannot resolve the host name nonexistent-host.invalid" in text and "no HTTP answer" in text
    assert "inside batch" not in text
    assert_no_secret(text)
    for bad, problem in [(f"http://127.0.0.1:99999/rest/1/{SECRET}/", "port"),
                         (f"https:///rest/1/{SECRET}/", "no host name"),
                         (f"portal.example.ru/rest/1/{SECRET}/", "http:// or https://")]:
        with pytest.raises(ConfigError, match=problem) as refused:
            WebhookAuth(bad)
        assert_no_secret(str(refused.value))


def test_batch_builds_php_commands_and_surfaces_errors(server: ScriptedServer, webhook_url: str) -> None:
    server.replies.append(Reply(200, fixture_json("bitrix24/batch.error_halt0.json")))
    client, _ = make_client(webhook_url)
    result = client.batch({"get_user": ("user.get", {"ID": 1}), "get_department": ("department.get", {"ID": [1, 2]})})
    sent = server.seen[0].json()
    assert sent == {"halt": 0, "cmd": {"get_user": "user.get?ID=1",
                                       "get_department": "department.get?ID%5B0%5D=1&ID%5B1%5D=2"}}
    assert result.errors["get_department"].code == "insufficient_scope"
    assert "department.get" in str(result.errors["get_department"])
    with pytest.raises(ValueError, match="at most 50"):
        client.batch({f"c{i}": ("user.get", None) for i in range(51)})


def ids_of(rows: list[dict[str, Any]]) -> list[int]:
    return [int(r["ID"]) for r in rows]


def test_list_all_small_table_costs_one_request(server: ScriptedServer, webhook_url: str) -> None:
    handler = ListHandler(deal_rows(49))
    server.handler = handler
    client, _ = make_client(webhook_url)
    assert ids_of(list(client.list_all("crm.deal.list"))) == list(range(1, 50))
    assert len(server.seen) == 1 and handler.batches == 0


def test_list_all_fast_mode_reads_every_row_once(server: ScriptedServer, webhook_url: str) -> None:
    rows = deal_rows(5000, start_id=10, step=3) + deal_rows(3000, start_id=20_000, step=1)  # sparse, then dense
    handler = ListHandler(rows)
    server.handler = handler
    client, _ = make_client(webhook_url, concurrency=1)  # one batch in flight: a deterministic plan
    got = ids_of(list(client.list_all("crm.deal.list", {"select": ["TITLE"]})))
    assert sorted(got) == ids_of(rows) and len(got) == len(set(got))
    assert max(handler.widths) == 50  # the range is split into 50 parallel streams
    # 8,000 rows = 160 full pages; the streams' short last pages cost some extra commands
    assert handler.batches <= 10 and sum(handler.widths) <= 250 and len(server.seen) <= handler.batches + 3
    assert handler.commands[0]["select[1]"] == "ID" and handler.commands[0]["order[ID]"] == "ASC"
    assert handler.commands[1]["order[ID]"] == "DESC"  # the highest ID bounds the streams


def test_list_all_with_two_batches_in_flight(server: ScriptedServer, webhook_url: str) -> None:
    rows = deal_rows(6000, start_id=5, step=2)
    handler = ListHandler(rows)
    server.handler = handler
    client, _ = make_client(webhook_url, concurrency=2)
    got = ids_of(list(client.list_all("crm.deal.list")))
    assert sorted(got) == ids_of(rows) and len(got) == len(set(got))
    assert sum(handler.widths) <= 2 * 120  # 120 full pages; never more than twice that many commands


def test_list_all_picks_up_rows_created_or_deleted_during_export(server: ScriptedServer, webhook_url: str) -> None:
    rows = deal_rows(1000)

    def mutate(batch: int, handler: ListHandler) -> None:
        if batch == 1:
            handler.rows.append({"ID": "5000", "TITLE": "new"})
            handler.rows[:] = [r for r in handler.rows if r["ID"] != "900"]  # deleted mid-export

    server.handler = ListHandler(rows, after_batch=mutate)
    client, _ = make_client(webhook_url)
    got = ids_of(list(client.list_all("crm.deal.list")))
    assert len(got) == len(set(got))
    assert 5000 in got and set(range(1, 900)) <= set(got)


def test_list_all_continues_from_filter_cursor(server: ScriptedServer, webhook_url: str) -> None:
    server.handler = ListHandler(deal_rows(300))
    client, _ = make_client(webhook_url)
    got = ids_of(list(client.list_all("crm.deal.list", {"filter": {">ID": 120}})))
    assert sorted(got) == list(range(121, 301))


def test_list_all_retries_transient_command_error(server: ScriptedServer, webhook_url: str) -> None:
    handler = ListHandler(deal_rows(3000), command_errors={1: {"s1": "OPERATION_TIME_LIMIT"}, 2: {"s0": "QUERY_LIMIT_EXCEEDED"}})
    server.handler = handler
    client, _ = make_client(webhook_url)
    got = ids_of(list(client.list_all("crm.deal.list")))
    assert sorted(got) == list(range(1, 3001)) and len(got) == 3000


def test_list_all_raises_naming_the_failing_command(server: ScriptedServer, webhook_url: str) -> None:
    server.handler = ListHandler(deal_rows(3000), command_errors={1: {"s1": "ACCESS_DENIED"}})
    client, _ = make_client(webhook_url)
    with pytest.raises(Bitrix24Error) as caught:
        list(client.list_all("crm.deal.list"))
    assert caught.value.code == "ACCESS_DENIED"
    assert "crm.deal.list (batch command s1)" in str(caught.value)
    assert_no_secret(str(caught.value))


def test_oauth_refreshes_on_expired_token_and_stores_rotated_token(server: ScriptedServer) -> None:
    refresh = fixture_json("bitrix24/oauth.token.refresh.response.json")
    second = dict(refresh, access_token="acc2acc2acc2", refresh_token="ref3ref3ref3")

    def handler(seen: Any) -> Reply:
        if seen.path.startswith("/oauth/token/"):
            return Reply(200, refresh if sum(s.path.startswith("/oauth/") for s in server.seen) == 1 else second)
        token = seen.json().get("auth")
        if token == refresh["access_token"]:
            return Reply(401, SYSTEM["401_expired_token"])
        return Reply(200, {"result": {"ok": token}, "time": {}})

    server.handler = handler
    store = MemoryTokenStore()
    auth = OAuthAuth(server.url, "app.123", "clientsecret99", "ref1ref1ref1", store)
    client = Bitrix24Client(auth, rate_per_s=1000, burst=1000, timeout_s=15.0, backoff_s=0.01)
    assert client.call("crm.deal.list")["result"] == {"ok": "acc2acc2acc2"}
    oauth_calls = [s.path for s in server.seen if s.path.startswith("/oauth/")]
    assert len(oauth_calls) == 2
    assert "refresh_token=ref1ref1ref1" in oauth_calls[0]
    assert f"refresh_token={refresh['refresh_token']}" in oauth_calls[1]
    assert store.tokens == {server.url: "ref3ref3ref3"}
    assert "clientsecret99" not in repr(auth) and "ref3" not in repr(auth)
    # a later run starts from the stored (rotated) token, not the one in the environment
    assert OAuthAuth(server.url, "app.123", "clientsecret99", "ref1ref1ref1", store).refresh_token == "ref3ref3ref3"


def test_oauth_refresh_failure_is_a_clear_error(server: ScriptedServer) -> None:
    server.replies.append(Reply(400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}))
    auth = OAuthAuth(server.url, "app.123", "clientsecret99", "badrefresh123", MemoryTokenStore())
    client = Bitrix24Client(auth, rate_per_s=1000, burst=1000, timeout_s=15.0)
    with pytest.raises(Bitrix24Error) as caught:
        client.call("crm.deal.list")
    assert caught.value.code == "invalid_grant" and "BITRIX24_REFRESH_TOKEN" in str(caught.value)
    assert "clientsecret99" not in str(caught.value) and "badrefresh123" not in str(caught.value)


def test_get_many_batches_and_retries_transient_commands(server: ScriptedServer, webhook_url: str) -> None:
    failed_once: set[str] = set()

    def handler(seen: Any) -> Reply:
        from urllib.parse import parse_qsl

        result: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for key, cmd in seen.json()["cmd"].items():
            deal_id = dict(parse_qsl(cmd.partition("?")[2]))["id"]
            if deal_id == "7" and deal_id not in failed_once:
                failed_once.add(deal_id)
                errors[key] = {"error": "OPERATION_TIME_LIMIT", "error_description": "blocked"}
                continue
            result[key] = [{"ID": f"{deal_id}00", "OWNER_ID": deal_id}]
        return Reply(200, {"result": {"result": result or [], "result_error": errors or [], "result_total": [],
                                      "result_next": [], "result_time": []}, "time": {}})

    server.handler = handler
    client, sleeper = make_client(webhook_url)
    got = dict(client.get_many("crm.deal.productrows.get", {str(i): {"id": i} for i in range(1, 121)}))
    assert sorted(got, key=int) == [str(i) for i in range(1, 121)]
    assert got["7"] == [{"ID": "700", "OWNER_ID": "7"}]
    # 50 + 50 + 20 commands; the retried one rides with the last 20 or goes alone, by timing
    assert len(server.seen) in (3, 4)
    assert sum('"k7"' in seen.body.decode() for seen in server.seen) == 2
    assert len(sleeper.calls) >= 1
    server.handler = lambda seen: Reply(200, {"result": {"result": [], "result_error": {
        key: {"error": "", "error_description": "Not found"} for key in seen.json()["cmd"]}}, "time": {}})
    with pytest.raises(Bitrix24Error, match="crm.deal.productrows.get \\(batch command k1\\): \\(no error code\\): Not found"):
        list(client.get_many("crm.deal.productrows.get", {"1": {"id": 1}}))

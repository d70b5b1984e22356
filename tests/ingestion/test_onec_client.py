"""OneCClient against a scripted server and the real 1C answers in tests/fixtures/sources/onec."""
from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from ingestion.config import ConfigError
from ingestion.onec.client import OneCClient, OneCError, parse_odata_error, parse_odata_page

from .conftest import FIXTURES, fixture_json
from .scripted_server import Reply, ScriptedServer

PASSWORD = "Пароль-123-секрет"
USER = "Администратор"
ERRORS = fixture_json("onec/odata_error_examples.json")


def make(server: ScriptedServer, **kw: Any) -> OneCClient:
    options: dict[str, Any] = {"timeout_s": 2.0, "max_retries": 2, "page_size": 2, "sleep": lambda s: None}
    options.update(kw)
    return OneCClient(f"{server.url}demo/odata/standard.odata", USER, PASSWORD, **options)


@pytest.mark.parametrize("path", sorted((FIXTURES / "onec").glob("*.json")), ids=lambda p: p.name)
def test_every_onec_fixture_parses(path: Path) -> None:
    body = fixture_json(f"onec/{path.name}")
    if path.name == "odata_error_examples.json":
        for value in body.values():  # type: ignore[union-attr]
            if isinstance(value, dict) and "odata.error" in value:
                code, message = parse_odata_error(value)  # type: ignore[misc]
                assert code and message
                with pytest.raises(OneCError) as caught:
                    parse_odata_page(value, "Catalog_X")
                assert caught.value.code == code
        return
    records = parse_odata_page(body, "Catalog_X")
    assert records and all("Ref_Key" in r for r in records)
    if "tabular_part" in path.name:
        assert records[0]["Товары"][0]["LineNumber"] == "1"


def test_get_entity_pages_by_key_encodes_and_authenticates(server: ScriptedServer) -> None:
    # Changed with issue 14 (3b): pages follow the key (`Ref_Key gt guid'<last>'`), not `$skip`.
    rows = [{"Ref_Key": f"0000000{i}-0000-0000-0000-000000000000", "Description": f"Контрагент {i}"} for i in range(5)]

    def answer(seen: Any) -> Reply:
        flt = parse_qs(urlsplit(seen.path).query)["$filter"][0]
        after = flt.split("Ref_Key gt guid'")[1].rstrip("'") if "Ref_Key gt" in flt else ""
        return Reply(200, {"odata.metadata": "x", "value": [r for r in rows if r["Ref_Key"] > after][:2]})

    server.handler = answer
    client = make(server)
    got = list(client.get_entity("Catalog_Контрагенты", filter="DeletionMark eq false", select=["Ref_Key", "Description"]))
    assert got == rows
    assert len(server.seen) == 3  # 2 + 2 + 1 (short page ends)
    first = server.seen[0]
    raw_path, _, raw_query = first.path.partition("?")
    assert raw_path == "/demo/odata/standard.odata/Catalog_%D0%9A%D0%BE%D0%BD%D1%82%D1%80%D0%B0%D0%B3%D0%B5%D0%BD%D1%82%D1%8B"
    assert raw_query.isascii()
    query = {k: v[0] for k, v in parse_qs(raw_query).items()}
    assert query == {"$format": "json", "$top": "2", "$orderby": "Ref_Key",
                     "$filter": "DeletionMark eq false", "$select": "Ref_Key,Description"}
    later = [{k: v[0] for k, v in parse_qs(urlsplit(s.path).query).items()} for s in server.seen[1:]]
    assert [q["$filter"] for q in later] == [
        f"(DeletionMark eq false) and Ref_Key gt guid'{rows[1]['Ref_Key']}'",
        f"(DeletionMark eq false) and Ref_Key gt guid'{rows[3]['Ref_Key']}'",
    ]
    assert all("$skip" not in q for q in later)
    token = first.headers["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(token).decode("utf-8") == f"{USER}:{PASSWORD}"
    assert unquote(raw_path).endswith("Catalog_Контрагенты")


def test_key_paging_refuses_a_server_that_repeats_records(server: ScriptedServer) -> None:
    """A server whose `gt` does not follow its `$orderby` would loop forever: stop and say so."""
    server.handler = lambda seen: Reply(200, {"value": [{"Ref_Key": "a"}, {"Ref_Key": "b"}]})
    with pytest.raises(OneCError, match="returned a twice"):
        list(make(server).get_entity("Catalog_Номенклатура"))
    assert len(server.seen) == 2


@pytest.mark.parametrize(("status", "key", "code"), [(400, None, "14"), (404, None, "9"), (400, None, "6")])
def test_client_errors_not_retried(server: ScriptedServer, status: int, key: str | None, code: str,
                                   caplog: pytest.LogCaptureFixture) -> None:
    message = f"ошибка {code}; password={PASSWORD}"
    server.replies.append(Reply(status, {"odata.error": {"code": code, "message": {"lang": "ru", "value": message}}}))
    with caplog.at_level(logging.DEBUG), pytest.raises(OneCError) as caught:
        list(make(server).get_entity("Document_РеализацияТоваровУслуг", filter="Date ge datetime'x'"))
    err = caught.value
    assert (err.code, err.http_status, err.entity) == (code, status, "Document_РеализацияТоваровУслуг")
    assert len(server.seen) == 1
    assert PASSWORD not in str(err) + repr(err.args) + caplog.text


def test_server_errors_and_html_are_retried(server: ScriptedServer) -> None:
    server.replies += [Reply(500, ERRORS["internal_500"]), Reply(503, "<html>busy</html>", "text/html"),
                       Reply(200, {"value": [{"Ref_Key": "a"}]})]
    assert list(make(server).get_entity("Catalog_Номенклатура")) == [{"Ref_Key": "a"}]
    assert len(server.seen) == 3


def test_retries_exhausted_raise_with_code(server: ScriptedServer) -> None:
    server.handler = lambda seen: Reply(500, ERRORS["internal_500"])
    with pytest.raises(OneCError) as caught:
        list(make(server).get_entity("Catalog_Номенклатура"))
    assert caught.value.code == "-1" and "technology log" in str(caught.value)
    assert len(server.seen) == 3


def test_timeout_retried_and_401_explained(server: ScriptedServer) -> None:
    server.replies += [Reply(200, {"value": []}, delay_s=0.8), Reply(200, {"value": [{"Ref_Key": "b"}]})]
    assert list(make(server, timeout_s=0.3).get_entity("Catalog_Партнеры")) == [{"Ref_Key": "b"}]
    server.replies.append(Reply(401, "Unauthorized", "text/plain"))
    with pytest.raises(OneCError, match="ONEC_USER / ONEC_PASSWORD"):
        list(make(server).get_entity("Catalog_Партнеры"))
    client = make(server)
    assert PASSWORD not in repr(client)


def test_configuration_errors_fail_fast_naming_cause_and_host() -> None:
    """Issue 14 (LOW): a host that does not resolve or a malformed URL is not retried; the message
    names the cause and the host, never the password."""
    client = OneCClient("http://nonexistent-host.invalid/demo/odata/standard.odata/", USER, PASSWORD,
                        max_retries=5, sleep=lambda s: None)
    with pytest.raises(OneCError) as caught:
        list(client.get_entity("Catalog_Номенклатура"))
    assert caught.value.code == "HOST_NOT_FOUND" and client.requests_sent == 1
    text = str(caught.value)
    assert "cannot resolve the host name nonexistent-host.invalid" in text and "ONEC_ODATA_URL" in text
    assert PASSWORD not in text
    for bad, problem in [("localhost:8080/demo/odata/standard.odata", "http:// or https://"),
                         ("http://1c server/demo/odata/standard.odata", "white space"),
                         ("http://127.0.0.1:0/demo/odata/standard.odata", "port")]:
        with pytest.raises(ConfigError, match=f"ONEC_ODATA_URL is not a valid URL: .*{problem}"):
            OneCClient(bad, USER, PASSWORD)



def test_one_retry_loop_for_both_clients(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 11 (item 6): `with_retries` is the retry loop of the Bitrix24 and the 1C client."""
    import inspect

    from ingestion.bitrix24.client import Bitrix24Client
    from ingestion.http_retry import Retry, with_retries

    slept: list[float] = []
    answers = iter([Retry(OneCError("-1", "internal", "X", 500)), Retry(OneCError("", "busy", "X", 503), 7.5), "ok"])

    def attempt() -> str:
        answer = next(answers)
        if isinstance(answer, Retry):
            raise answer
        return answer

    with caplog.at_level(logging.WARNING):
        assert with_retries(attempt, label="1C X", max_retries=2, backoff_s=1.0, sleep=slept.append) == "ok"
    assert len(slept) == 2 and 0.75 <= slept[0] <= 1.25 and slept[1] == 7.5  # backoff, then the server's wait
    assert "1C X: " in caplog.text and "retry 2/2 in 7.5 s" in caplog.text
    with pytest.raises(OneCError, match="internal"):
        with_retries(lambda: (_ for _ in ()).throw(Retry(OneCError("-1", "internal", "X", 500))),
                     label="1C X", max_retries=1, backoff_s=0.0, sleep=slept.append)
    for method in (OneCClient.get_page, Bitrix24Client.call):
        assert "with_retries(" in inspect.getsource(method)

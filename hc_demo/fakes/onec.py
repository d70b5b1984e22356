"""A faithful fake of 1C:Enterprise's standard OData v3 interface, serving demo data.

Base URL `http://host:port/<publication>/odata/standard.odata/`. HTTP Basic auth (UTF-8
login), Atom XML by default and JSON with `$format=json` or `Accept: application/json`,
`$top/$skip/$orderby/$filter/$select/$inlinecount`, entity by key `Entity(guid'…')`,
tabular parts as their own entity sets (`Document_X_Товары`), `$metadata`, and 1C's error
bodies (`odata.error` with codes 6, 9, 14, -1). References sort and compare in 1C's storage
order, so paging by key (`$orderby=Ref_Key`, `Ref_Key gt guid'…'`) behaves as on a real base;
`delete()` and `after_answer` let tests change the data while it is being read.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

from hc_demo.fakes.faults import HTML_ERROR_PAGE, Fault, FaultQueue
from hc_demo.fakes.loopback_server import FakeRequestHandler, LoopbackServer, ServedOnLoopback, serve_until_interrupted
from hc_demo.fakes.odata_query import ODataQueryError, parse_filter, parse_orderby, reference_order
from hc_demo.fakes.onec_store import INDEX_FIELDS, EntityRows, OneCStore, TabularRows

_REFERENCE_ORDER = re.compile(r"_Key\s+(?:gt|ge|lt|le)\s+guid'")
_KEY_SEGMENT = re.compile(r"^(?P<entity>[^(]+)\(guid'(?P<key>[0-9a-fA-F-]{36})'\)$")
MESSAGES = {
    "6": "Сегмент пути не найден",
    "9": "Экземпляр сущности не найден",
    "14": "Ошибка при разборе опции запроса $filter",
    "-1": "Произошла внутренняя ошибка OData сервиса. Дополнительные сведения можно найти в технологическом журнале.",
}


class ODataError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"odata.error": {"code": self.code, "message": {"lang": "ru", "value": self.message}}}


class FakeOneC(ServedOnLoopback):
    _thread_name = "fake-1c"

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        publication: str = "demo",
        user: str = "Администратор",
        password: str | None = None,
        first_request_delay_s: float = 0.0,
        reference_comparisons: bool = True,
    ) -> None:
        data_dir = Path(data_dir)
        if (data_dir / "onec").is_dir():
            data_dir = data_dir / "onec"
        if not data_dir.is_dir():
            raise FileNotFoundError(f"1C demo data directory not found: {data_dir}")
        # Loading a million-line demo takes a while: do it in the background so the server can
        # listen at once; requests wait for it, like a real base's slow first answer.
        self._store: OneCStore | None = None
        self._load_error: BaseException | None = None
        self._loaded = threading.Event()
        threading.Thread(target=self._load, args=(data_dir,), name="fake-1c-load", daemon=True).start()
        self.host = host
        self._port = port
        self.publication = publication
        self.user = user
        self.password = password if password is not None else secrets.token_hex(8)
        self.first_request_delay_s = first_request_delay_s
        # False: answer `<ref> gt|ge|lt|le guid'…'` with error 14, as a server that only
        # compares references for equality would (tests of the client's $skip fallback)
        self.reference_comparisons = reference_comparisons
        self._first_done = False
        self.faults = FaultQueue()
        self.requests_log: list[tuple[str, int, float]] = []
        # called after each answer with (entity, query options): tests change the data mid-read
        self.after_answer: Callable[[str, dict[str, str]], None] | None = None
        self.lock = threading.Lock()
        self._server: LoopbackServer | None = None

    def _load(self, data_dir: Path) -> None:
        try:
            self._store = OneCStore(data_dir)
        except BaseException as e:  # re-raised to every request and to wait_loaded()
            self._load_error = e
        finally:
            self._loaded.set()

    def wait_loaded(self, timeout: float | None = None) -> None:
        """Block until the data is in memory; raises what loading raised."""
        if not self._loaded.wait(timeout):
            raise TimeoutError(f"1C demo data not loaded after {timeout} s")
        if self._load_error is not None:
            raise RuntimeError(f"loading 1C demo data failed: {self._load_error}") from self._load_error

    @property
    def store(self) -> OneCStore:
        self.wait_loaded()
        assert self._store is not None
        return self._store

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/{self.publication}/odata/standard.odata/"

    def inject(self, kind: str, count: int = 1, entity: str | None = None, delay_s: float = 5.0) -> None:
        """Make the next `count` requests (for `entity`, or any) fail: "500" (code -1), "html"
        (502 page), "slow" (answer after `delay_s`), "timeout", "drop", "overload" (503)."""
        self.faults.add(kind, count, entity, delay_s)

    def delete(self, entity: str, keys: Iterable[str]) -> int:
        """Delete records physically, as 1C does when a marked object is purged (their tabular
        lines go with them); returns how many were found."""
        rows = self.store.get(entity)
        if not isinstance(rows, EntityRows):
            raise KeyError(f"{entity} is not an entity set with keys")
        with self.lock:
            return rows.delete({k.lower() for k in keys})

    # -- query -------------------------------------------------------------------------------
    def query(
        self, entity: str, key: str | None, options: dict[str, str]
    ) -> tuple[EntityRows | TabularRows, list[int], int | None]:
        """(the entity's rows, positions of the answer's rows in order, inline count or None)."""
        rows = self.store.get(entity)
        if rows is None:
            raise ODataError(400, "6", f"Сегмент пути {entity} не найден")
        fields = rows.fields
        if options.get("$select"):
            self._check_select(options["$select"], fields)
        if key is not None:
            for i, indexed in enumerate(rows.index):  # tabular parts have no single-GUID key: empty index
                if str(indexed.get("Ref_Key", "")).lower() == key.lower() and not rows.is_deleted(i):
                    return rows, [i], None
            raise ODataError(404, "9", MESSAGES["9"])
        if not self.reference_comparisons and _REFERENCE_ORDER.search(options.get("$filter") or ""):
            raise ODataError(400, "14", f"{MESSAGES['14']}: сравнение ссылок на больше/меньше не поддерживается")
        try:
            referenced: set[str] = set()
            predicate = parse_filter(options["$filter"], fields, referenced) if options.get("$filter") else None
            order = parse_orderby(options["$orderby"], fields) if options.get("$orderby") else []
        except ODataQueryError as e:
            raise ODataError(400, e.code, str(e)) from None
        referenced.update(f for f, _ in order)
        indexed_only = rows.indexed and referenced <= set(INDEX_FIELDS)

        def record(i: int) -> dict[str, Any]:
            return rows.index[i] if indexed_only else rows.full(i)

        found = [i for i in range(len(rows)) if not rows.is_deleted(i)]
        if predicate is not None:
            found = [i for i in found if predicate(record(i))]
        for field, desc in reversed(order):
            found.sort(
                key=lambda i, f=field: (record(i).get(f) is None, reference_order(record(i).get(f))), reverse=desc
            )
        count = len(found) if options.get("$inlinecount") == "allpages" else None
        skip = self._int(options, "$skip")
        top = self._int(options, "$top")
        return rows, (found[skip:] if top is None else found[skip : skip + top]), count

    @staticmethod
    def _int(options: dict[str, str], name: str) -> Any:
        if name not in options:
            return 0 if name == "$skip" else None
        try:
            value = int(options[name])
        except ValueError:
            raise ODataError(400, "14", f"Ошибка при разборе опции запроса {name}") from None
        if value < 0:
            raise ODataError(400, "14", f"Ошибка при разборе опции запроса {name}")
        return value

    @staticmethod
    def _check_select(select: str, fields: set[str]) -> None:
        for name in (s.strip() for s in select.split(",")):
            if name and name != "*" and name not in fields:
                raise ODataError(400, "6", f"Сегмент пути {name} не найден")

    @staticmethod
    def select(row: dict[str, Any], select: str | None) -> dict[str, Any]:
        wanted = [s.strip() for s in (select or "").split(",") if s.strip()]
        if not wanted or "*" in wanted:
            return row
        return {k: row[k] for k in wanted if k in row}

    def metadata_xml(self) -> str:
        names = self.store.names()
        sets = "".join(f'<EntitySet Name="{escape(n)}" EntityType="StandardODATA.{escape(n)}"/>' for n in names)
        types = []
        for name in names:
            fields = self.store.fields(name)
            props = "".join(f'<Property Name="{escape(f)}" Type="Edm.String" Nullable="true"/>' for f in sorted(fields))
            key = '<Key><PropertyRef Name="Ref_Key"/></Key>' if "Ref_Key" in fields else ""
            types.append(f'<EntityType Name="{escape(name)}">{key}{props}</EntityType>')
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0">'
            '<edmx:DataServices xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
            'm:DataServiceVersion="3.0"><Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" '
            f'Namespace="StandardODATA">{"".join(types)}<EntityContainer Name="EnterpriseV8" '
            f'm:IsDefaultEntityContainer="true">{sets}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>'
        )


def _xml_value(name: str, value: Any) -> str:
    tag = f"d:{escape(name)}"
    if value is None:
        return f'<{tag} m:null="true"/>'
    if isinstance(value, bool):
        return f'<{tag} m:type="Edm.Boolean">{"true" if value else "false"}</{tag}>'
    if isinstance(value, int | float):
        return f'<{tag} m:type="Edm.Double">{value}</{tag}>'
    if isinstance(value, list):
        items = "".join(
            "<d:element>" + "".join(_xml_value(k, v) for k, v in item.items()) + "</d:element>"
            if isinstance(item, dict)
            else f"<d:element>{escape(str(item))}</d:element>"
            for item in value
        )
        return f"<{tag}>{items}</{tag}>"
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(_xml_value(k, v) for k, v in value.items()) + f"</{tag}>"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def atom_feed(base: str, entity: str, rows: list[dict[str, Any]], count: int | None) -> str:
    updated = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = []
    for row in rows:
        key = row.get("Ref_Key")
        ident = f"{base}{entity}(guid'{key}')" if key else f"{base}{entity}"
        props = "".join(_xml_value(k, v) for k, v in row.items())
        entries.append(
            f'<entry><id>{escape(ident)}</id><category term="StandardODATA.{escape(entity)}" '
            'scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"/>'
            f'<title type="text"/><updated>{updated}</updated><author/>'
            f'<content type="application/xml"><m:properties>{props}</m:properties></content></entry>'
        )
    count_xml = f"<m:count>{count}</m:count>" if count is not None else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
        'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
        f'xml:base="{escape(base)}"><id>{escape(base + entity)}</id><title type="text">{escape(entity)}</title>'
        f"<updated>{updated}</updated><author/>{count_xml}{''.join(entries)}</feed>"
    )


class _Handler(FakeRequestHandler):
    owner: FakeOneC
    server_version = "Apache/2.4"

    def _send(self, status: int, body: str, content_type: str, extra: dict[str, str] | None = None) -> None:
        self._send_bytes(status, body.encode("utf-8"), content_type, extra)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        return user == self.owner.user and secrets.compare_digest(password.encode(), self.owner.password.encode())

    def log_request_entry(self, status: int) -> tuple[str, int, float]:
        return (self._entity, status, time.time())

    def _fault(self, fault: Fault) -> bool:
        ended = self._fault_transport(fault)
        if ended is not None:
            return ended
        if fault.kind == "html":
            self._send(502, HTML_ERROR_PAGE.format(status=502), "text/html")
        elif fault.kind == "overload":
            self._send(503, HTML_ERROR_PAGE.format(status=503), "text/html")
        else:
            self._send(
                500,
                json.dumps(ODataError(500, "-1", MESSAGES["-1"]).body(), ensure_ascii=False),
                "application/json;charset=utf-8",
            )
        return True

    def _handle(self) -> None:
        fake = self.owner
        split = urlsplit(self.path)
        path = unquote(split.path)
        options = dict(parse_qsl(split.query, keep_blank_values=True))
        wants_json = options.get("$format", "").lower() == "json" or "application/json" in (
            self.headers.get("Accept") or ""
        )
        prefix = f"/{fake.publication}/odata/standard.odata"
        status, entity = 200, "?"
        self._entity = entity
        self.start_request()
        try:
            with fake.lock:
                first = not fake._first_done
                fake._first_done = True
            if first and fake.first_request_delay_s:
                time.sleep(fake.first_request_delay_s)
            if not self._authorised():
                status = 401
                self._send(401, "", "text/plain", {"WWW-Authenticate": 'Basic realm="1C:Enterprise"'})
                return
            if not path.startswith(prefix):
                raise ODataError(404, "9", "Публикация не найдена")
            rest = path[len(prefix) :].strip("/")
            entity = self._entity = rest.split("(", 1)[0] or "$service"
            fault = fake.faults.take(entity)
            if fault is not None and self._fault(fault):
                status = -1
                return
            base = f"http://{self.headers.get('Host') or f'{fake.host}:{fake.port}'}{prefix}/"
            if rest == "$metadata":
                self._send(200, fake.metadata_xml(), "application/xml;charset=utf-8")
                return
            if rest == "":
                names = fake.store.names()
                body = {"odata.metadata": f"{base}$metadata", "value": [{"name": n, "url": n} for n in names]}
                self._send(200, json.dumps(body, ensure_ascii=False), "application/json;charset=utf-8")
                return
            m = _KEY_SEGMENT.match(rest)
            key = m.group("key") if m else None
            entity = m.group("entity") if m else rest
            rows, positions, count = fake.query(entity, key, options)
            select = options.get("$select")
            if wants_json and key is None and not select:
                # splice the stored JSON: no re-encoding for big pages
                head = {"odata.metadata": f"{base}$metadata#{entity}"}
                if count is not None:
                    head["odata.count"] = str(count)
                prefix_bytes = json.dumps(head, ensure_ascii=False)[:-1].encode("utf-8")
                data = prefix_bytes + b', "value": [' + b",".join(rows.raw_at(i) for i in positions) + b"]}"
                self._send_bytes(200, data, "application/json;charset=utf-8")
            elif wants_json:
                records = [fake.select(rows.full(i), select) for i in positions]
                if key is not None:
                    body = {"odata.metadata": f"{base}$metadata#{entity}/@Element", **records[0]}
                else:
                    body = {"odata.metadata": f"{base}$metadata#{entity}"}
                    if count is not None:
                        body["odata.count"] = str(count)
                    body["value"] = records
                self._send(200, json.dumps(body, ensure_ascii=False), "application/json;charset=utf-8")
            else:
                records = [fake.select(rows.full(i), select) for i in positions]
                self._send(200, atom_feed(base, entity, records, count), "application/atom+xml;type=feed;charset=utf-8")
        except ODataError as e:
            status = e.status
            if wants_json:
                self._send(e.status, json.dumps(e.body(), ensure_ascii=False), "application/json;charset=utf-8")
            else:
                xml = (
                    '<?xml version="1.0" encoding="UTF-8"?><m:error '
                    'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">'
                    f'<m:code>{escape(e.code)}</m:code><m:message xml:lang="ru">{escape(e.message)}</m:message></m:error>'
                )
                self._send(e.status, xml, "application/xml;charset=utf-8")
        except Exception:
            status = 500
            self._send(
                500,
                json.dumps(ODataError(500, "-1", MESSAGES["-1"]).body(), ensure_ascii=False),
                "application/json;charset=utf-8",
            )
        finally:
            self.record_once(status)  # a request that got no answer (a dropped connection): status -1
            if fake.after_answer is not None and status == 200:
                fake.after_answer(entity, options)


FakeOneC.handler = _Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hc_demo.fakes.onec", description="Serve a fake 1C OData publication."
    )
    parser.add_argument("--data", type=Path, required=True, help="demo data directory (from python -m hc_demo)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--publication", default="demo")
    parser.add_argument("--user", default="Администратор")
    parser.add_argument(
        "--password-file", type=Path, help="read the password from this file (else random, written to --url-file)"
    )
    parser.add_argument("--url-file", type=Path, help="write base URL, user and password here (mode 0600)")
    args = parser.parse_args(argv)
    password = args.password_file.read_text(encoding="utf-8").strip() if args.password_file else None
    fake = FakeOneC(
        args.data, host=args.host, port=args.port, publication=args.publication, user=args.user, password=password
    )
    return serve_until_interrupted(
        fake,
        args.url_file,
        lambda: json.dumps(
            {"base_url": fake.base_url, "user": fake.user, "password": fake.password}, ensure_ascii=False
        ),
    )


if __name__ == "__main__":
    sys.exit(main())

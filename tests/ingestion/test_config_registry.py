"""Settings from the environment, secret hiding, and the registry against the architecture doc."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from hc_base.redact import redact
from ingestion.bitrix24.auth import WebhookAuth
from ingestion.config import ConfigError, SourceSettings
from ingestion.registry import ENTITIES, entities_of

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_from_env_defaults_and_values() -> None:
    s = SourceSettings.from_env({})
    assert (s.bitrix24_rate_per_s, s.bitrix24_burst, s.bitrix24_timeout_s, s.bitrix24_overlap_minutes) == (2.0, 50, 60.0, 60.0)
    assert (s.onec_timeout_s, s.onec_reread_days, s.files_dir, s.files_mapping) == (300.0, 35.0, None, None)
    assert not s.bitrix24_configured and not s.onec_configured
    env = {
        "BITRIX24_PORTAL_URL": "https://portal.example.ru", "BITRIX24_CLIENT_ID": "local.abc",
        "BITRIX24_CLIENT_SECRET": "oauth-client-secret-1", "BITRIX24_REFRESH_TOKEN": "refresh-token-value-1",
        "BITRIX24_RATE_PER_S": "5", "BITRIX24_BURST": "250", "BITRIX24_OVERLAP_MINUTES": "90",
        "ONEC_ODATA_URL": "http://1c/base/odata/standard.odata/", "ONEC_USER": "Администратор",
        "ONEC_PASSWORD": "1c-password-value", "ONEC_REREAD_DAYS": "10,5", "FILES_DIR": "/data/files",
        "FILES_MAPPING": "/data/map.yaml",
    }
    s = SourceSettings.from_env(env)
    assert s.bitrix24_oauth_configured and s.bitrix24_configured and s.onec_configured
    assert (s.bitrix24_rate_per_s, s.bitrix24_burst, s.bitrix24_overlap_minutes, s.onec_reread_days) == (5.0, 250, 90.0, 10.5)
    assert s.files_dir == Path("/data/files") and s.files_mapping == Path("/data/map.yaml")
    text = repr(s)
    for secret in ("oauth-client-secret-1", "refresh-token-value-1", "1c-password-value"):
        assert secret not in text and secret not in str(s)
        assert redact(f"log line with {secret}") == "log line with ***"  # registered on read
    assert "Администратор" in text


@pytest.mark.parametrize(("name", "value"), [("BITRIX24_RATE_PER_S", "fast"), ("ONEC_TIMEOUT_S", "-1")])
def test_bad_numbers_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        SourceSettings.from_env({name: value})


def test_webhook_url_is_a_secret() -> None:
    url = "https://portal.example.ru/rest/7/abcd1234efgh5678/"
    s = SourceSettings.from_env({"BITRIX24_WEBHOOK_URL": url})
    assert url not in repr(s) and "abcd1234efgh5678" not in repr(WebhookAuth(url))
    assert redact(f"GET {url}crm.deal.list") == "GET ***crm.deal.list"
    with pytest.raises(ValueError, match="must look like") as caught:
        WebhookAuth("portal.example.ru/abcd1234efgh5678")
    assert "abcd1234efgh5678" not in str(caught.value)


def test_registry_covers_every_raw_table_of_the_architecture() -> None:
    documented = set(re.findall(r"`((?:bitrix24|onec)__[a-z_]+)`", ARCHITECTURE.read_text(encoding="utf-8")))
    kinds = {"rosstat_outlets", "potential_clients", "sales_plans", "assortment_matrix", "nps_answers",
             "marketing_spend", "sales_lines"}
    documented |= {f"files__{k}" for k in kinds}
    assert {spec.raw_table for spec in ENTITIES.values()} == documented
    assert len(documented) == 29
    for name, spec in ENTITIES.items():
        assert name == f"{spec.source}.{spec.raw_table.split('__', 1)[1]}"
    assert ENTITIES["bitrix24.activities"].modified_field == "LAST_UPDATED"
    assert [s.name for s in entities_of("onec")][-2:] == ["onec.sales_documents", "onec.returns"]
    with pytest.raises(KeyError, match="unknown source"):
        entities_of("sap")


def test_unconfigured_source_fails_once_with_what_to_set() -> None:
    from ingestion.run import ingest_source

    for source, variable in (("bitrix24", "BITRIX24_WEBHOOK_URL"), ("onec", "ONEC_ODATA_URL"), ("files", "FILES_DIR")):
        with pytest.raises(ConfigError, match=variable):
            ingest_source(source, warehouse_url="postgresql://unused", settings=SourceSettings())

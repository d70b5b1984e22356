"""The mapping file: defaults, shape checks, checks against a portal / base, dbt vars (no servers)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from happyclient.connect import detect_profile
from ingestion import mapping as mp
from ingestion.mapping import parse_metadata

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "mapping.example.yml"

PORTAL = {
    "company_fields": {
        "ID": {"type": "integer", "title": "ID", "isDynamic": False},
        "TITLE": {"type": "string", "title": "Название компании", "isDynamic": False},
        "UF_CRM_1612345678": {
            "type": "enumeration", "title": "UF_CRM_1612345678", "listLabel": "Канал продаж", "isDynamic": True,
            "items": [{"ID": "45", "VALUE": "Розничные магазины"}, {"ID": "46", "VALUE": "Торговые сети"}],
        },
        "UF_CRM_1612345701": {"type": "double", "title": "UF_CRM_1612345701", "listLabel": "Потенциал", "isDynamic": True},
    },
    "requisite_fields": {"RQ_INN": {}, "RQ_KPP": {}},
    "address_types": {"1": "Фактический адрес", "6": "Юридический адрес"},
    "categories": {"0": "Продажи", "7": "Повторные"},
    "stages": ["NEW", "WON", "LOSE", "C7:NEW", "C7:WON", "C7:LOSE"],
    "sources": {"CALL": "Звонок", "UC_SEO": "SEO"},
}
REAL = {
    "bitrix24": {
        "company": {
            "region": {"address": "PROVINCE", "address_type": 6},
            "channel": {"field": "UF_CRM_1612345678", "values": {"45": "Розничные магазины"}},
            "potential": "UF_CRM_1612345701",
            "size": None,
        },
        "deals": {"new_client_pipelines": ["0"], "repeat_pipelines": [7]},
        "lead_sources": {"UC_SEO": "Поисковые запросы"},
    }
}


def test_no_file_means_the_demo_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert mp.DEFAULT_PATH == mp.PROJECT_ROOT / "config" / "mapping.yml"
    monkeypatch.setattr(mp, "DEFAULT_PATH", tmp_path / "absent.yml")
    m = mp.load(env={})
    assert m["bitrix24"]["company"]["region"] == {"field": "UF_CRM_HC_REGION"}
    assert m["onec"]["profile"] == "ut11"
    assert mp.mapping_path({}) == mp.DEFAULT_PATH
    assert mp.mapping_path({"HAPPYCLIENT_MAPPING": str(tmp_path / "m.yml")}) == tmp_path / "m.yml"
    with pytest.raises(FileNotFoundError, match="m.yml"):
        mp.load(env={"HAPPYCLIENT_MAPPING": str(tmp_path / "m.yml")})


def test_a_file_overrides_the_demo_and_a_concept_source_replaces_it(tmp_path: Path) -> None:
    path = tmp_path / "m.yml"
    path.write_text(yaml.safe_dump(REAL, allow_unicode=True), encoding="utf-8")
    m = mp.load(env={"HAPPYCLIENT_MAPPING": str(path)})
    company = m["bitrix24"]["company"]
    assert company["region"] == {"address": "PROVINCE", "address_type": 6}  # not merged with the demo's field
    assert company["potential"] == {"field": "UF_CRM_1612345701"}  # shorthand
    assert company["size"] is None
    assert company["inn"] == {"requisite": "RQ_INN"}  # left out: the demo's
    assert m["bitrix24"]["deals"]["repeat_pipelines"] == ["7"]
    assert m["bitrix24"]["deals"]["won_stages"] == "auto"
    mp.check_bitrix24(m, PORTAL)  # fits the portal


def test_the_example_file_loads_and_is_the_demo_mapping() -> None:
    m = mp.normalise(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")), source=str(EXAMPLE))
    assert mp.dbt_vars(m) == mp.dbt_vars(mp.normalise({}))


@pytest.mark.parametrize(
    ("raw", "key", "value", "allowed"),
    [
        ({"bitrix24": {"compnay": {}}}, "bitrix24.compnay", "compnay", "company"),
        ({"bitrix24": {"company": {"regoin": "UF_X"}}}, "bitrix24.company.regoin", "regoin", "region"),
        ({"bitrix24": {"company": {"region": {"address": "OBLAST"}}}}, "bitrix24.company.region.address", "OBLAST",
         "PROVINCE"),
        ({"bitrix24": {"company": {"region": {"field": "UF_X", "address": "CITY"}}}}, "bitrix24.company.region",
         "UF_X", "requisite"),
        ({"onec": {"profile": "ut10"}}, "onec.profile", "ut10", "ut11"),
        ({"onec": {"entities": {"sales": {}}}}, "onec.entities.sales", "sales", "sales_documents"),
        ({"bitrix24": {"deals": {"won_stages": "WON"}}}, "bitrix24.deals.won_stages", "WON", ""),
    ],
)
def test_shape_errors_name_key_value_and_what_is_allowed(raw: dict, key: str, value: str, allowed: str) -> None:
    with pytest.raises(mp.MappingError) as err:
        mp.normalise(raw, source="mapping.yml")
    text = str(err.value)
    assert text.startswith("mapping.yml: mapping key ")
    assert err.value.key == key and key in text
    assert value in text
    assert allowed in text


def test_a_field_the_portal_lacks_names_key_value_and_the_portals_fields() -> None:
    with pytest.raises(mp.MappingError) as err:
        mp.check_bitrix24(mp.normalise({}), PORTAL, source="config/mapping.yml")
    text = str(err.value)
    assert "bitrix24.company.region.field = 'UF_CRM_HC_REGION'" in text
    assert "is not a company field of this portal" in text
    assert "UF_CRM_1612345678 (Канал продаж)" in text and "UF_CRM_1612345701 (Потенциал)" in text


@pytest.mark.parametrize(
    ("change", "key", "value", "alternative"),
    [
        ({"company": {"channel": {"field": "UF_CRM_1612345678", "values": {"99": "X"}}}},
         "bitrix24.company.channel.values", "99", "45 (Розничные магазины)"),
        ({"company": {"region": {"address": "PROVINCE", "address_type": 3}}},
         "bitrix24.company.region.address_type", "3", "6 (Юридический адрес)"),
        ({"company": {"inn": {"requisite": "RQ_INN_X"}}}, "bitrix24.company.inn.requisite", "RQ_INN_X", "RQ_INN"),
        ({"deals": {"repeat_pipelines": ["1"]}}, "bitrix24.deals.repeat_pipelines", "1", "7 (Повторные)"),
        ({"deals": {"won_stages": ["C1:WON"]}}, "bitrix24.deals.won_stages", "C1:WON", "C7:WON"),
        ({"lead_sources": {"WEB": "Сайт"}}, "bitrix24.lead_sources", "WEB", "UC_SEO (SEO)"),
    ],
)
def test_portal_mismatches_name_key_value_and_alternatives(change: dict, key: str, value: str, alternative: str) -> None:
    raw = yaml.safe_load(yaml.safe_dump(REAL))
    for part, sub in change.items():
        raw["bitrix24"].setdefault(part, {}).update(sub)
    with pytest.raises(mp.MappingError) as err:
        mp.check_bitrix24(mp.normalise(raw), PORTAL)
    text = str(err.value)
    assert err.value.key == key
    assert f"{key} = {value!r}" in text or f"{key} = {int(value)!r}" in text
    assert alternative in text


BP3_SETS = {
    "Catalog_Контрагенты": ["Ref_Key", "ИНН", "КПП", "DeletionMark"],
    "Document_РеализацияТоваровУслуг": ["Ref_Key", "Контрагент_Key", "Ответственный_Key", "ПодразделениеОрганизации_Key",
                                        "СуммаДокумента", "Товары"],
    "Document_РеализацияТоваровУслуг_Товары": ["Ref_Key", "LineNumber", "Номенклатура_Key", "Количество", "Сумма", "СуммаНДС"],
    "Document_ВозвратТоваровОтПокупателя": ["Ref_Key", "Контрагент_Key", "Ответственный_Key"],
    "Document_ВозвратТоваровОтПокупателя_Товары": ["Ref_Key", "Номенклатура_Key", "Количество", "Сумма"],
    "Catalog_Пользователи": ["Ref_Key"],
    "Catalog_ПодразделенияОрганизаций": ["Ref_Key"],
    "Catalog_Номенклатура": ["Ref_Key", "Артикул"],
}


def test_onec_profile_fits_its_base_and_a_wrong_one_names_what_exists() -> None:
    mp.check_onec(mp.normalise({"onec": {"profile": "bp3"}}), BP3_SETS)
    with pytest.raises(mp.MappingError) as err:
        mp.check_onec(mp.normalise({"onec": {"profile": "ut11"}}), BP3_SETS)
    text = str(err.value)
    assert err.value.key == "onec.entities.sales_documents.fields.partner"
    assert "'Партнер_Key'" in text and "Ответственный_Key" in text
    override = {"onec": {"profile": "bp3", "entities": {"returns": {"entity": "Document_ВозвратТоваровОтКлиента"}}}}
    with pytest.raises(mp.MappingError) as err:
        mp.check_onec(mp.normalise(override), BP3_SETS)
    assert err.value.key == "onec.entities.returns.entity"
    assert "Document_ВозвратТоваровОтПокупателя" in str(err.value)
    override = {"onec": {"profile": "bp3", "entities": {"sales_documents": {"line_fields": {"amount": "СуммаСтроки"}}}}}
    with pytest.raises(mp.MappingError) as err:
        mp.check_onec(mp.normalise(override), BP3_SETS)
    assert err.value.key == "onec.entities.sales_documents.line_fields.amount"
    assert "Сумма" in str(err.value)


@pytest.mark.parametrize(
    ("sets", "profile"),
    [
        ({"Document_РеализацияТоваровУслуг", "Catalog_Партнеры", "Catalog_Контрагенты"}, "ut11"),
        ({"Document_РеализацияТоваровУслуг", "Catalog_Партнеры", "AccountingRegister_Хозрасчетный"}, "erp2"),
        ({"Document_РеализацияТоваровУслуг", "Catalog_Контрагенты", "AccountingRegister_Хозрасчетный"}, "bp3"),
        ({"Document_РасходнаяНакладная", "Document_РасходнаяНакладная_Запасы", "Catalog_Контрагенты"}, "unf3"),
        ({"Catalog_Контрагенты"}, None),
    ],
)
def test_profile_detection(sets: set[str], profile: str | None) -> None:
    assert detect_profile(sets)[0] == profile


def test_dbt_vars_of_the_demo_and_of_a_real_mapping() -> None:
    demo = mp.dbt_vars(mp.normalise({}))
    assert demo["hc_b24_company_fields"] == {
        "region": "UF_CRM_HC_REGION", "channel": "UF_CRM_HC_CHANNEL",
        "potential": "UF_CRM_HC_POTENTIAL", "size": "UF_CRM_HC_SIZE",
    }
    assert demo["hc_b24_new_client_pipelines"] == ["0"] and demo["hc_b24_repeat_pipelines"] == ["1"]
    assert demo["hc_b24_won_stages"] == [] and demo["hc_b24_inn_field"] == "RQ_INN"
    assert demo["hc_onec_entities"]["sales_documents"]["entity"] == "Document_РеализацияТоваровУслуг"
    assert set(demo) == set(mp.DBT_VARS_DOC)
    real = mp.dbt_vars(mp.normalise(REAL))
    assert real["hc_b24_company_fields"] == {"channel": "UF_CRM_1612345678", "potential": "UF_CRM_1612345701"}
    assert real["hc_b24_company_address"] == {"region": {"part": "PROVINCE", "type": "6"}}
    assert real["hc_b24_company_values"] == {"channel": {"45": "Розничные магазины"}}
    assert real["hc_b24_repeat_pipelines"] == ["7"]
    assert real["hc_b24_lead_source_channels"] == {"UC_SEO": "Поисковые запросы"}
    unf = mp.dbt_vars(mp.normalise({"onec": {"profile": "unf3"}}))
    assert unf["hc_onec_entities"]["sales_documents"]["lines"] == "Запасы"
    assert "partners" not in unf["hc_onec_entities"]


def test_parse_metadata_reads_entity_and_row_types() -> None:
    xml = (
        '<?xml version="1.0"?><edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0">'
        '<edmx:DataServices><Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" Namespace="StandardODATA">'
        '<EntityType Name="Document_РасходнаяНакладная"><Key><PropertyRef Name="Ref_Key"/></Key>'
        '<Property Name="Ref_Key" Type="Edm.Guid"/><Property Name="Контрагент_Key" Type="Edm.Guid"/>'
        '<NavigationProperty Name="Контрагент" Relationship="x" FromRole="a" ToRole="b"/></EntityType>'
        '<ComplexType Name="Document_РасходнаяНакладная_Запасы_RowType"><Property Name="LineNumber" Type="Edm.Int64"/>'
        '</ComplexType></Schema></edmx:DataServices></edmx:Edmx>'
    )
    assert parse_metadata(xml) == {
        "Document_РасходнаяНакладная": ["Ref_Key", "Контрагент_Key"],
        "Document_РасходнаяНакладная_Запасы": ["LineNumber"],
    }


def test_file_aliases_extend_the_column_spellings(tmp_path: Path) -> None:
    from ingestion.files.specs import load_specs
    from ingestion.files.validate import FileParser

    specs = load_specs()
    mapping = mp.normalise({"files": {"aliases": {"potential_clients": {"ИНН": ["ИНН клиента"]}}}})
    aliased = mp.apply_file_aliases(specs, mapping)
    inn = next(c for c in aliased["potential_clients"].columns if c.header == "ИНН")
    assert inn.aliases[-1] == "ИНН клиента"
    path = tmp_path / "potential_clients_2026.csv"
    path.write_text("Год;Регион;ИНН клиента;Наименование\n2026;Москва;7707083893;ООО Ромашка\n", encoding="utf-8")
    before = FileParser(path, specs["potential_clients"])
    assert list(before.records()) == [] and before.errors  # «ИНН» missing: the file is refused
    after = FileParser(path, aliased["potential_clients"])
    rows = list(after.records())
    assert len(rows) == 1 and not after.errors
    for bad, key, value in (({"potential_client": {}}, "files.aliases.potential_client", "potential_client"),
                            ({"potential_clients": {"INN": ["x"]}}, "files.aliases.potential_clients.INN", "INN")):
        with pytest.raises(mp.MappingError) as err:
            mp.apply_file_aliases(specs, mp.normalise({"files": {"aliases": bad}}))
        assert err.value.key == key and repr(value) in str(err.value)

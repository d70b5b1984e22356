"""The fake portal's answers to the discovery methods `happyclient connect bitrix24` calls.

`scope`, `profile`, `user.current`, `crm.company.fields`, `crm.deal.fields`,
`crm.requisite.fields`, `crm.enum.addresstype`. The `*.fields` answers have the shape of the
captured `crm.lead.fields` answer (tests/fixtures/sources/bitrix24/captured/crm_lead_fields_success.json):
standard fields `{type, isRequired, isReadOnly, isImmutable, isMultiple, isDynamic, title}`,
custom fields add `listLabel`, `formLabel`, `filterLabel`, `settings` and, for lists, `items`.
Custom company fields come from the fake's user fields (`crm.company.userfield.list`).
`crm.address.list` is an ordinary list method over `addresses.jsonl` (see bitrix24_store).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from hc_demo.fakes.bitrix24 import FakeBitrix24, Outcome

# methods every webhook may call, whatever its scopes
BASIC_METHODS = frozenset({"scope", "profile", "methods"})

_COMPANY_FIELDS: dict[str, tuple[str, str]] = {
    "ID": ("integer", "ID"),
    "TITLE": ("string", "Название компании"),
    "COMPANY_TYPE": ("crm_status", "Тип компании"),
    "INDUSTRY": ("crm_status", "Сфера деятельности"),
    "EMPLOYEES": ("crm_status", "Кол-во сотрудников"),
    "REVENUE": ("double", "Годовой оборот"),
    "CURRENCY_ID": ("crm_currency", "Валюта"),
    "ASSIGNED_BY_ID": ("user", "Ответственный"),
    "CREATED_BY_ID": ("user", "Кем создана"),
    "MODIFY_BY_ID": ("user", "Кем изменена"),
    "DATE_CREATE": ("datetime", "Дата создания"),
    "DATE_MODIFY": ("datetime", "Дата изменения"),
    "OPENED": ("char", "Доступна для всех"),
    "COMMENTS": ("string", "Комментарий"),
    "ADDRESS": ("string", "Адрес"),
    "LEAD_ID": ("crm_lead", "Лид"),
}
_DEAL_FIELDS: dict[str, tuple[str, str]] = {
    "ID": ("integer", "ID"),
    "TITLE": ("string", "Название"),
    "TYPE_ID": ("crm_status", "Тип"),
    "CATEGORY_ID": ("crm_category", "Воронка"),
    "STAGE_ID": ("crm_status", "Стадия сделки"),
    "STAGE_SEMANTIC_ID": ("string", "Группа стадии"),
    "IS_NEW": ("char", "Новая сделка"),
    "IS_RETURN_CUSTOMER": ("char", "Повторная сделка"),
    "OPPORTUNITY": ("double", "Сумма"),
    "CURRENCY_ID": ("crm_currency", "Валюта"),
    "COMPANY_ID": ("crm_company", "Компания"),
    "LEAD_ID": ("crm_lead", "Лид"),
    "SOURCE_ID": ("crm_status", "Источник"),
    "ASSIGNED_BY_ID": ("user", "Ответственный"),
    "BEGINDATE": ("date", "Дата начала"),
    "CLOSEDATE": ("date", "Дата завершения"),
    "CLOSED": ("char", "Закрыта"),
    "DATE_CREATE": ("datetime", "Дата создания"),
    "DATE_MODIFY": ("datetime", "Дата изменения"),
}
_REQUISITE_FIELDS: dict[str, tuple[str, str]] = {
    "ID": ("integer", "ID"),
    "ENTITY_TYPE_ID": ("integer", "Тип родительской сущности"),
    "ENTITY_ID": ("integer", "ID родительской сущности"),
    "PRESET_ID": ("integer", "Шаблон"),
    "NAME": ("string", "Название реквизита"),
    "RQ_COMPANY_NAME": ("string", "Сокращенное наименование организации"),
    "RQ_COMPANY_FULL_NAME": ("string", "Полное наименование организации"),
    "RQ_INN": ("string", "ИНН"),
    "RQ_KPP": ("string", "КПП"),
    "RQ_OGRN": ("string", "ОГРН"),
    "RQ_ADDR": ("requisite_address", "Адрес"),
}
# crm.enum.addresstype, as documented (tests/fixtures/connect/bitrix24/)
ADDRESS_TYPES = [
    {"ID": 1, "NAME": "Фактический адрес"},
    {"ID": 4, "NAME": "Адрес регистрации"},
    {"ID": 6, "NAME": "Юридический адрес"},
    {"ID": 9, "NAME": "Адрес бенефициара"},
]


# crm_status fields name their dictionary (crm.status.list ENTITY_ID), as the captured answer does
_STATUS_TYPES = {
    "COMPANY_TYPE": "COMPANY_TYPE",
    "INDUSTRY": "INDUSTRY",
    "EMPLOYEES": "EMPLOYEES",
    "TYPE_ID": "DEAL_TYPE",
    "STAGE_ID": "DEAL_STAGE",
    "SOURCE_ID": "SOURCE",
}


def _standard(fields: dict[str, tuple[str, str]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for code, (kind, title) in fields.items():
        info: dict[str, Any] = {
            "type": kind,
            "isRequired": code == "TITLE",
            "isReadOnly": code in ("ID", "DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID", "MODIFY_BY_ID"),
            "isImmutable": False,
            "isMultiple": False,
            "isDynamic": False,
        }
        if kind == "crm_status":
            info["statusType"] = _STATUS_TYPES.get(code, code)
        info["title"] = title
        out[code] = info
    return out


def userfield_description(uf: dict[str, Any]) -> dict[str, Any]:
    """A user field as `crm.*.fields` describes it."""
    label = uf.get("EDIT_FORM_LABEL") or uf.get("LIST_COLUMN_LABEL") or uf["FIELD_NAME"]
    if isinstance(label, dict):  # labels per language
        label = label.get("ru") or next(iter(label.values()), uf["FIELD_NAME"])
    out: dict[str, Any] = {
        "type": uf.get("USER_TYPE_ID", "string"),
        "isRequired": uf.get("MANDATORY") == "Y",
        "isReadOnly": False,
        "isImmutable": False,
        "isMultiple": uf.get("MULTIPLE") == "Y",
        "isDynamic": True,
        "title": uf["FIELD_NAME"],
        "listLabel": label,
        "formLabel": label,
        "filterLabel": label,
        "settings": uf.get("SETTINGS") or {},
    }
    if uf.get("LIST"):
        out["items"] = [{"ID": str(i["ID"]), "VALUE": i["VALUE"]} for i in uf["LIST"]]
    return out


def company_fields(fake: FakeBitrix24, params: dict[str, Any]) -> Outcome:
    from hc_demo.fakes.bitrix24 import COST_PER_CALL_S, Outcome

    result = _standard(_COMPANY_FIELDS)
    for uf in fake.userfields:
        if uf.get("ENTITY_ID", "CRM_COMPANY") == "CRM_COMPANY":
            result[uf["FIELD_NAME"]] = userfield_description(uf)
    return Outcome({"result": result}, COST_PER_CALL_S)


def _static(fields: dict[str, tuple[str, str]]) -> Any:
    def handler(fake: FakeBitrix24, params: dict[str, Any]) -> Outcome:
        from hc_demo.fakes.bitrix24 import COST_PER_CALL_S, Outcome

        return Outcome({"result": _standard(fields)}, COST_PER_CALL_S)

    return handler


def scope(fake: FakeBitrix24, params: dict[str, Any]) -> Outcome:
    from hc_demo.fakes.bitrix24 import COST_PER_CALL_S, Outcome

    return Outcome({"result": sorted(fake.scopes)}, COST_PER_CALL_S)


def _webhook_user(fake: FakeBitrix24) -> dict[str, Any]:
    user = fake.store.find("users", fake.webhook_user_id)
    return dict(user) if user else {"ID": str(fake.webhook_user_id), "NAME": "Администратор", "LAST_NAME": ""}


def user_current(fake: FakeBitrix24, params: dict[str, Any]) -> Outcome:
    from hc_demo.fakes.bitrix24 import COST_PER_CALL_S, Outcome

    return Outcome({"result": _webhook_user(fake)}, COST_PER_CALL_S)


def profile(fake: FakeBitrix24, params: dict[str, Any]) -> Outcome:
    from hc_demo.fakes.bitrix24 import COST_PER_CALL_S, Outcome

    user = _webhook_user(fake)
    return Outcome(
        {
            "result": {
                "ID": str(user.get("ID")),
                "ADMIN": True,
                "NAME": user.get("NAME"),
                "LAST_NAME": user.get("LAST_NAME"),
                "PERSONAL_GENDER": "",
                "PERSONAL_PHOTO": "",
                "TIME_ZONE": "Europe/Moscow",
                "TIME_ZONE_OFFSET": 10800,
            }
        },
        COST_PER_CALL_S,
    )


def address_types(fake: FakeBitrix24, params: dict[str, Any]) -> Outcome:
    from hc_demo.fakes.bitrix24 import COST_PER_CALL_S, Outcome

    return Outcome({"result": [dict(t) for t in ADDRESS_TYPES]}, COST_PER_CALL_S)


DISCOVERY_METHODS: dict[str, Any] = {
    "scope": scope,
    "profile": profile,
    "user.current": user_current,
    "crm.company.fields": company_fields,
    "crm.deal.fields": _static(_DEAL_FIELDS),
    "crm.requisite.fields": _static(_REQUISITE_FIELDS),
    "crm.enum.addresstype": address_types,
}

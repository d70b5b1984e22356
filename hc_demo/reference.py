"""Fixed reference data of the demo company: regions, departments, managers, catalogue words.

Region names are the full official names used identically in the Rosstat file, the 1C
business regions and the Bitrix24 company field UF_CRM_HC_REGION.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    name: str
    inn_code: str  # first two digits of ИНН issued there
    outlets: int  # Rosstat outlets for the latest year (the seed case table's «Общая КБ»)
    seed_active: int
    seed_potential: int
    seed_attracted: int
    department: str  # code of the regional sales department


# The seed case table («Кейс. Управление привлечением клиентов»), in its order.
REGIONS: tuple[Region, ...] = (
    Region("Санкт-Петербург", "78", 1876, 104, 246, 117, "spb"),
    Region("Республика Коми", "11", 1014, 75, 187, 195, "reg"),
    Region("Архангельская область", "29", 760, 44, 134, 104, "reg"),
    Region("Вологодская область", "35", 544, 32, 74, 73, "reg"),
    Region("Калининградская область", "39", 1035, 75, 98, 105, "reg"),
    Region("Ленинградская область", "47", 2549, 143, 252, 203, "spb"),
    Region("Мурманская область", "51", 658, 39, 59, 56, "reg"),
    Region("Новгородская область", "53", 1475, 81, 117, 109, "reg"),
)

# code -> (Bitrix24 id, name); 1 is the company root, 2 the commercial service.
DEPARTMENTS: dict[str, tuple[int, str]] = {
    "root": (1, "ООО «Счастливый клиент»"),
    "com": (2, "Коммерческая служба"),
    "spb": (3, "Отдел продаж СПб"),
    "reg": (4, "Отдел регионов"),
    "key": (5, "Отдел ключевых клиентов"),
}

# Share of NPS promoters / detractors per department: deliberately different levels.
NPS_PROFILE: dict[str, tuple[float, float]] = {"spb": (0.55, 0.15), "reg": (0.35, 0.30), "key": (0.70, 0.08)}


@dataclass(frozen=True)
class Person:
    last_name: str
    first_name: str
    department: str
    position: str

    @property
    def full_name(self) -> str:
        """1C style: «Фамилия Имя»."""
        return f"{self.last_name} {self.first_name}"


DIRECTOR = Person("Соколова", "Марина", "com", "Коммерческий директор")
MANAGERS: tuple[Person, ...] = (
    Person("Иванов", "Алексей", "spb", "Менеджер по продажам"),
    Person("Смирнова", "Ольга", "spb", "Менеджер по продажам"),
    Person("Кузнецов", "Дмитрий", "spb", "Менеджер по продажам"),
    Person("Попова", "Екатерина", "spb", "Менеджер по продажам"),
    Person("Васильев", "Игорь", "spb", "Старший менеджер"),
    Person("Петрова", "Анна", "spb", "Менеджер по продажам"),
    Person("Новиков", "Сергей", "reg", "Региональный менеджер"),
    Person("Морозова", "Наталья", "reg", "Региональный менеджер"),
    Person("Волков", "Андрей", "reg", "Региональный менеджер"),
    Person("Лебедева", "Ирина", "reg", "Региональный менеджер"),
    Person("Козлов", "Павел", "reg", "Региональный менеджер"),
    Person("Николаева", "Светлана", "reg", "Региональный менеджер"),
    Person("Соловьев", "Максим", "key", "Менеджер по работе с ключевыми клиентами"),
    Person("Егорова", "Татьяна", "key", "Менеджер по работе с ключевыми клиентами"),
    Person("Федоров", "Виктор", "key", "Руководитель отдела"),
)

CHANNELS: tuple[str, ...] = ("Розничные магазины", "Торговые сети", "Оптовые компании", "Интернет-магазины")
CHANNEL_WEIGHTS: tuple[float, ...] = (0.5, 0.12, 0.23, 0.15)
# Yearly probability that a client of the channel is lost: channels differ in lost sales.
CHANNEL_CHURN: dict[str, float] = {
    "Розничные магазины": 0.16,
    "Торговые сети": 0.05,
    "Оптовые компании": 0.10,
    "Интернет-магазины": 0.24,
}

SIZES: tuple[str, ...] = ("крупный", "средний", "мелкий")
SIZE_WEIGHTS: tuple[float, ...] = (0.1, 0.3, 0.6)
SIZE_EMPLOYEES: dict[str, str] = {"крупный": "EMPLOYEES_4", "средний": "EMPLOYEES_3", "мелкий": "EMPLOYEES_2"}
# Mean order (rubles with VAT) and potential capacity range (rubles/year) by size.
SIZE_ORDER_RUB: dict[str, float] = {"крупный": 180_000.0, "средний": 55_000.0, "мелкий": 16_000.0}
SIZE_POTENTIAL_RUB: dict[str, tuple[int, int]] = {
    "крупный": (6_000_000, 30_000_000),
    "средний": (1_500_000, 8_000_000),
    "мелкий": (200_000, 2_000_000),
}

# Bitrix24 lead sources (crm.status.list ENTITY_ID=SOURCE) with the seed's shares; CALL and
# the rest share what remains.
SOURCES: tuple[tuple[str, str, float, float], ...] = (
    # STATUS_ID, name, share of leads, cost per lead in rubles
    ("WEB", "Поисковые запросы", 0.20, 1400.0),
    ("TRADE_SHOW", "Личные встречи и мероприятия", 0.185, 3900.0),
    ("RECOMMENDATION", "Рекомендации", 0.15, 300.0),
    ("SELF", "Прямые заходы на сайт", 0.13, 250.0),
    ("EMAIL", "E-mail рассылки", 0.12, 500.0),
    ("CALL", "Холодные звонки", 0.215, 900.0),
)

PIPELINE_0_STAGES: tuple[tuple[str, str], ...] = (
    ("NEW", "Новая"),
    ("PREPARATION", "Подготовка документов"),
    ("PREPAYMENT_INVOICE", "Счёт на предоплату"),
    ("EXECUTING", "В работе"),
    ("FINAL_INVOICE", "Финальный счёт"),
)
PIPELINE_NAMES: dict[int, str] = {0: "Новые клиенты", 1: "Повторные продажи"}

# Months 1..12: multiplier of purchase frequency and order size.
SEASONALITY: tuple[float, ...] = (0.75, 0.85, 1.05, 1.1, 1.05, 0.9, 0.85, 0.95, 1.1, 1.15, 1.15, 1.1)

CATEGORIES: tuple[tuple[str, tuple[str, ...], tuple[int, int]], ...] = (
    # folder name, item name stems, price range (rubles with VAT)
    (
        "Бытовая химия",
        (
            "Средство для мытья посуды",
            "Стиральный порошок",
            "Гель для стирки",
            "Чистящее средство",
            "Кондиционер для белья",
            "Средство для стёкол",
        ),
        (90, 900),
    ),
    (
        "Средства гигиены",
        ("Мыло жидкое", "Шампунь", "Зубная паста", "Влажные салфетки", "Бумажные полотенца", "Туалетная бумага"),
        (40, 600),
    ),
    (
        "Хозяйственные товары",
        (
            "Губки для посуды",
            "Мешки для мусора",
            "Перчатки хозяйственные",
            "Швабра",
            "Ведро пластиковое",
            "Тряпки из микрофибры",
        ),
        (30, 1200),
    ),
    (
        "Посуда",
        (
            "Тарелка фарфоровая",
            "Кружка керамическая",
            "Сковорода антипригарная",
            "Кастрюля эмалированная",
            "Набор ножей",
            "Контейнер пищевой",
        ),
        (150, 4500),
    ),
    (
        "Канцелярия",
        (
            "Бумага офисная А4",
            "Ручка шариковая",
            "Тетрадь общая",
            "Папка-регистратор",
            "Степлер",
            "Маркер перманентный",
        ),
        (20, 700),
    ),
    (
        "Текстиль для дома",
        ("Полотенце махровое", "Комплект постельного белья", "Плед флисовый", "Скатерть", "Подушка", "Одеяло"),
        (300, 5000),
    ),
    (
        "Электротовары",
        ("Лампа светодиодная", "Удлинитель", "Батарейки АА", "Чайник электрический", "Фонарь", "Розетка"),
        (60, 3500),
    ),
    (
        "Упаковка",
        ("Пакет-майка", "Плёнка стрейч", "Коробка картонная", "Скотч упаковочный", "Пакет фасовочный", "Бумага крафт"),
        (25, 1500),
    ),
)
VARIANTS: tuple[str, ...] = ("стандарт", "эконом", "премиум", "0,5 л", "1 л", "большой", "малый", "упаковка 10 шт")

NAME_WORDS_1: tuple[str, ...] = (
    "Северный",
    "Балтийский",
    "Невский",
    "Полярный",
    "Ладожский",
    "Онежский",
    "Беломорский",
    "Печорский",
    "Янтарный",
    "Волховский",
    "Вологодский",
    "Двинский",
    "Ильменский",
    "Кольский",
    "Сухонский",
    "Новый",
    "Городской",
    "Семейный",
    "Домашний",
    "Уютный",
    "Светлый",
    "Лесной",
    "Речной",
    "Морской",
)
NAME_WORDS_2: tuple[str, ...] = (
    "Дом",
    "Двор",
    "Торг",
    "Маркет",
    "Хозяин",
    "Склад",
    "Базар",
    "Мир",
    "Центр",
    "Терем",
    "Ряд",
    "Очаг",
    "Стиль",
    "Порт",
    "Город",
    "Край",
    "Пассаж",
    "Лад",
)
LEGAL_FORMS: tuple[str, ...] = ("ООО", "ООО", "ООО", "АО", "ООО", "ПАО")
PERSON_LAST: tuple[str, ...] = (
    "Алексеев",
    "Белов",
    "Григорьев",
    "Дмитриев",
    "Жуков",
    "Зайцев",
    "Ильин",
    "Комаров",
    "Макаров",
    "Орлов",
    "Романов",
    "Степанов",
    "Тихонов",
    "Усов",
    "Фролов",
    "Шестаков",
    "Яковлев",
    "Гусев",
)
PERSON_FIRST: tuple[str, ...] = (
    "Андрей",
    "Борис",
    "Виктор",
    "Геннадий",
    "Денис",
    "Евгений",
    "Иван",
    "Кирилл",
    "Леонид",
    "Михаил",
    "Олег",
    "Роман",
)
PATRONYMIC_INITIALS: tuple[str, ...] = ("А", "В", "Г", "Д", "И", "М", "Н", "П", "С")

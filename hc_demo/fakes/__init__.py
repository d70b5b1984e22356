"""Local fake servers of the source systems (Bitrix24 REST, 1C OData) for tests and the demo."""

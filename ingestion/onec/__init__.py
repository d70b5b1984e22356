"""1C:Enterprise standard OData (v3) connector."""

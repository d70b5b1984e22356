"""Bitrix24 REST connector: auth (webhook / OAuth), client-side rate limit, client."""

"""Superset integration: run the server (``server``) and sync dashboards as code (``sync``).

Nothing here imports Superset; it runs in its own virtualenv and is reached over REST.
"""

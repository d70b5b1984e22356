#!/bin/sh
# One-shot: upgrade the Superset metadata database, create roles and the admin user.
set -eu
superset db upgrade
superset fab create-admin --username "${SUPERSET_ADMIN_USER:-admin}" --firstname Admin --lastname HappyClient \
    --email admin@localhost --password "$SUPERSET_ADMIN_PASSWORD" || true
superset init

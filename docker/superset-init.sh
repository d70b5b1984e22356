#!/bin/sh
# One-shot: upgrade the Superset metadata database, create roles and the admin user.
set -eu
superset db upgrade
# the password goes through stdin (printf is a shell builtin), never on a command line
printf '%s\n%s\n' "$SUPERSET_ADMIN_PASSWORD" "$SUPERSET_ADMIN_PASSWORD" |
    superset fab create-admin --username "${SUPERSET_ADMIN_USER:-admin}" --firstname Admin --lastname HappyClient \
        --email admin@localhost || true
superset init

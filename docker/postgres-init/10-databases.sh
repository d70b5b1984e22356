#!/bin/sh
# First start of the postgres container: the Superset and Dagster metadata databases next to
# the warehouse (POSTGRES_DB=happyclient is created by the image itself).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
create database superset;
create database dagster;
SQL

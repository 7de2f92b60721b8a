#!/usr/bin/env bash
# Bring the database schema to head before an app server starts
# (ExecStartPre of hydronet@.service; safe to run by hand).
#
# Runs `flask --app app_saas:app hydronet migrate`, which holds a PostgreSQL
# advisory lock so that several instances starting together migrate once.
# Migrations run as the owner role when DATABASE_OWNER_URL is set (the app
# role, DATABASE_URL, owns no tables and cannot ALTER them).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export HYDRONET_ENV_FILE="${HYDRONET_ENV_FILE:-$root/.env}"
# shellcheck source-path=SCRIPTDIR source=lib/pgenv.sh
. "$root/deploy/lib/pgenv.sh"

owner_url="$(setting DATABASE_OWNER_URL)"
if [ -n "$owner_url" ]; then
    export DATABASE_URL="$owner_url"
fi

venv="${HYDRONET_VENV:-$root/venv}"
[ -x "$venv/bin/flask" ] || venv="$root/.venv"
cd "$root"
exec "$venv/bin/flask" --app app_saas:app hydronet migrate

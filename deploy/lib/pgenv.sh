# shellcheck shell=bash
# Shared by deploy/backup.sh and deploy/restore.sh (sourced, not run).
#
# Finds the database URL in the environment or the project's .env file and
# turns it into libpq PG* variables, so no password appears on a command line
# (where `ps` would show it to every local user).

HYDRONET_ENV_FILE="${HYDRONET_ENV_FILE:-/opt/hydronet/.env}"

# env_file_value KEY: the last KEY=value in $HYDRONET_ENV_FILE (quotes and an
# optional `export ` stripped); nothing when the file or key is absent.
env_file_value() {
    [ -r "$HYDRONET_ENV_FILE" ] || return 0
    awk -v key="$1" -v sq="'" '
        {
            line = $0
            sub(/^[ \t]*export[ \t]+/, "", line)
            if (index(line, key "=") != 1) next
            value = substr(line, length(key) + 2)
            sub(/^[ \t]+/, "", value)
            sub(/[ \t\r]+$/, "", value)
            first = substr(value, 1, 1)
            last = substr(value, length(value), 1)
            if (length(value) >= 2 && (first == "\"" || first == sq) && last == first) {
                value = substr(value, 2, length(value) - 2)
            } else {
                sub(/[ \t]+#.*$/, "", value)
            }
            found = value
        }
        END { if (found != "") print found }
    ' "$HYDRONET_ENV_FILE"
}

# setting NAME...: the first non-empty value among the names, each looked up
# in the environment first and then in the .env file.
setting() {
    local name value
    for name in "$@"; do
        value="${!name:-}"
        [ -n "$value" ] || value="$(env_file_value "$name")"
        if [ -n "$value" ]; then
            printf '%s\n' "$value"
            return 0
        fi
    done
    return 0
}

# export_pg_env URL: export PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE (and
# sslmode & co. from the query string) for a postgresql:// URL.  The
# SQLAlchemy driver suffix (postgresql+psycopg2://) is dropped.  Fails for
# anything that is not PostgreSQL (e.g. the embedded SQLite default).
export_pg_env() {
    local assignments
    assignments="$(python3 - "$1" <<'PY'
import shlex
import sys
from urllib.parse import parse_qs, unquote, urlsplit

url = sys.argv[1].strip()
scheme, sep, rest = url.partition("://")
if not sep or scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
    sys.exit("not a PostgreSQL URL (postgresql://user:password@host:port/dbname)")
parts = urlsplit("postgresql://" + rest)
env = {
    "PGHOST": unquote(parts.hostname or ""),
    "PGPORT": str(parts.port or ""),
    "PGUSER": unquote(parts.username or ""),
    "PGPASSWORD": unquote(parts.password or ""),
    "PGDATABASE": unquote(parts.path.lstrip("/")),
}
query_map = {
    "host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
    "dbname": "PGDATABASE", "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
}
for key, values in parse_qs(parts.query).items():
    if key in query_map and values:
        env[query_map[key]] = values[-1]
if not env["PGDATABASE"]:
    sys.exit("the URL names no database")
for key, value in env.items():
    if value:
        print(f"export {key}={shlex.quote(value)}")
PY
)" || return 1
    unset PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE PGSSLROOTCERT PGSSLCERT PGSSLKEY PGAPPNAME PGSERVICE
    eval "$assignments"
    export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}"
}

# pg_target: "user@host:port/db" for log lines (never the password).
pg_target() {
    printf '%s@%s:%s/%s' "${PGUSER:-?}" "${PGHOST:-local}" "${PGPORT:-5432}" "${PGDATABASE:-?}"
}

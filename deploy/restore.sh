#!/usr/bin/env bash
# Restore a dump made by deploy/backup.sh.
#
#   restore.sh [--yes] [--no-acl] <dumpfile> [target-database-url]
#
# The target defaults to RESTORE_DATABASE_URL, DATABASE_OWNER_URL or
# DATABASE_URL (environment first, then $HYDRONET_ENV_FILE, default
# /opt/hydronet/.env).  A target that already has tables is only overwritten
# with --yes.  Stop the app (systemctl stop 'hydronet@*' hydronet-worker)
# before restoring over a live database.
#
# The restore runs in one transaction: it applies completely or not at all.
# Objects are dropped and recreated (--clean --if-exists) and owned by the
# connecting role (--no-owner).  --no-acl skips GRANTs, for a server where the
# dump's roles (hydronet_app) do not exist.
#
# Exit status: 0 restored, 1 restore failed (target unchanged), 2 usage or
# configuration error, 3 refused (target has tables, no --yes), 4 the dump file
# is missing or unreadable, 5 the target database cannot be reached.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/pgenv.sh
. "$here/lib/pgenv.sh"

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
say() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) hydronet-restore $*"; }
die() { local code="$1"; shift; say "ERROR: $*" >&2; exit "$code"; }

main() {
    local confirmed=0 acl_args=() positional=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --yes|-y) confirmed=1 ;;
            --no-acl) acl_args=(--no-privileges) ;;
            -h|--help) usage; exit 0 ;;
            --) shift; positional+=("$@"); break ;;
            -*) usage >&2; die 2 "unknown option: $1" ;;
            *) positional+=("$1") ;;
        esac
        shift
    done
    if [ "${#positional[@]}" -lt 1 ] || [ "${#positional[@]}" -gt 2 ]; then
        usage >&2
        exit 2
    fi

    local dump="${positional[0]}" url="${positional[1]:-}"
    if [ ! -f "$dump" ] || [ ! -r "$dump" ]; then die 4 "dump file not readable: $dump"; fi
    pg_restore --list -- "$dump" >/dev/null 2>&1 || die 4 "not a pg_dump custom-format file: $dump"

    [ -n "$url" ] || url="$(setting RESTORE_DATABASE_URL DATABASE_OWNER_URL DATABASE_URL)"
    [ -n "$url" ] || die 2 "no target: pass a database URL or set DATABASE_URL"
    export_pg_env "$url" || die 2 "unusable target URL"

    local tables
    tables="$(psql --no-password --no-psqlrc -X -At -v ON_ERROR_STOP=1 -c \
        "SELECT count(*) FROM pg_catalog.pg_tables
          WHERE schemaname NOT IN ('pg_catalog', 'information_schema')" 2>&1)" \
        || die 5 "cannot reach $(pg_target): $tables"
    if [ "$tables" -gt 0 ] && [ "$confirmed" -ne 1 ]; then
        die 3 "$(pg_target) already has $tables table(s); re-run with --yes to replace them"
    fi

    say "restoring $dump into $(pg_target) (existing tables: $tables)"
    pg_restore --no-password --dbname="$PGDATABASE" --clean --if-exists --no-owner \
        --single-transaction --exit-on-error "${acl_args[@]+"${acl_args[@]}"}" -- "$dump" \
        || die 1 "pg_restore failed; the transaction was rolled back, $(pg_target) is unchanged"
    say "restore ok into $(pg_target)"
}

main "$@"

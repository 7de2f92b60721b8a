#!/usr/bin/env bash
# Dump HydroNet's PostgreSQL database, verify the dump, prune old dumps.
#
#   backup.sh            (run daily by hydronet-backup.timer)
#
# Environment (each also read from $HYDRONET_ENV_FILE, default /opt/hydronet/.env):
#   BACKUP_DATABASE_URL | DATABASE_OWNER_URL | DATABASE_URL
#                      the first one set is dumped.  Use a role that can read
#                      every row: the table owner or a BYPASSRLS role — with
#                      row-level security on, the app role cannot dump.
#                      postgresql+psycopg2:// is accepted.
#   BACKUP_DIR         default /var/backups/hydronet
#   RETENTION_DAYS     dumps older than this many days are deleted (default 30)
#   BACKUP_PREFIX      file name prefix (default hydronet)
#
# Writes $BACKUP_DIR/<prefix>-<UTC timestamp>.dump (pg_dump custom format,
# compressed) through a temporary name, checks it with `pg_restore --list`,
# then renames it.  One log line on success and on failure, to stdout/stderr
# and to syslog (tag hydronet-backup).  Exit status is non-zero on any failure,
# and old dumps are pruned only after a good one was written.
set -euo pipefail
umask 077

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/pgenv.sh
. "$here/lib/pgenv.sh"

BACKUP_DIR="${BACKUP_DIR:-$(setting BACKUP_DIR)}"
BACKUP_DIR="${BACKUP_DIR:-/var/backups/hydronet}"
RETENTION_DAYS="${RETENTION_DAYS:-$(setting RETENTION_DAYS)}"
RETENTION_DAYS="${RETENTION_DAYS:-30}"
BACKUP_PREFIX="${BACKUP_PREFIX:-hydronet}"

step="start"
partial=""
started=$SECONDS

log() {
    # log LEVEL MESSAGE: a timestamped line; errors go to stderr.  Under
    # systemd stdout already reaches the journal, so syslog is skipped there.
    local level="$1" message="$2" line
    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) hydronet-backup $level: $message"
    if [ "$level" = "ERROR" ]; then echo "$line" >&2; else echo "$line"; fi
    if [ -z "${JOURNAL_STREAM:-}" ] && command -v logger >/dev/null 2>&1; then
        local priority=user.info
        [ "$level" = "ERROR" ] && priority=user.err
        logger -t hydronet-backup -p "$priority" -- "$level: $message" 2>/dev/null || true
    fi
}

on_exit() {
    local status=$?
    [ -n "$partial" ] && rm -f -- "$partial"
    if [ "$status" -ne 0 ]; then
        log ERROR "backup FAILED at step '$step' (exit $status) target=$(pg_target)"
    fi
    exit "$status"
}
trap on_exit EXIT

main() {
    case "$RETENTION_DAYS" in
        ''|*[!0-9]*) step="config"; echo "RETENTION_DAYS must be a whole number of days" >&2; return 2 ;;
    esac

    step="config"
    local url
    url="$(setting BACKUP_DATABASE_URL DATABASE_OWNER_URL DATABASE_URL)"
    if [ -z "$url" ]; then
        echo "no DATABASE_URL in the environment or $HYDRONET_ENV_FILE" >&2
        return 2
    fi
    export_pg_env "$url"

    step="prepare"
    mkdir -p -- "$BACKUP_DIR"
    chmod 0700 -- "$BACKUP_DIR"
    # One backup at a time (a manual run during the timer's run, say).
    exec 9>"$BACKUP_DIR/.backup.lock"
    flock -n 9 || { echo "another backup is running (lock $BACKUP_DIR/.backup.lock)" >&2; return 3; }

    local stamp final
    stamp="$(date -u +%Y%m%dT%H%M%SZ)"
    final="$BACKUP_DIR/$BACKUP_PREFIX-$stamp.dump"
    partial="$final.partial"

    step="pg_dump"
    pg_dump --no-password --format=custom --compress=6 --file="$partial"

    step="verify"
    local entries
    entries="$(pg_restore --list -- "$partial" | grep -c ' TABLE DATA ' || true)"
    sync -- "$partial" 2>/dev/null || true

    step="rename"
    mv -f -- "$partial" "$final"
    partial=""

    step="prune"
    local pruned
    pruned="$(find "$BACKUP_DIR" -maxdepth 1 -type f \
        \( -name "$BACKUP_PREFIX-*.dump" -mmin +$((RETENTION_DAYS * 1440)) \
        -o -name "$BACKUP_PREFIX-*.dump.partial" -mmin +1440 \) \
        -print -delete | wc -l)"

    step="done"
    local size
    size="$(stat -c %s -- "$final")"
    log INFO "backup ok file=$final size=$size tables_with_data=$entries pruned=$pruned retention_days=$RETENTION_DAYS seconds=$((SECONDS - started)) target=$(pg_target)"
}

main "$@"

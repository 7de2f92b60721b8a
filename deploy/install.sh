#!/usr/bin/env bash
# Install (or upgrade) HydroNet on one Ubuntu 22.04 / Debian 12 host.
#
#   sudo deploy/install.sh            # from a checkout of the repository
#
# Safe to run again: every step checks before it creates, .env is written only
# when absent (never overwritten), and a re-run after `git pull` deploys the
# new code with a graceful reload.  Settings (environment):
#   APP_ROOT=/opt/hydronet   APP_USER=hydronet   PORTS="5000 5001"
#   DB_NAME=hydronet  DB_OWNER=hydronet_owner  DB_APP=hydronet_app
#   SERVER_NAME=_  (nginx server_name; set your domain for certbot)
#   SSH_PORT=22  SKIP_UFW=0  SKIP_APT=0
set -euo pipefail

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP_ROOT="${APP_ROOT:-/opt/hydronet}"
APP_USER="${APP_USER:-hydronet}"
PORTS="${PORTS:-5000 5001}"
DB_NAME="${DB_NAME:-hydronet}"
DB_OWNER="${DB_OWNER:-hydronet_owner}"
DB_APP="${DB_APP:-hydronet_app}"
SERVER_NAME="${SERVER_NAME:-_}"
SSH_PORT="${SSH_PORT:-22}"
SKIP_UFW="${SKIP_UFW:-0}"
SKIP_APT="${SKIP_APT:-0}"
BACKUP_DIR="${BACKUP_DIR:-/var/backups/hydronet}"
ENV_FILE="$APP_ROOT/.env"
VENV="$APP_ROOT/venv"
PYTHON=""
export HYDRONET_ENV_FILE="$ENV_FILE"
# env_file_value KEY reads $HYDRONET_ENV_FILE (shared with backup.sh).
# shellcheck source-path=SCRIPTDIR source=lib/pgenv.sh
. "$SRC_DIR/deploy/lib/pgenv.sh"

step() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
new_secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(48))'; }
new_password() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
as_postgres() { runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -qAt "$@"; }

require_root() {
    [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0)"
    [ -f "$SRC_DIR/app_saas.py" ] || die "$SRC_DIR does not look like a HydroNet checkout (no app_saas.py)"
    case "$PORTS" in ''|*[!0-9\ ]*) die "PORTS must be space-separated port numbers" ;; esac
}

python_is_new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

install_packages() {
    step "System packages"
    local packages=(build-essential libpq-dev postgresql postgresql-client redis-server nginx
                    ufw rsync logrotate ca-certificates)
    # numpy 2.4, SQLAlchemy 2.1 and pandas 3 need Python >= 3.11; Ubuntu
    # 22.04's python3 is 3.10, its python3.11 package is used instead.
    if python_is_new_enough python3; then
        packages+=(python3 python3-venv python3-dev)
    else
        packages+=(python3.11 python3.11-venv python3.11-dev)
    fi
    if [ "$SKIP_APT" = 1 ]; then
        note "SKIP_APT=1: not installing ${packages[*]}"
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    note "installed/checked: ${packages[*]}"
}

choose_python() {
    local candidate
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null && python_is_new_enough "$candidate"; then
            PYTHON="$(command -v "$candidate")"
            return
        fi
    done
    die "no Python >= 3.11 found"
}

create_user() {
    step "System user $APP_USER"
    if id -u "$APP_USER" >/dev/null 2>&1; then
        note "exists"
    else
        useradd --system --user-group --home-dir "$APP_ROOT" --no-create-home \
            --shell /usr/sbin/nologin "$APP_USER"
        note "created"
    fi
}

sync_code() {
    step "Code in $APP_ROOT"
    install -d -m 0751 -o root -g "$APP_USER" "$APP_ROOT"
    if [ "$SRC_DIR" -ef "$APP_ROOT" ]; then
        note "running from $APP_ROOT itself: nothing to copy"
    else
        # The venv, .env, instance data and logs live in APP_ROOT only.
        rsync -a --delete \
            --exclude '/venv/' --exclude '/.venv/' --exclude '/.env' --exclude '/instance/' \
            --exclude '/.git/' --exclude '__pycache__/' --exclude '*.pyc' \
            --exclude '/.pytest_cache/' --exclude '/test-artifacts/' \
            "$SRC_DIR/" "$APP_ROOT/"
        note "copied from $SRC_DIR"
    fi
    # Code: owned by root, readable by the app's group, not writable by the
    # app.  The venv, .env and instance/ keep their own owners and modes.
    find "$APP_ROOT" -mindepth 1 -maxdepth 1 ! -name venv ! -name .env ! -name instance \
        -exec chown -R root:"$APP_USER" {} + -exec chmod -R u=rwX,g=rX,o= {} +
    chmod 0755 "$APP_ROOT"/deploy/*.sh
    # nginx (www-data) serves static/ directly.
    if [ -d "$APP_ROOT/static" ]; then chmod -R o+rX "$APP_ROOT/static"; fi
    install -d -m 0750 -o "$APP_USER" -g "$APP_USER" "$APP_ROOT/instance"
    install -d -m 0750 -o "$APP_USER" -g "$APP_USER" /var/log/hydronet
    install -d -m 0700 -o "$APP_USER" -g "$APP_USER" "$BACKUP_DIR"
}

setup_venv() {
    step "Python virtualenv $VENV ($PYTHON)"
    if [ -x "$VENV/bin/python" ] && ! python_is_new_enough "$VENV/bin/python"; then
        note "existing venv is older than Python 3.11: recreating"
        rm -rf "$VENV"
    fi
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip wheel
    "$VENV/bin/pip" install -q -r "$APP_ROOT/requirements_saas.txt"
    chown -R root:"$APP_USER" "$VENV"
    chmod -R u=rwX,g=rX,o= "$VENV"
    note "requirements_saas.txt installed"
}

# --- secrets and .env --------------------------------------------------------

# url_password URL: the password part of a URL, decoded.
url_password() {
    python3 -c 'import sys; from urllib.parse import urlsplit, unquote; print(unquote(urlsplit(sys.argv[1]).password or ""))' "$1"
}

OWNER_PW=""
APP_PW=""
REDIS_PW=""

load_or_create_env() {
    step "Settings $ENV_FILE"
    if [ -f "$ENV_FILE" ]; then
        note "exists: kept as it is (passwords below are read from it)"
        APP_PW="$(url_password "$(env_file_value DATABASE_URL)")"
        OWNER_PW="$(url_password "$(env_file_value DATABASE_OWNER_URL)")"
        REDIS_PW="$(url_password "$(env_file_value REDIS_URL)")"
        [ -n "$APP_PW" ] || note "warning: DATABASE_URL in .env has no password; role $DB_APP left unchanged"
        return
    fi
    APP_PW="$(new_password)"
    OWNER_PW="$(new_password)"
    REDIS_PW="$(new_password)"
    local encryption_key tmp
    encryption_key="$(python3 -c 'import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')"
    tmp="$(mktemp "$APP_ROOT/.env.XXXXXX")"
    cat >"$tmp" <<EOF
# HydroNet settings, written by deploy/install.sh on $(date -u +%Y-%m-%d).
# install.sh never overwrites this file.  After editing it, restart the app
# servers one at a time: systemctl restart hydronet@5000; systemctl restart hydronet@5001
DEBUG=False
SECRET_KEY=$(new_secret)
JWT_SECRET_KEY=$(new_secret)
SECRETS_ENCRYPTION_KEYS=$encryption_key

# The app connects as $DB_APP (owns no tables, no BYPASSRLS); migrations and
# backups use the owner role.
DATABASE_URL=postgresql://$DB_APP:$APP_PW@127.0.0.1:5432/$DB_NAME
DATABASE_OWNER_URL=postgresql://$DB_OWNER:$OWNER_PW@127.0.0.1:5432/$DB_NAME
REDIS_URL=redis://:$REDIS_PW@127.0.0.1:6379/0
# Refuse to start on the embedded SQLite / in-process fallbacks.
REQUIRE_SERVICES=true

# Qwen (dashscope).  Empty = offline assistant.
ALIYUN_API_KEY=

# nginx is the only proxy in front of gunicorn.
PROXY_COUNT=1

WECHAT_ENABLED=False

# gunicorn (defaults in gunicorn_config.py): GUNICORN_WORKERS, GUNICORN_TIMEOUT, ...
# GUNICORN_ACCESS_LOG=/var/log/hydronet/access.log
EOF
    chown root:"$APP_USER" "$tmp"
    chmod 0640 "$tmp"
    mv "$tmp" "$ENV_FILE"
    note "created with new secrets (mode 0640 root:$APP_USER)"
}

# --- services ----------------------------------------------------------------

configure_redis() {
    step "Redis password"
    local conf=/etc/redis/redis.conf
    [ -f "$conf" ] || { note "no $conf: configure Redis by hand (REDIS_URL)"; return; }
    [ -n "$REDIS_PW" ] || { note "REDIS_URL has no password: $conf left unchanged"; return; }
    if grep -qxF "requirepass $REDIS_PW" "$conf"; then
        note "already set"
        return
    fi
    sed -i '/^[[:space:]]*requirepass[[:space:]]/d' "$conf"
    printf 'requirepass %s\n' "$REDIS_PW" >>"$conf"
    systemctl enable -q redis-server
    systemctl restart redis-server
    note "requirepass set, redis-server restarted"
}

# psql_quote TEXT: TEXT as a single-quoted psql meta-command argument.
psql_quote() {
    local text="${1//\\/\\\\}"
    printf "'%s'" "${text//\'/\'\'}"
}

configure_postgres() {
    step "PostgreSQL roles and database $DB_NAME"
    systemctl enable -q --now postgresql
    # Passwords travel on stdin, never on a command line.
    {
        printf '\\set owner_pw %s\n' "$(psql_quote "$OWNER_PW")"
        printf '\\set app_pw %s\n' "$(psql_quote "$APP_PW")"
        printf '\\set owner %s\n\\set app %s\n' "$DB_OWNER" "$DB_APP"
        cat <<'SQL'
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') AS create_owner \gset
\if :create_owner
CREATE ROLE :"owner" LOGIN;
\endif
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') AS create_app \gset
\if :create_app
CREATE ROLE :"app" LOGIN;
\endif
-- The owner runs migrations and backups: it must read every row even once
-- row-level security is forced on the tables.
ALTER ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS;
-- The app role: no ownership, no way around row-level security.
ALTER ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT;
SELECT :'owner_pw' <> '' AS set_owner_pw, :'app_pw' <> '' AS set_app_pw \gset
\if :set_owner_pw
ALTER ROLE :"owner" PASSWORD :'owner_pw';
\endif
\if :set_app_pw
ALTER ROLE :"app" PASSWORD :'app_pw';
\endif
SQL
    } | as_postgres -d postgres

    if [ -z "$(as_postgres -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]; then
        as_postgres -d postgres -c "CREATE DATABASE \"$DB_NAME\" OWNER \"$DB_OWNER\" ENCODING 'UTF8' TEMPLATE template0"
        note "database created"
    fi
    grant_privileges
}

grant_privileges() {
    # Default privileges make every table the owner creates (migrations)
    # usable by the app role; the ALL TABLES grants cover tables that exist.
    as_postgres -d "$DB_NAME" -v owner="$DB_OWNER" -v app="$DB_APP" -v db="$DB_NAME" <<'SQL'
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
GRANT CONNECT ON DATABASE :"db" TO :"owner";
ALTER SCHEMA public OWNER TO :"owner";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
-- The schema version is the owner's business.
SELECT to_regclass('public.alembic_version') IS NOT NULL AS has_alembic \gset
\if :has_alembic
REVOKE INSERT, UPDATE, DELETE ON public.alembic_version FROM :"app";
\endif
SQL
    note "roles $DB_OWNER (owner, migrations) and $DB_APP (app) ready"
}

init_database() {
    step "Schema and seed data (init_database.py, as $DB_OWNER)"
    local owner_url
    owner_url="$(env_file_value DATABASE_OWNER_URL)"
    owner_url="${owner_url:-$(env_file_value DATABASE_URL)}"
    # Through the environment, not argv: `ps` would show the password.
    (cd "$APP_ROOT" && DATABASE_URL="$owner_url" runuser -u "$APP_USER" -- \
        "$VENV/bin/python" init_database.py)
    grant_privileges
}

install_nginx_site() {
    step "nginx site"
    local upstream_args=() port
    for port in $PORTS; do upstream_args+=(--upstream "127.0.0.1:$port"); done
    "$APP_ROOT/deploy/render_nginx.sh" --root "$APP_ROOT" --server-name "$SERVER_NAME" \
        "${upstream_args[@]}" -o /etc/nginx/sites-available/hydronet
    ln -sfn /etc/nginx/sites-available/hydronet /etc/nginx/sites-enabled/hydronet
    # Debian's default site would answer requests for unknown host names.
    rm -f /etc/nginx/sites-enabled/default
    nginx -t -q
    systemctl enable -q nginx
    systemctl reload-or-restart nginx
    note "/etc/nginx/sites-available/hydronet -> upstreams: $PORTS"
}

install_units() {
    step "systemd units and logrotate"
    local unit
    for unit in "$APP_ROOT"/deploy/systemd/*; do
        sed "s#/opt/hydronet#$APP_ROOT#g; s#^User=hydronet#User=$APP_USER#; s#^Group=hydronet#Group=$APP_USER#" \
            "$unit" >"/etc/systemd/system/$(basename "$unit")"
    done
    sed "s#hydronet hydronet#$APP_USER $APP_USER#g" "$APP_ROOT/deploy/logrotate/hydronet" \
        >/etc/logrotate.d/hydronet
    systemctl daemon-reload
}

start_services() {
    step "Services"
    local port
    for port in $PORTS; do
        systemctl enable -q "hydronet@$port"
        # Running: SIGHUP swaps workers onto the new code without dropping
        # requests.  Stopped: start.
        systemctl reload-or-restart "hydronet@$port"
    done
    systemctl enable -q hydronet-worker
    systemctl restart hydronet-worker
    systemctl enable -q --now hydronet-backup.timer
    note "hydronet@{${PORTS// /,}}, hydronet-worker, hydronet-backup.timer"
}

configure_firewall() {
    step "Firewall"
    if [ "$SKIP_UFW" = 1 ]; then note "SKIP_UFW=1: skipped"; return; fi
    ufw allow "$SSH_PORT/tcp" >/dev/null
    ufw allow 80/tcp >/dev/null
    ufw allow 443/tcp >/dev/null
    if ufw status | grep -q '^Status: active'; then
        note "ufw active; $SSH_PORT, 80, 443 allowed"
    else
        ufw --force enable >/dev/null
        note "ufw enabled; $SSH_PORT, 80, 443 allowed"
    fi
}

check_health() {
    step "Health"
    local port
    for port in $PORTS; do
        if python3 - "$port" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/api/health"
for _ in range(30):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            sys.exit(0 if r.status == 200 else 1)
    except Exception:
        time.sleep(1)
sys.exit(1)
PY
        then note "127.0.0.1:$port/api/health ok"
        else note "127.0.0.1:$port/api/health FAILED: journalctl -u hydronet@$port -n 50"
        fi
    done
}

next_steps() {
    cat <<EOF

HydroNet is installed in $APP_ROOT.
Next:
  1. Put the Qwen key in $ENV_FILE (ALIYUN_API_KEY=...), then restart one
     server at a time: systemctl restart hydronet@5000; systemctl restart hydronet@5001
  2. Log in as admin@hydronet.com / HydroNet@2025 and change that password now.
  3. HTTPS: SERVER_NAME must be your domain; then follow $APP_ROOT/deploy/HTTPS.md
     (certbot --nginx -d your.domain).
  4. Check the first backup tomorrow: ls -l $BACKUP_DIR; journalctl -u hydronet-backup
     Copy dumps off this host (they hold every tenant's data).
  5. Upgrades: update the checkout and run this script again.
  6. Walk the completion checklist (✅/❌ with fixes) once all of the above is done:
     cd $APP_ROOT && sudo -u hydronet $APP_ROOT/venv/bin/flask --app app_saas:app hydronet check --url https://your.domain
Logs: journalctl -u 'hydronet@*' -u hydronet-worker -f
EOF
}

main() {
    require_root
    install_packages
    choose_python
    create_user
    sync_code
    setup_venv
    load_or_create_env
    configure_redis
    configure_postgres
    init_database
    install_units
    install_nginx_site
    start_services
    configure_firewall
    check_health
    next_steps
}

# Sourcing the file (tests) defines the functions without running anything.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi

"""systemd units, logrotate, shell scripts and the installer's PostgreSQL roles."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import time
import uuid
from urllib.parse import quote, unquote, urlsplit

import pytest
from deploy_support import DEPLOY, database_url, psql, request

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(60)]

SCRIPTS = sorted(str(p) for p in DEPLOY.rglob("*.sh"))


def test_scripts_parse_and_pass_shellcheck():
    for script in SCRIPTS:
        subprocess.run(["bash", "-n", script], check=True)
    if shutil.which("shellcheck"):
        result = subprocess.run(["shellcheck", "-x", *SCRIPTS], capture_output=True, text=True, cwd=DEPLOY)
        assert result.returncode == 0, result.stdout


def test_systemd_units_verify(tmp_path):
    """systemd-analyze verify with /opt/hydronet moved to a tmp dir holding stand-in executables."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed")
    root = tmp_path / "opt"
    for name in ("deploy/migrate.sh", "deploy/backup.sh", "venv/bin/gunicorn", "venv/bin/flask"):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    (root / ".env").write_text("")
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        name = unit.name.replace("@.service", "@5000.service")
        (tmp_path / name).write_text(unit.read_text().replace("/opt/hydronet", str(root)))
        units.append(f"./{name}")
    result = subprocess.run([tool, "verify", "--man=no", *units], cwd=tmp_path, capture_output=True, text=True)
    complaints = [line for line in result.stderr.splitlines() if "hydronet" in line]
    assert result.returncode == 0 and not complaints, result.stderr
    service = (DEPLOY / "systemd" / "hydronet@.service").read_text()
    assert "Type=notify" in service and "--bind 127.0.0.1:%i" in service
    assert "ExecStartPre=/opt/hydronet/deploy/migrate.sh" in service
    assert "hydronet migrate" in (DEPLOY / "migrate.sh").read_text()


def test_logrotate_rotates_and_gunicorn_reopens_on_usr1(tmp_path, processes):
    """The postrotate USR1 choice: after rotation the running gunicorn writes to the new file."""
    if shutil.which("logrotate") is None:
        pytest.skip("logrotate not installed")
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o750)
    unit = processes.gunicorn(GUNICORN_WORKERS="1", GUNICORN_ACCESS_LOG=str(logs / "access.log"))
    request(unit.port, "GET", "/api/health?before")
    time.sleep(0.3)

    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    config = (DEPLOY / "logrotate" / "hydronet").read_text()
    config = (
        config.replace("/var/log/hydronet", str(logs))
        .replace("su hydronet hydronet", f"su {user} {group}")
        .replace("create 0640 hydronet hydronet", f"create 0640 {user} {group}")
    )
    postrotate = next(line for line in config.splitlines() if "systemctl kill" in line)
    config = config.replace(postrotate, f"        kill -USR1 {unit.proc.pid}")
    (tmp_path / "logrotate.conf").write_text(config)
    subprocess.run(
        ["logrotate", "-f", "-s", str(tmp_path / "state"), str(tmp_path / "logrotate.conf")],
        check=True,
        capture_output=True,
        text=True,
    )

    time.sleep(0.5)
    request(unit.port, "GET", "/api/health?after")
    time.sleep(0.5)
    [rotated] = [p for p in logs.iterdir() if p.name.startswith("access.log-")]
    assert "?before" in rotated.read_text() and "?after" not in rotated.read_text()
    assert "?after" in (logs / "access.log").read_text()


@pytest.fixture
def installer_roles(pg_admin):
    """Run install.sh's configure_postgres with throwaway role and database names."""
    suffix = uuid.uuid4().hex[:8]
    names = {
        "DB_NAME": f"hn_inst_{suffix}",
        "DB_OWNER": f"hn_owner_{suffix}",
        "DB_APP": f"hn_app_{suffix}",
        "OWNER_PW": f"owner'pw-{suffix}",
        "APP_PW": f"app-pw-{suffix}",
    }
    script = f"""
set -euo pipefail
. {DEPLOY / "install.sh"}
as_postgres() {{ psql -X -v ON_ERROR_STOP=1 -qAt "$@"; }}   # instead of runuser -u postgres
systemctl() {{ :; }}
configure_postgres
configure_postgres   # a re-run changes nothing and does not fail
"""
    admin = urlsplit(pg_admin)
    env = dict(
        os.environ,
        **names,
        PGHOST=admin.hostname or "",
        PGPORT=str(admin.port or 5432),
        PGUSER=admin.username or "postgres",
        PGPASSWORD=unquote(admin.password or ""),
    )
    try:
        result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        yield names
    finally:
        psql(pg_admin, f'DROP DATABASE IF EXISTS "{names["DB_NAME"]}" WITH (FORCE)', check=False)
        psql(pg_admin, f'DROP ROLE IF EXISTS "{names["DB_OWNER"]}"', check=False)
        psql(pg_admin, f'DROP ROLE IF EXISTS "{names["DB_APP"]}"', check=False)


def _as(role: str, password: str, database: str) -> str:
    base = database_url(database)
    scheme, rest = base.split("://", 1)
    host = rest.split("@", 1)[-1]
    return f"{scheme}://{role}:{quote(password, safe='')}@{host}"


def test_installer_creates_an_owner_and_an_app_role_that_owns_nothing(installer_roles):
    n = installer_roles
    owner = _as(n["DB_OWNER"], n["OWNER_PW"], n["DB_NAME"])
    app = _as(n["DB_APP"], n["APP_PW"], n["DB_NAME"])
    # Migrations run as the owner; default privileges open new tables to the app.
    psql(owner, "CREATE TABLE tenants (id serial PRIMARY KEY, name text)")
    assert psql(app, "INSERT INTO tenants (name) VALUES ('a') RETURNING id") == "1"
    assert (
        psql(
            app, "SELECT rolbypassrls, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        )
        == "f|f|f|f"
    )
    assert psql(app, "SELECT count(*) FROM pg_tables WHERE tableowner = current_user") == "0"
    refused = subprocess.run(
        ["psql", "-X", "-d", app, "-c", "CREATE TABLE evil (i int)"], capture_output=True, text=True
    )
    assert refused.returncode != 0 and "permission denied" in refused.stderr
    assert psql(owner, "SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user") == "t"

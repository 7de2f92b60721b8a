"""Tenant MCP servers: CRUD, secrets masked, plan limits, tenancy, and the connection test's error codes."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import threading
import time
import uuid

import pytest

from hydronet.kernel.audit import AuditLog
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import McpServer
from tests.fakes.mcp_server import FAKE_TOKEN

BASE = "/api/tenant/mcp-servers"
TOKEN = "Bearer live-secret-token-abcdef-9876"


@pytest.fixture
def admin(factory, two_tenants):
    return factory.headers(two_tenants["a_users"]["admin"])


def _create(client, auth, **body):
    payload = {"name": "pumps", "url": "https://mcp.example.com/mcp", **body}
    return client.post(BASE, headers=auth, json=payload)


def _stored(app, server_id) -> McpServer:
    with app.app_context(), all_tenants(db.session):
        return db.session.get(McpServer, server_id)


def test_crud_keeps_header_values_secret(app, client, admin):
    resp = _create(client, admin, headers={"Authorization": TOKEN}, allowed_tools=["echo"], timeout_s=5)
    assert resp.status_code == 201, resp.get_json()
    server = resp.get_json()["mcp_server"]
    assert server["headers"] == {"Authorization": "••••••••9876"}
    assert server["allowed_tools"] == ["echo"] and server["timeout_s"] == 5 and server["tools"] is None
    assert "live-secret" not in resp.get_data(as_text=True)
    stored = _stored(app, uuid.UUID(server["id"]))
    assert stored.headers_encrypted.startswith("enc1:") and "live-secret" not in stored.headers_encrypted

    sid = server["id"]
    assert [s["id"] for s in client.get(BASE, headers=admin).get_json()["mcp_servers"]] == [sid]
    # sending back the masked value keeps the secret; a new header is added; null removes
    patched = client.patch(
        f"{BASE}/{sid}",
        headers=admin,
        json={"enabled": False, "headers": {"Authorization": "••••••••9876", "X-Site": "north"}},
    )
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["mcp_server"]["enabled"] is False
    with app.app_context():
        from hydronet.mcp.servers import decrypt_headers

        assert decrypt_headers(_stored(app, stored.id)) == {"Authorization": TOKEN, "X-Site": "north"}
        client.patch(f"{BASE}/{sid}", headers=admin, json={"headers": {"X-Site": None}})
        assert decrypt_headers(_stored(app, stored.id)) == {"Authorization": TOKEN}
        cleared = client.patch(f"{BASE}/{sid}", headers=admin, json={"headers": None})
        assert cleared.get_json()["mcp_server"]["headers"] == {}

    assert client.delete(f"{BASE}/{sid}", headers=admin).get_json() == {"success": True, "deleted": True}
    assert client.get(f"{BASE}/{sid}", headers=admin).status_code == 404
    with app.app_context(), all_tenants(db.session):
        entries = db.session.query(AuditLog).filter(AuditLog.action.like("mcp.%")).order_by(AuditLog.id).all()
        assert [e.action for e in entries] == ["mcp.create", "mcp.update", "mcp.update", "mcp.update", "mcp.delete"]
        assert entries[0].details["header_names"] == ["Authorization"]
        assert "live-secret" not in json.dumps([e.details for e in entries])


def test_another_tenants_server_is_404(client, factory, two_tenants, admin):
    sid = _create(client, admin).get_json()["mcp_server"]["id"]
    outsider = factory.headers(two_tenants["b_owner"])
    assert client.get(BASE, headers=outsider).get_json()["mcp_servers"] == []
    for method, url in (
        ("GET", f"{BASE}/{sid}"),
        ("PATCH", f"{BASE}/{sid}"),
        ("DELETE", f"{BASE}/{sid}"),
        ("POST", f"{BASE}/{sid}/test"),
    ):
        resp = client.open(url, method=method, headers=outsider, json={"enabled": False})
        assert resp.status_code == 404, (method, url)
    assert client.get(f"{BASE}/{sid}", headers=admin).get_json()["mcp_server"]["enabled"] is True


@pytest.mark.parametrize("role, status", [("owner", 201), ("admin", 201), ("member", 403), ("viewer", 403)])
def test_only_owners_and_admins_manage(client, factory, two_tenants, role, status):
    assert _create(client, factory.headers(two_tenants["a_users"][role])).status_code == status


@pytest.mark.parametrize("plan, allowed", [("free", 0), ("basic", 2)])
def test_server_count_limited_by_plan(client, factory, plan, allowed):
    headers = factory.headers(factory.user(factory.tenant(plan=plan), role="owner"))
    for i in range(allowed):
        assert _create(client, headers, name=f"s{i}").status_code == 201
    refused = _create(client, headers, name="one-too-many")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "quota_exceeded"
    assert refused.get_json()["error"]["quota"] == "mcp_servers"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "bad name!"}, "name"),
        ({"name": ""}, "name"),
        ({"url": "ftp://mcp.example.com/"}, "url"),
        ({"url": "https://user:pw@mcp.example.com/"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ({"url": "http://127.0.0.1:8080/mcp"}, "url"),
        ({"url": "http://localhost/mcp"}, "url"),
        ({"url": "http://[::1]/mcp"}, "url"),
        ({"url": "http://10.1.2.3/mcp"}, "url"),
        ({"headers": {"Host": "evil.example.com"}}, "headers"),
        ({"headers": {"X-Token": "a\r\nInjected: 1"}}, "headers"),
        ({"headers": ["Authorization"]}, "headers"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": "5"}, "timeout_s"),
        ({"timeout_s": 10**400}, "timeout_s"),
        ({"timeout_s": float("nan")}, "timeout_s"),
        ({"name": 123}, "name"),
        ({"url": ["https://mcp.example.com"]}, "url"),
        ({"headers": {"X-Count": 1}}, "headers"),
        ({"headers": {"": "x"}}, "headers"),
        ({"headers": {f"X-H{i}": "v" for i in range(21)}}, "headers"),
        ({"allowed_tools": [1]}, "allowed_tools"),
        ({"allowed_tools": "echo"}, "allowed_tools"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
def test_invalid_input_is_422(client, admin, body, field):
    resp = _create(client, admin, **body)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]


def test_duplicate_name_is_409(client, admin):
    assert _create(client, admin).status_code == 201
    resp = _create(client, admin, url="https://other.example.com/mcp")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "mcp_server_exists"


def test_test_action_lists_and_caches_tools(mcp_client, mcp_app, fake_mcp, factory, two_tenants):
    headers = factory.headers(two_tenants["a_users"]["owner"])
    sid = _create(
        mcp_client,
        headers,
        url=fake_mcp.url,
        headers={"Authorization": f"Bearer {FAKE_TOKEN}"},
        allowed_tools=["echo", "add"],
    ).get_json()["mcp_server"]["id"]
    resp = mcp_client.post(f"{BASE}/{sid}/test", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert {t["name"] for t in body["tools"]} == {"echo", "add", "fail", "slow"}
    echo = next(t for t in body["tools"] if t["name"] == "echo")
    assert echo["input_schema"]["properties"]["text"]["type"] == "string"
    listed = {t["name"]: t for t in body["mcp_server"]["tools"]}
    assert listed["echo"]["chat_name"] == "pumps__echo" and listed["echo"]["allowed"] is True
    assert listed["fail"]["allowed"] is False
    assert body["mcp_server"]["last_error"] is None and body["mcp_server"]["last_tested_at"]
    # a new URL drops the cache
    patched = mcp_client.patch(f"{BASE}/{sid}", headers=headers, json={"url": fake_mcp.url + "/"})
    assert patched.get_json()["mcp_server"]["tools"] is None


class _OddServer(http.server.BaseHTTPRequestHandler):
    """Answers every request per the server's ``mode``: html, hang."""

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        if self.server.mode == "hang":
            time.sleep(3)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>Welcome</body></html>")

    do_GET = do_POST  # noqa: N815 (http.server dispatches on this name)


def _self_signed(tmp_path) -> ssl.SSLContext:
    """A TLS server context with a self-signed certificate for 127.0.0.1 (not trusted by clients)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


@pytest.fixture
def odd_server(tmp_path):
    servers = []

    def start(mode: str, tls: bool = False) -> str:
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OddServer)
        srv.mode = mode
        if tls:
            srv.socket = _self_signed(tmp_path).wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"{'https' if tls else 'http'}://127.0.0.1:{srv.server_port}/mcp"

    yield start
    for srv in servers:
        srv.shutdown()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "case, status, code",
    [
        ("wrong_token", 502, "mcp_auth_refused"),
        ("unreachable", 502, "mcp_unreachable"),
        ("not_mcp", 502, "mcp_not_mcp_server"),
        ("tls", 502, "mcp_tls_error"),
        ("tls_untrusted", 502, "mcp_tls_error"),
        ("timeout", 504, "mcp_timeout"),
    ],
)
def test_test_action_error_codes(mcp_client, mcp_app, fake_mcp, odd_server, factory, two_tenants, case, status, code):
    headers = factory.headers(two_tenants["a_users"]["admin"])
    body = {
        "wrong_token": {"url": fake_mcp.url, "headers": {"Authorization": "Bearer not-the-token-zq7"}},
        "unreachable": {"url": f"http://127.0.0.1:{_free_port()}/mcp"},
        "not_mcp": {"url": odd_server("html") if case == "not_mcp" else ""},
        "tls": {"url": fake_mcp.url.replace("http://", "https://")},
        "tls_untrusted": {"url": odd_server("html", tls=True) if case == "tls_untrusted" else ""},
        "timeout": {"url": odd_server("hang") if case == "timeout" else "", "timeout_s": 1},
    }[case]
    sid = _create(mcp_client, headers, **body).get_json()["mcp_server"]["id"]
    started = time.monotonic()
    resp = mcp_client.post(f"{BASE}/{sid}/test", headers=headers)
    assert time.monotonic() - started < 8
    assert resp.status_code == status, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == code and error["message"]
    assert "zq7" not in resp.get_data(as_text=True)  # header values never echoed
    server = mcp_client.get(f"{BASE}/{sid}", headers=headers).get_json()["mcp_server"]
    assert server["last_error"].startswith(code) and server["tools"] is None


def test_default_app_refuses_loopback_at_connect_time(app, client, fake_mcp, factory, two_tenants):
    """A server stored while private addresses were allowed is refused once they are not."""
    owner = two_tenants["a_users"]["owner"]
    with app.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        row = McpServer(tenant_id=two_tenants["a"].id, name="legacy", url=fake_mcp.url, headers_encrypted="")
        db.session.add(row)
        db.session.commit()
        sid = row.id
    resp = client.post(f"{BASE}/{sid}/test", headers=factory.headers(owner))
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "mcp_url_not_allowed"
    message = resp.get_json()["error"]["message"]
    assert "is not allowed" in message and "non-public" not in message
    assert fake_mcp.calls == []


def test_unreadable_headers_are_flagged_and_replaceable(app, client, admin):
    sid = _create(client, admin, headers={"Authorization": TOKEN}).get_json()["mcp_server"]["id"]
    with app.app_context(), all_tenants(db.session):
        db.session.get(McpServer, uuid.UUID(sid)).headers_encrypted = "enc1:written-with-a-dropped-key"
        db.session.commit()
    shown = client.get(f"{BASE}/{sid}", headers=admin).get_json()["mcp_server"]
    assert shown["headers"] == {} and shown["headers_unreadable"] is True
    assert client.post(f"{BASE}/{sid}/test", headers=admin).get_json()["error"]["code"] == "mcp_headers_unreadable"
    fixed = client.patch(f"{BASE}/{sid}", headers=admin, json={"headers": {"Authorization": TOKEN}})
    assert fixed.get_json()["mcp_server"]["headers"] == {"Authorization": "••••••••9876"}

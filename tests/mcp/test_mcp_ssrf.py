"""The SSRF guard: static URL checks, the address policy, and enforcement at connect time (DNS, redirects)."""

from __future__ import annotations

import http.server
import ipaddress
import threading

import anyio
import httpx2
import pytest

from hydronet.mcp.client import Endpoint, McpClientError, list_tools
from hydronet.mcp.ssrf import EgressPolicy, GuardedBackend, GuardedTransport, UrlNotAllowed, check_url

DEFAULT = EgressPolicy()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "169.254.169.254",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2002:7f00:1::1",
        "ff02::1",
    ],
)
def test_non_public_addresses_refused_by_default(address):
    with pytest.raises(UrlNotAllowed):
        DEFAULT.check_address("mcp.example.com", ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_allowed(address):
    DEFAULT.check_address("mcp.example.com", ipaddress.ip_address(address))


def test_allow_private_still_keeps_metadata_closed():
    policy = EgressPolicy.from_config({"MCP_ALLOW_PRIVATE": True})
    policy.check_address("pumps.lan", ipaddress.ip_address("10.0.0.7"))
    policy.check_address("localhost", ipaddress.ip_address("127.0.0.1"))
    for host, address in (("x", "169.254.169.254"), ("x", "fd00:ec2::254"), ("metadata.google.internal", "10.0.0.1")):
        with pytest.raises(UrlNotAllowed):
            policy.check_address(host, ipaddress.ip_address(address))
    with pytest.raises(UrlNotAllowed):
        check_url("http://metadata.google.internal/computeMetadata/v1/", policy)


def test_allow_list_by_host_and_network():
    policy = EgressPolicy.from_config({"MCP_ALLOWED_HOSTS": ["Pumps.Internal", "10.20.0.0/16"]})
    policy.check_address("pumps.internal", ipaddress.ip_address("10.9.9.9"))
    policy.check_address("other.internal", ipaddress.ip_address("10.20.1.1"))
    with pytest.raises(UrlNotAllowed):
        policy.check_address("other.internal", ipaddress.ip_address("10.9.9.9"))
    check_url("http://pumps.internal:8000/mcp", policy)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://mcp.example.com/",
        "file:///etc/passwd",
        "gopher://x/",
        "http:///mcp",
        "https://u:p@mcp.example.com/",
        "http://127.0.0.1/",
        "http://[::1]:8000/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://127.1/",
        "http://localhost:8000/",
        "http://a.localhost/",
        "http://169.254.169.254/",
        "http://metadata.google.internal/",
        "http://mcp.example.com:99999/",
    ],
)
def test_static_url_check_refuses(url):
    with pytest.raises(UrlNotAllowed):
        check_url(url, DEFAULT)


@pytest.mark.parametrize(
    "url", ["https://mcp.example.com/mcp", "http://8.8.8.8:8080/mcp", "https://[2606:4700::1111]/"]
)
def test_static_url_check_accepts_public_urls(url):
    assert check_url(url, DEFAULT) == url


@pytest.fixture
def fake_dns(monkeypatch):
    """Names resolved by the guard: ``table[name] = [ip, …]`` (what a hostile DNS server could answer)."""
    table: dict[str, list[str]] = {}
    original = GuardedBackend._resolve

    async def resolve(self, host, port):
        if host in table:
            return [ipaddress.ip_address(a) for a in table[host]]
        return await original(self, host, port)

    monkeypatch.setattr(GuardedBackend, "_resolve", resolve)
    return table


class _Hop(http.server.BaseHTTPRequestHandler):
    """``/final`` answers 200; any other path redirects to ``server.location``."""

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.server.hits.append(self.path)
        if self.path == "/final":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"reached")
            return
        self.send_response(302)
        self.send_header("Location", self.server.location)
        self.end_headers()

    do_POST = do_GET  # noqa: N815 (http.server dispatches on this name)


@pytest.fixture
def hop_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hop)
    srv.hits, srv.location = [], "/final"
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()


def test_hostname_resolving_to_loopback_is_refused_at_connect(fake_dns, hop_server):
    """A public-looking name passes the static check but its resolved address is refused."""
    fake_dns["pumps.example.com"] = ["127.0.0.1"]
    url = f"http://pumps.example.com:{hop_server.server_port}/mcp"
    assert check_url(url, DEFAULT) == url
    with pytest.raises(McpClientError) as info:
        list_tools(Endpoint(url, timeout_s=5), DEFAULT)
    assert info.value.code == "mcp_url_not_allowed" and "pumps.example.com is not allowed" in info.value.detail
    assert "127.0.0.1" not in info.value.detail  # refusals never map the operator's network
    assert hop_server.hits == []


def _get(policy: EgressPolicy, url: str) -> tuple[httpx2.Response | None, GuardedTransport, Exception | None]:
    transport = GuardedTransport(policy)

    async def main():
        async with httpx2.AsyncClient(transport=transport, follow_redirects=True, timeout=5) as http:
            return await http.get(url)

    try:
        return anyio.run(main), transport, None
    except httpx2.HTTPError as exc:
        return None, transport, exc


def test_every_redirect_hop_is_checked(fake_dns, hop_server):
    fake_dns["hop.test"] = ["127.0.0.1"]
    policy = EgressPolicy.from_config({"MCP_ALLOWED_HOSTS": ["hop.test"]})
    port = hop_server.server_port
    hop_server.location = f"http://hop.test:{port}/final"  # same allowed host: followed
    response, _transport, _exc = _get(policy, f"http://hop.test:{port}/start")
    assert response is not None and response.text == "reached"
    hop_server.hits.clear()
    hop_server.location = f"http://127.0.0.1:{port}/final"  # the next hop is loopback: refused
    response, transport, exc = _get(policy, f"http://hop.test:{port}/start")
    assert response is None and isinstance(exc, httpx2.ConnectError)
    assert "127.0.0.1 is not allowed" in (transport.backend.refused or "")
    assert hop_server.hits == ["/start"]


def test_every_address_of_a_rebinding_answer_is_vetted(fake_dns, hop_server):
    """A name answering with private addresses (a DNS-rebinding attack) never gets a connection."""
    fake_dns["mixed.example.com"] = ["10.0.0.1", "127.0.0.1"]
    response, transport, exc = _get(DEFAULT, f"http://mixed.example.com:{hop_server.server_port}/final")
    assert response is None and transport.backend.refused and hop_server.hits == []


def test_registering_an_intranet_name_is_refused_without_naming_its_address(client, factory, two_tenants, fake_dns):
    """The refusal says the host is not allowed; what it resolves to stays on the server (issue 21)."""
    fake_dns["vm"] = ["127.0.0.1"]
    fake_dns["intranet.example.com"] = ["10.20.30.40"]
    headers = factory.headers(two_tenants["a_users"]["owner"])
    for host, address in (("vm", "127.0.0.1"), ("intranet.example.com", "10.20.30.40")):
        created = client.post(
            "/api/tenant/mcp-servers",
            headers=headers,
            json={"name": host.split(".")[0], "url": f"http://{host}:18900/mcp"},
        )
        assert created.status_code == 201, created.get_json()
        sid = created.get_json()["mcp_server"]["id"]
        resp = client.post(f"/api/tenant/mcp-servers/{sid}/test", headers=headers)
        body = resp.get_data(as_text=True)
        stored = client.get(f"/api/tenant/mcp-servers/{sid}", headers=headers).get_data(as_text=True)
        assert address not in stored
        assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "mcp_url_not_allowed", body
        assert f"{host} is not allowed" in body and address not in body

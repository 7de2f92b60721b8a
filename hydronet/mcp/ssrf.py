"""SSRF guard for tenant-supplied MCP server URLs.

Tenants choose the URL, so HydroNet must not become their way into the
operator's network.  Every TCP connection the MCP client makes goes through
:class:`GuardedBackend`: it resolves the host itself, refuses loopback,
private, link-local, reserved, multicast, unspecified and cloud-metadata
addresses, connects to the vetted address (no second lookup, so DNS
rebinding cannot swap it) and checks the peer address of the open socket.
Because the check sits under the HTTP client, every redirect hop and every
reconnect is checked too.  The operator opens it with MCP_ALLOW_PRIVATE or
names hosts/networks in MCP_ALLOWED_HOSTS; metadata endpoints stay closed
unless listed explicitly.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpcore2
import httpx2

log = logging.getLogger(__name__)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "169.254.169.123",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


class UrlNotAllowed(Exception):
    """A URL or an address it resolves to is refused by the egress policy."""


@dataclass(frozen=True)
class EgressPolicy:
    """Where tenant MCP URLs may connect: public addresses, plus what the operator allows."""

    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=())

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EgressPolicy:
        """The policy from MCP_ALLOW_PRIVATE and MCP_ALLOWED_HOSTS (hostnames, IPs or CIDR networks)."""
        hosts: set[str] = set()
        networks = []
        for entry in config.get("MCP_ALLOWED_HOSTS") or ():
            entry = str(entry).strip().lower().strip("[]")
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(bool(config.get("MCP_ALLOW_PRIVATE")), frozenset(hosts), tuple(networks))

    def host_listed(self, host: str) -> bool:
        """Whether the operator named this host explicitly."""
        return _norm_host(host) in self.allowed_hosts

    def check_address(self, host: str, address: IPAddress) -> None:
        """Raise UrlNotAllowed unless ``host`` may connect to ``address``."""
        if self.host_listed(host) or any(address in net for net in self.allowed_networks):
            return
        # The messages reach the tenant: they never name the resolved address, so refusals cannot be used
        # to map the operator's network (the log keeps it for the operator).
        if is_metadata(host, address):
            log.info("MCP egress refused: %s resolves to metadata address %s", host, address)
            raise UrlNotAllowed(f"{host} is not allowed: cloud metadata endpoints are closed")
        if self.allow_private and not address.is_multicast and not address.is_unspecified:
            return
        if not is_public(address):
            log.info("MCP egress refused: %s resolves to non-public address %s", host, address)
            raise UrlNotAllowed(f"{host} is not allowed: HydroNet connects to public addresses only")


def _norm_host(host: str) -> str:
    return host.strip().lower().strip("[]").rstrip(".")


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address (IPv4 inside IPv6 forms checked as IPv4)."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        return is_public(inner)
    if isinstance(address, ipaddress.IPv6Address) and address.teredo is not None:
        return False
    return address.is_global and not address.is_multicast and not address.is_reserved


def is_metadata(host: str, address: IPAddress | None) -> bool:
    """A cloud instance-metadata name or address."""
    if _norm_host(host) in METADATA_HOSTS:
        return True
    if address is None:
        return False
    inner = _embedded_ipv4(address)
    return address in METADATA_ADDRESSES or (inner is not None and inner in METADATA_ADDRESSES)


def check_url(url: str, policy: EgressPolicy) -> str:
    """Static checks before any connection: http(s), a host, no credentials; literal IPs vetted."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UrlNotAllowed("only http:// and https:// URLs are allowed")
    host = parts.hostname or ""
    if not host:
        raise UrlNotAllowed("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlNotAllowed("credentials in the URL are not allowed; send them as headers")
    try:
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise UrlNotAllowed("the URL has an invalid port") from None
    literal = _literal_address(host)
    if literal is not None:
        policy.check_address(host, literal)
    elif is_metadata(host, None) and not policy.host_listed(host):
        raise UrlNotAllowed(f"{host} is a cloud metadata endpoint")
    elif _norm_host(host) in ("localhost", "localhost.localdomain") or _norm_host(host).endswith(".localhost"):
        if not (policy.allow_private or policy.host_listed(host)):
            raise UrlNotAllowed(f"{host} is a loopback name")
    return url


def _literal_address(host: str) -> IPAddress | None:
    """An IP literal, including the legacy IPv4 spellings resolvers accept (0x7f000001, 2130706433, 127.1)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the policy allows."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        self.refused: str | None = None  # why the last connection was refused, for error reports
        self._inner = httpcore2.AnyIOBackend()

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore2.ConnectError(f"cannot resolve {host}: {exc}") from exc
        seen: list[IPAddress] = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in seen:
                seen.append(address)
        return seen

    def _vet(self, host: str, addresses: Iterable[IPAddress]) -> list[IPAddress]:
        allowed, reasons = [], []
        for address in addresses:
            try:
                self.policy.check_address(host, address)
                allowed.append(address)
            except UrlNotAllowed as exc:
                reasons.append(str(exc))
        if not allowed:
            self.refused = reasons[0] if reasons else f"no usable address for {host}"
            raise httpcore2.ConnectError(f"connection refused by the egress policy: {self.refused}")
        return allowed

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        """Resolve, vet every address, connect to a vetted one and vet the connected peer."""
        try:
            with anyio.fail_after(timeout):
                addresses = self._vet(host, await self._resolve(host, port))
        except TimeoutError:
            raise httpcore2.ConnectTimeout(f"resolving {host} timed out") from None
        last: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
                continue
            peer = stream.get_extra_info("server_addr")
            try:
                self._vet(host, [ipaddress.ip_address(str(peer[0]).split("%", 1)[0])] if peer else [])
            except httpcore2.ConnectError:
                await stream.aclose()
                raise
            return stream
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        """Unix sockets are never a tenant's business."""
        raise httpcore2.ConnectError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        """Delegate (used by connection retries)."""
        await self._inner.sleep(seconds)


class GuardedTransport(httpx2.AsyncHTTPTransport):
    """An httpx2 transport whose every connection goes through :class:`GuardedBackend` (no proxies)."""

    def __init__(self, policy: EgressPolicy, *, verify: bool = True) -> None:
        super().__init__(verify=verify, trust_env=False)
        self.backend = GuardedBackend(policy)
        self._pool._network_backend = self.backend  # httpx2 does not take a backend argument

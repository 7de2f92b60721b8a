"""/metrics: the Prometheus exposition, for allowed addresses or a bearer token only.

METRICS_ENABLED off → 404.  Otherwise the caller must come from METRICS_ALLOW
(addresses or networks; behind nginx ProxyFix has already put the real client
address in ``remote_addr``) or send ``Authorization: Bearer <METRICS_TOKEN>``.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Iterable

from flask import Blueprint, Response, abort, current_app, request
from flask.blueprints import BlueprintSetupState

from hydronet.config import ConfigError
from hydronet.kernel import metrics

bp = Blueprint("metrics", __name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def allowed_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """METRICS_ALLOW parsed: each entry an address or a CIDR network."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ConfigError(f"METRICS_ALLOW: {entry!r} is not an IP address or network") from None
    return tuple(networks)


def address_allowed(address: str | None, entries: Iterable[str]) -> bool:
    """True when ``address`` lies in one of the allowed networks."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in allowed_networks(tuple(entries)))


def token_matches(header: str, token: str) -> bool:
    """True when the Authorization header carries the configured bearer token."""
    if not token or header[:7].lower() != "bearer ":
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


@bp.record_once
def _validate(state: BlueprintSetupState) -> None:
    allowed_networks(tuple(state.app.config.get("METRICS_ALLOW") or ()))  # fail at start-up, not at scrape


@bp.get("/metrics")
def scrape():
    """All workers' metrics of this app server in the Prometheus text format."""
    cfg = current_app.config
    if not cfg.get("METRICS_ENABLED"):
        abort(404)
    allowed = address_allowed(request.remote_addr, cfg.get("METRICS_ALLOW") or ())
    if not (allowed or token_matches(request.headers.get("Authorization", ""), cfg.get("METRICS_TOKEN") or "")):
        abort(403)
    metrics.refresh_gauges(current_app._get_current_object())  # type: ignore[attr-defined]
    body, content_type = metrics.render()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})

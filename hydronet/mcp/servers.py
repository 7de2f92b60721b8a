"""A tenant's MCP servers: create, update, delete, and the connection test that caches their tools.

Header values (bearer tokens, API keys) are encrypted at rest and leave this
module only masked.  URLs pass the SSRF guard's static checks here; the
authoritative check happens at connect time (hydronet/mcp/ssrf.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hydronet.auth.actor import Actor
from hydronet.kernel import audit, secrets
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.errors import ApiError, Conflict, ValidationError
from hydronet.kernel.lookup import get_or_404
from hydronet.mcp.client import Endpoint, McpClientError, RemoteTool, list_tools
from hydronet.mcp.ssrf import EgressPolicy, UrlNotAllowed, check_url
from hydronet.models import McpServer
from hydronet.tenants import quotas

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "accept",
        "accept-encoding",
        "proxy-authorization",
        "mcp-protocol-version",
        "mcp-session-id",
        "last-event-id",
    }
)
MAX_HEADERS = 20
MAX_HEADER_VALUE = 4096
TIMEOUT_RANGE = (1.0, 120.0)
RETEST_AFTER = timedelta(minutes=5)  # a failed automatic listing is not retried on every chat turn
UNSET: Any = object()


class McpTestFailed(ApiError):
    """The connection test failed; ``code`` says how (mcp_unreachable, mcp_tls_error, …)."""

    def __init__(self, err: McpClientError) -> None:
        super().__init__(str(err), code=err.code, status=err.status, detail=err.detail)


@dataclass(frozen=True)
class ServerChanges:
    """Values for create/update; UNSET fields are left alone (headers merge, see _merge_headers)."""

    name: Any = UNSET
    url: Any = UNSET
    headers: Any = UNSET
    enabled: Any = UNSET
    allowed_tools: Any = UNSET
    timeout_s: Any = UNSET


def egress_policy() -> EgressPolicy:
    """The operator's egress policy for tenant MCP URLs."""
    return EgressPolicy.from_config(current_app.config)


def list_servers() -> list[McpServer]:
    """The tenant's servers (the session is tenant-scoped), by name."""
    return list(db.session.execute(select(McpServer).order_by(McpServer.name)).scalars())


def get(server_id: str) -> McpServer:
    """One of the tenant's servers, or 404 (another tenant's id included)."""
    return get_or_404(McpServer, server_id, "MCP server")


class HeadersUnreadable(ApiError):
    """The stored headers no longer decrypt (a key was dropped); the admin must set them again."""

    status, code = 409, "mcp_headers_unreadable"
    message = "The stored headers cannot be decrypted with the configured keys; set them again"


def masked_headers(server: McpServer) -> dict[str, str] | None:
    """Header names with masked values (never the secret); None when they cannot be decrypted."""
    try:
        return {name: secrets.mask(value) for name, value in decrypt_headers(server).items()}
    except HeadersUnreadable:
        return None


def decrypt_headers(server: McpServer, *, strict: bool = True) -> dict[str, str]:
    """The real header values, for connecting only ({} when unreadable and not ``strict``)."""
    try:
        return dict(secrets.decrypt_json(server.headers_encrypted or "", {}) or {})
    except secrets.SecretDecryptError:
        if strict:
            raise HeadersUnreadable() from None
        return {}


def endpoint_for(server: McpServer) -> Endpoint:
    """How the MCP client reaches this server."""
    return Endpoint(url=server.url, headers=decrypt_headers(server), timeout_s=float(server.timeout_s))


def create(actor: Actor, values: ServerChanges) -> McpServer:
    """Add a server (plan-limited); its tools are listed by the test action or the first chat turn."""
    assert actor.tenant is not None
    if values.name is UNSET or values.url is UNSET:
        raise ValidationError({k: "is required" for k in ("name", "url") if getattr(values, k) is UNSET})
    quotas.check_count(
        actor.tenant,
        "mcp_servers",
        lambda: db.session.execute(
            select(func.count(McpServer.id)).where(McpServer.tenant_id == actor.tenant.id)
        ).scalar_one(),
    )
    server = McpServer(tenant_id=actor.tenant.id, headers_encrypted="", enabled=True, timeout_s=20.0)
    _apply(server, values, policy=egress_policy())
    db.session.add(server)
    _flush_unique(server)
    audit.record(actor, "mcp.create", target_type="mcp_server", target_id=server.id, details=_audit_details(server))
    db.session.commit()
    return server


def update(actor: Actor, server: McpServer, values: ServerChanges) -> McpServer:
    """Change a server; a new URL or new headers drop the cached tools."""
    changed = _apply(server, values, policy=egress_policy())
    if not changed:
        return server
    _flush_unique(server)
    audit.record(
        actor,
        "mcp.update",
        target_type="mcp_server",
        target_id=server.id,
        details={**_audit_details(server), "changed": sorted(changed)},
    )
    db.session.commit()
    return server


def delete(actor: Actor, server: McpServer) -> None:
    """Remove a server; its tools disappear from the next chat turn."""
    audit.record(
        actor,
        "mcp.delete",
        target_type="mcp_server",
        target_id=server.id,
        details={"name": server.name, "url": _safe_url(server.url)},
    )
    db.session.delete(server)
    db.session.commit()


def check_connection(server: McpServer, policy: EgressPolicy) -> list[RemoteTool]:
    """Connect, list the tools and cache them; McpTestFailed (with the error code) on failure."""
    try:
        return refresh_tools(server, policy)
    except McpClientError as err:
        raise McpTestFailed(err) from None


def refresh_tools(server: McpServer, policy: EgressPolicy) -> list[RemoteTool]:
    """List the server's tools into ``tools_cache``; on failure record ``last_error`` and re-raise."""
    endpoint = endpoint_for(server)
    db.session.commit()  # no database connection held while the network call runs
    try:
        tools = list_tools(endpoint, policy)
    except McpClientError as err:
        server.last_error = f"{err.code}: {err}"[:500]
        server.last_tested_at = utcnow()
        db.session.commit()
        raise
    server.tools_cache = [t.as_dict() for t in tools]
    server.last_error = None
    server.last_tested_at = utcnow()
    db.session.commit()
    return tools


def may_retry_listing(server: McpServer) -> bool:
    """Whether a chat turn may try listing a never-listed server now (failures back off)."""
    tested = server.last_tested_at
    if tested is None:
        return True
    if tested.tzinfo is None:
        tested = tested.replace(tzinfo=utcnow().tzinfo)
    return utcnow() - tested > RETEST_AFTER


def _apply(server: McpServer, values: ServerChanges, *, policy: EgressPolicy) -> set[str]:
    errors: dict[str, str] = {}
    changed: set[str] = set()
    if values.name is not UNSET and values.name != server.name:
        if not isinstance(values.name, str) or not NAME_RE.match(values.name):
            errors["name"] = "use 1-32 letters, digits, '-' or '_' (it prefixes the tool names, e.g. name__tool)"
        server.name = values.name
        changed.add("name")
    if values.url is not UNSET and values.url != server.url:
        try:
            server.url = check_url(str(values.url).strip(), policy)
        except UrlNotAllowed as exc:
            errors["url"] = str(exc)
        changed.add("url")
    if values.headers is not UNSET:
        current = decrypt_headers(server, strict=False)  # unreadable headers are replaced, not merged
        merged = _merge_headers(current, values.headers, errors)
        if merged is not None and merged != current:
            server.headers_encrypted = secrets.encrypt_json(merged)
            changed.add("headers")
    for field in ("enabled", "allowed_tools", "timeout_s"):
        value = getattr(values, field)
        if value is not UNSET and value != getattr(server, field):
            setattr(server, field, value)
            changed.add(field)
    if values.timeout_s is not UNSET and not TIMEOUT_RANGE[0] <= float(values.timeout_s) <= TIMEOUT_RANGE[1]:
        errors["timeout_s"] = f"must be between {TIMEOUT_RANGE[0]:g} and {TIMEOUT_RANGE[1]:g} seconds"
    if errors:
        db.session.rollback()
        raise ValidationError(errors)
    if changed & {"url", "headers"}:
        server.tools_cache, server.last_tested_at, server.last_error = None, None, None
    return changed


def _merge_headers(current: dict[str, str], given: Any, errors: dict[str, str]) -> dict[str, str] | None:
    """Apply ``{name: value}`` (None removes; the masked value keeps the stored one); ``given=None`` clears all."""
    if given is None:
        return {}
    if not isinstance(given, dict):
        errors["headers"] = "must be an object of header names to string values"
        return None
    merged = dict(current)
    lower = {k.lower(): k for k in merged}
    for name, value in given.items():
        if not HEADER_NAME_RE.match(str(name)) or name.lower() in RESERVED_HEADERS:
            errors["headers"] = f"header {name!r} is not allowed"
            return None
        existing = lower.get(name.lower())
        if value is None:
            merged.pop(existing or name, None)
            continue
        if not isinstance(value, str) or len(value) > MAX_HEADER_VALUE or any(c in value for c in "\r\n\0"):
            errors["headers"] = f"header {name!r} needs a single-line string of at most {MAX_HEADER_VALUE} characters"
            return None
        if existing is not None and value == secrets.mask(merged[existing]):
            continue  # the client sent back the masked value: keep the secret
        if existing is not None:
            del merged[existing]
        merged[name] = value
    if len(merged) > MAX_HEADERS:
        errors["headers"] = f"at most {MAX_HEADERS} headers"
        return None
    return merged


def _flush_unique(server: McpServer) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"An MCP server named {server.name!r} already exists", code="mcp_server_exists") from None


def _safe_url(url: str) -> str:
    """The URL without query or fragment (they may carry secrets)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _audit_details(server: McpServer) -> dict[str, Any]:
    return {
        "name": server.name,
        "url": _safe_url(server.url),
        "enabled": server.enabled,
        "allowed_tools": server.allowed_tools,
        "timeout_s": server.timeout_s,
        "header_names": sorted(decrypt_headers(server, strict=False)),
    }

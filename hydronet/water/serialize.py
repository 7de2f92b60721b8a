"""JSON shape of a stored network."""

from __future__ import annotations

from typing import Any

from hydronet.kernel.jsonio import iso
from hydronet.models import Network


def network_dict(n: Network) -> dict[str, Any]:
    """A network without its .inp text."""
    return {
        "id": str(n.id),
        "name": n.name,
        "filename": n.filename,
        "source": n.source,
        "size_bytes": n.size_bytes,
        "content_hash": n.content_hash,
        "summary": n.summary or {},
        "created_by": str(n.created_by) if n.created_by else None,
        "created_at": iso(n.created_at),
    }

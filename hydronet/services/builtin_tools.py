"""Built-in assistant tools over the tenant's own data."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from ..extensions import db
from ..llm.tools import Tool, ToolContext, ToolOutput
from ..models import Network
from .assistant import register_builtin


def _list_networks(ctx: ToolContext, args: dict) -> ToolOutput:
    rows = db.session.execute(
        select(Network.id, Network.name, Network.summary, Network.created_at)
        .where(Network.tenant_id == uuid.UUID(str(ctx.tenant_id)))
        .order_by(Network.created_at.desc())
        .limit(int(args.get("limit", 20)))
    ).all()
    networks = []
    for r in rows:
        counts = (r.summary or {}).get("counts", {})
        networks.append({"network_id": str(r.id), "name": r.name, "junctions": counts.get("junctions"),
                         "pipes": counts.get("pipes"), "uploaded_at": r.created_at.isoformat()})
    return ToolOutput(for_model={"networks": networks, "count": len(networks)})


register_builtin(Tool(
    name="list_networks",
    description=("List the water networks (EPANET models) of the user's organisation. Returns network_id, name, "
                 "junction and pipe counts. Call this first to find the network_id the other analysis tools need."),
    parameters={"type": "object", "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}},
                "additionalProperties": False},
    handler=_list_networks,
))

"""/api/health: is this instance able to serve?"""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app, jsonify

from hydronet.kernel.contracts import Resource, contract
from hydronet.kernel.health import check_dependencies

bp = Blueprint("health", __name__, url_prefix="/api")


class Health(Resource):
    status: Literal["healthy"]
    success: bool
    database: str | None = None
    redis: str | None = None
    version: str
    assistant: str | None = None


@bp.get("/health")
@contract(
    ok={200: Health},
    errors=(503,),
    rate_limited=False,
    description='503 answers `{"status": "unhealthy", "failed": [...]}` naming the broken dependency.',
)
def health():
    """200 healthy when the database and Redis answer, else 503 naming the failure."""
    deps = check_dependencies()
    healthy = all(v.startswith("ok") for v in deps.values())
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "success": healthy,
        **deps,
        "version": current_app.config["VERSION"],
        "assistant": "qwen" if current_app.config["ALIYUN_API_KEY"] else "offline",
    }
    if not healthy:
        body["failed"] = [k for k, v in deps.items() if not v.startswith("ok")]
    resp = jsonify(body)
    resp.status_code = 200 if healthy else 503
    return resp

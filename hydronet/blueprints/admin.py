"""/api/admin (grows in its own issue)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/api/admin")

"""/api/chat (grows in its own issue)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("chat", __name__, url_prefix="/api/chat")

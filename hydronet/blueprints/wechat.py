"""/api/wechat (grows in its own issue)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("wechat", __name__, url_prefix="/api/wechat")

"""Built-in assistant tools over the tenant's own data (the water tools live in water_tools.py)."""
from __future__ import annotations

from . import water_tools  # noqa: F401  (registers list_networks and the analysis tools on import)

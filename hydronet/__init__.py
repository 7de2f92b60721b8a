"""HydroNet: a multi-tenant assistant that analyses water networks.

The app is built by `hydronet.web.app.create_app`; docs/ARCHITECTURE.md maps the packages.
"""

__version__ = "1.0.0"

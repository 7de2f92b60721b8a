"""HydroNet SaaS entry point.

`gunicorn -c gunicorn_config.py app_saas:app` in production;
`python app_saas.py` for the development server on 0.0.0.0:5000 (PORT overrides).
"""
from __future__ import annotations

import os

from hydronet.web.app import create_app

app = create_app()

if __name__ == "__main__":
    port = int(os.environ.get("PORT", "5000"))
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=port, debug=app.config["DEBUG"], threaded=True)

"""HydroNet SaaS entry point.

`gunicorn -c gunicorn_config.py app_saas:app` in production;
`python app_saas.py` for the development server on 0.0.0.0:5000 (PORT overrides).
"""

from __future__ import annotations

import os

from werkzeug.serving import make_server

from hydronet.web.app import create_app

app = create_app()


def serve_dev() -> None:
    """Werkzeug's threaded server; the 🚀 line is printed once the socket really listens."""
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "5000"))
    if app.config["DEBUG"]:
        app.run(host=host, port=port, debug=True, threaded=True)  # the reloader manages its own server
        return
    server = make_server(host, port, app, threaded=True)
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    print(f"🚀 HydroNet on http://{shown}:{server.server_port}  (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    serve_dev()

"""Gunicorn settings for HydroNet, read from the environment (and `.env`).

Run: ``gunicorn -c gunicorn_config.py app_saas:app``.  Every setting has a
``GUNICORN_*`` variable; the defaults suit one app server behind nginx
(deploy/nginx/hydronet.conf) on a small host.  Command-line options given to
gunicorn still win over this file (the systemd unit passes ``--bind``).
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent

# Names of the variables this file took from `.env` (not from the real
# environment).  os.environ outlives a SIGHUP reload, which re-executes this
# file; remembering them lets a reload pick up an edited `.env` while a real
# environment variable (systemd, the shell) always keeps priority.
_DOTENV_MARK = "_HYDRONET_DOTENV_KEYS"


def load_dotenv_file(path: Path) -> None:
    """Copy `.env` into os.environ without overriding real environment variables."""
    try:
        from dotenv import dotenv_values
    except ImportError:  # python-dotenv is in requirements; stay usable without it
        return
    values = dotenv_values(path) if path.is_file() else {}
    ours = set(filter(None, os.environ.get(_DOTENV_MARK, "").split(",")))
    for stale in ours - values.keys():
        os.environ.pop(stale, None)
    taken = set()
    for key, value in values.items():
        if value is None or (key in os.environ and key not in ours):
            continue
        os.environ[key] = value
        taken.add(key)
    os.environ[_DOTENV_MARK] = ",".join(sorted(taken))


def env_str(name: str, default: str) -> str:
    """A string setting; an empty value means the default."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(name: str, default: int) -> int:
    """An integer setting that fails loudly when mistyped."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"gunicorn_config: {name} must be an integer, got {raw!r}") from None


def env_bool(name: str, default: bool) -> bool:
    """A boolean setting (1/true/yes/on)."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in {"1", "true", "yes", "on"}


load_dotenv_file(Path(os.environ.get("HYDRONET_ENV_FILE") or PROJECT_DIR / ".env"))

CPUS = multiprocessing.cpu_count()

# --- sockets ---------------------------------------------------------------
# The guide runs the app on :5000; PORT (the dev server's variable) is honoured
# when GUNICORN_BIND is absent.  Behind nginx bind to loopback only.
bind = [
    part.strip() for part in env_str("GUNICORN_BIND", f"127.0.0.1:{env_str('PORT', '5000')}").split(",") if part.strip()
]
backlog = env_int("GUNICORN_BACKLOG", 2048)
chdir = str(PROJECT_DIR)

# --- workers ---------------------------------------------------------------
# gevent: measured on a 2-core host, `-k gevent -w 2` held 500 concurrent SSE
# streams with first-chunk p99 38 ms, while gthread with 64 threads queued
# them for seconds (shared/DESIGN.md).  A chat stream mostly waits on the LLM,
# so one greenlet per connection is the right shape.
worker_class = env_str("GUNICORN_WORKER_CLASS", "gevent")
IS_GEVENT = worker_class in {"gevent", "gunicorn.workers.ggevent.GeventWorker"}
# Four workers is the guide's number; 2 x cores on smaller hosts.  With gevent
# each worker multiplexes `worker_connections` clients, so more processes than
# cores buys little and costs a database pool each.
workers = env_int("GUNICORN_WORKERS", max(2, min(4, 2 * CPUS)))
worker_connections = env_int("GUNICORN_WORKER_CONNECTIONS", 1000)
# Only the gthread worker uses threads.
threads = env_int("GUNICORN_THREADS", 32 if worker_class == "gthread" else 1)

# The arbiter kills a worker whose heartbeat file has not been touched for
# `timeout` seconds.  Under gevent the heartbeat comes from the worker's own
# main loop, a greenlet that wakes every second (GeventWorker.run in
# gunicorn/workers/ggevent.py), not from finished requests, so a stream open
# for ten minutes is never killed while the worker keeps yielding to the event
# loop (socket I/O, gevent-patched calls, psycopg2 made cooperative below).
# What does trip it is code that blocks the whole process — a CPU-bound
# simulation, an uncooperative C call — for longer than `timeout`; such work
# belongs in the job worker.  (gthread's main thread beats independently too;
# only the sync worker would cap each request at `timeout`.)
timeout = env_int("GUNICORN_TIMEOUT", 120)
# On SIGHUP/SIGTERM (reload, max_requests, systemctl stop) a worker stops
# accepting and lets requests in flight — streams included — finish for this
# long.  The systemd unit's TimeoutStopSec must stay above it.
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 60)
# Idle keep-alive from nginx's upstream pool: LONGER than nginx's upstream
# keepalive_timeout (4 s) so nginx, not gunicorn, closes idle connections
# (otherwise a request can race the close and get a 502), yet short, because
# a stopping worker waits for its idle keep-alive connections to go away.
keepalive = env_int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so slow leaks (C extensions, caches) stay
# bounded; the jitter keeps workers from restarting at the same moment.
# Under gevent a recycling worker stops accepting and drains its open streams
# (up to a whole answer) before its replacement is spawned: 2000 ± 200 made
# both bench workers drain together at 1,000 streams and first tokens waited
# 11 s.  Hence rare recycles with a wide jitter there.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 20000 if IS_GEVENT else 2000)
max_requests_jitter = env_int("GUNICORN_MAX_REQUESTS_JITTER", max_requests // 2 if IS_GEVENT else 200)

# False: each worker imports the app after fork.  A SIGHUP then loads new code
# without restarting the master, and no database/Redis connection or gevent
# hub created at import time is shared between forked processes.  Preloading
# would save a little memory at the price of both.
preload_app = env_bool("GUNICORN_PRELOAD_APP", False)

# --- proxying --------------------------------------------------------------
# Which peers may set X-Forwarded-Proto & co.  nginx on the same host connects
# from loopback.  The client address itself comes from X-Forwarded-For via
# the app's ProxyFix (PROXY_COUNT), not from gunicorn.
forwarded_allow_ips = env_str("GUNICORN_FORWARDED_ALLOW_IPS", env_str("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"))
limit_request_line = env_int("GUNICORN_LIMIT_REQUEST_LINE", 8190)

# --- logging ---------------------------------------------------------------
# "-" = stdout/stderr, which systemd sends to the journal.  Point these at
# /var/log/hydronet/*.log to use deploy/logrotate/hydronet instead.
accesslog = env_str("GUNICORN_ACCESS_LOG", "-")
errorlog = env_str("GUNICORN_ERROR_LOG", "-")
loglevel = env_str("GUNICORN_LOG_LEVEL", "info")
# Client (first X-Forwarded-For hop), request id set by nginx, request line,
# status, bytes, duration in seconds, referrer, user agent, worker pid.
access_log_format = env_str(
    "GUNICORN_ACCESS_LOG_FORMAT",
    '%({x-forwarded-for}i)s %(h)s %(t)s "%(r)s" %(s)s %(b)s %(L)ss rid=%({x-request-id}i)s "%(f)s" "%(a)s" %(p)s',
)
capture_output = env_bool("GUNICORN_CAPTURE_OUTPUT", False)

# --- process ---------------------------------------------------------------
proc_name = env_str("GUNICORN_PROC_NAME", "hydronet")
pidfile = os.environ.get("GUNICORN_PIDFILE") or None
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or (
    "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
)
# gunicorn >= 25 opens a control socket for `gunicornc` at one fixed path
# per user by default; two instances on one host (hydronet@5000, @5001)
# would fight over it.  Off unless a per-instance path is given (the systemd
# unit sets /run/hydronet-<port>/gunicorn.ctl).
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
if _control_socket:
    control_socket = _control_socket
control_socket_disable = not _control_socket

# systemd Type=notify needs nothing here: when NOTIFY_SOCKET is set, the
# arbiter sends READY=1 itself once its sockets are bound (Arbiter.start() in
# gunicorn/arbiter.py calls gunicorn.systemd.sd_notify).  Do not daemonize.
daemon = False


# --- metrics ---------------------------------------------------------------
# Every worker keeps its own Prometheus samples; with PROMETHEUS_MULTIPROC_DIR
# set they are written to files in one directory per app server, and /metrics
# (answered by any worker) adds them all up.  The directory is this master's
# own: given per instance by the operator (never in the shared .env, or two
# servers would mix their numbers), else a fresh temp dir removed at exit.
_METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_METRICS_OWNER = "_HYDRONET_METRICS_OWNER"  # pid of the master that prepared the dir
_METRICS_TEMP = "_HYDRONET_METRICS_TEMP"  # set when that master created it


def prepare_metrics_dir() -> str:
    """Point PROMETHEUS_MULTIPROC_DIR at an empty directory of this master (idempotent)."""
    current = os.environ.get(_METRICS_ENV, "").strip()
    if current and os.environ.get(_METRICS_OWNER) == str(os.getpid()):
        return current  # prepared already (preload, then on_starting)
    if current and current != os.environ.get(_METRICS_TEMP):
        os.makedirs(current, exist_ok=True)
        for stale in Path(current).glob("*.db"):  # samples of a previous run would be added in
            stale.unlink()
    else:  # none given, or the temp dir of the master that exec'd us (USR2): a new one
        import tempfile

        current = tempfile.mkdtemp(prefix="hydronet-metrics-")
        os.environ[_METRICS_TEMP] = current
    os.environ[_METRICS_ENV] = current
    os.environ[_METRICS_OWNER] = str(os.getpid())
    return current


if preload_app:
    # The app (and prometheus_client, which reads the variable once at import)
    # is loaded in the master before on_starting runs.
    prepare_metrics_dir()


# Heavy scientific libraries the app imports (WNTR pulls numpy, pandas, scipy, networkx,
# matplotlib: several seconds).  Importing them once in the master lets every worker —
# including those forked by a HUP reload — start without paying it, while the app's own
# code is still imported fresh in each worker (so a reload picks up new code).  None of
# them opens sockets or threads at import, so gevent's patching after fork is unaffected.
PRELOAD_LIBRARIES = ("numpy", "pandas", "scipy", "networkx", "matplotlib", "wntr")


def preload_libraries(server) -> None:
    """Import PRELOAD_LIBRARIES in the master (GUNICORN_PRELOAD_LIBRARIES=false turns it off)."""
    if not env_bool("GUNICORN_PRELOAD_LIBRARIES", True):
        return
    import importlib

    for name in PRELOAD_LIBRARIES:
        try:
            importlib.import_module(name)
        except ImportError:
            server.log.warning("could not preload %s", name)


def on_starting(server):
    """Give this app server's workers one shared, empty metrics directory; preload libraries."""
    server.log.info("prometheus multiprocess dir: %s", prepare_metrics_dir())
    preload_libraries(server)


def child_exit(server, worker):
    """Drop a dead worker's live gauges (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory this master created."""
    created = os.environ.get(_METRICS_TEMP)
    if created and os.environ.get(_METRICS_OWNER) == str(os.getpid()):
        import shutil

        shutil.rmtree(created, ignore_errors=True)


def post_fork(server, worker):
    """Make psycopg2 cooperative in each gevent worker before the app is loaded."""
    if not IS_GEVENT:
        return
    try:
        from psycogreen.gevent import patch_psycopg
    except ImportError:
        server.log.warning("psycogreen missing: psycopg2 calls will block the gevent loop")
        return
    # Without this, every query blocks all greenlets of the worker — one slow
    # query would stall every open stream in that process.
    patch_psycopg()
    worker.log.debug("psycopg2 made cooperative for gevent (pid %s)", worker.pid)


def when_ready(server):
    """Log the effective shape once the sockets are bound."""
    server.log.info(
        "hydronet ready: %s worker(s) of %s, %s connections each, timeout %ss, graceful %ss",
        workers,
        worker_class,
        worker_connections if IS_GEVENT else threads,
        timeout,
        graceful_timeout,
    )


def post_worker_init(worker):
    """Load the Qwen tokenizer now, not during the worker's first chat turn (~0.7 s of CPU), and
    start the CPU pool; then move everything loaded so far out of the garbage collector's sight."""
    try:
        from hydronet.llm.tokens import warm_up
    except ImportError:
        pass
    else:
        warm_up()
    # The CPU pool's processes (hydronet.kernel.cpu) start now: starting them blocks the worker
    # while its fork server imports the app's modules, which must not happen during a request.
    try:
        from hydronet.kernel import cpu
    except ImportError:
        pass
    else:
        cpu.warm()
    # The app, numpy/pandas/WNTR and the tokenizer are hundreds of thousands of long-lived
    # objects; a full collection scanned them all again and again (a Net3 analysis spent
    # ~15 ms of its ~100 ms in the collector).  Frozen objects are never scanned (gc.freeze).
    import gc

    gc.freeze()

#!/usr/bin/env bash
# HydroNet fault injection — faults/run.sh [--quick]
# Starts its own Redis (free port), database (faults_hydronet), fake DashScope server, gunicorn and RQ
# worker on loopback; injects Redis, PostgreSQL, gunicorn-worker and job-worker failures under client
# load; writes faults/RESULTS.md and faults/results.json; exits 1 when a verdict fails.
# Bounded: --quick ≤ 3 min, the full run ≤ 10 min; every process it starts is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
command -v redis-server >/dev/null || { echo "❌ redis-server is required" >&2; exit 1; }

source scripts/_venv.sh  # the project's virtualenv
limit=600
for arg in "$@"; do [ "$arg" = "--quick" ] && limit=180; done
exec timeout --signal=INT --kill-after=20 "$limit" .venv/bin/python -m faults.run "$@"

#!/usr/bin/env bash
# HydroNet bench — one command: bench/run.sh [--quick] [--reuse-db] [--only b,c] [...]
# Starts what it needs (PostgreSQL, Redis, wrk, the fake DashScope server,
# gunicorn with gunicorn_config.py, RQ workers for i), measures (a)–(h) (and i when named) and writes
# bench/RESULTS.md and bench/results.json.  Loopback only; every load is
# bounded in time and every process it starts is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk"
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null; }
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
fi
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
  sleep 1
done

# (d) holds up to 1,000 streams: each needs a socket in the client, in gunicorn
# (client + upstream) and in the fake server.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

source scripts/_venv.sh  # the project's virtualenv (installed/updated as for the tests)
# 15 minutes for phases (a)–(h); phase i (Net6 swept with 2, then 1 worker) takes most of an hour
limit=900
[[ " $* " =~ --only[=\ ]([a-z,]*,)?i[,\ ] ]] && limit=5400
limit="${BENCH_TIMEOUT_S:-$limit}"  # a loaded machine may need longer
exec timeout --signal=INT "$limit" .venv/bin/python -m bench.run "$@"

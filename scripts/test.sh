#!/usr/bin/env bash
# One command to set up and run the whole test suite.
# Embedded mode by default (SQLite, in-process store).  For the real services:
#   HYDRONET_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
#   HYDRONET_TEST_REDIS_URL=redis://127.0.0.1:6379/14 scripts/test.sh
# (each run creates and drops its own database on that server).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
exec .venv/bin/python -m pytest "$@"

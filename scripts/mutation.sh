#!/usr/bin/env bash
# Mutation testing of the security-critical modules with mutmut (pinned in requirements_saas.txt).
# On demand, not in CI: every mutant reruns the tests that reach the mutated function.
#
#   scripts/mutation.sh                      # every target, each against its focused test files
#   scripts/mutation.sh permissions tokens   # some targets
#   MUTATION_TESTS=tests/ scripts/mutation.sh store   # one target against the whole suite
#   scripts/mutation.sh constants            # module-level tables and constants (mutmut 3 leaves them alone)
#
# The backends follow the test environment (HYDRONET_TEST_DATABASE_URL, HYDRONET_TEST_REDIS_URL, …):
# run `tenancy` with PostgreSQL, where Row-Level Security is what its tests check.
# Each target runs in its own copy of the working tree under ${MUTATION_DIR:-/tmp/hydronet-mutation};
# its counts go to <target>/mutants/mutmut-cicd-stats.json and the survivors to <target>/survivors.txt.
# tests/mutation/REPORT.md records a run and explains the surviving (equivalent) mutants.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
WORK="${MUTATION_DIR:-/tmp/hydronet-mutation}"
JOBS="${MUTATION_JOBS:-2}"
[ -x .venv/bin/mutmut ] || { echo "mutmut missing: .venv/bin/pip install -r requirements_saas.txt" >&2; exit 1; }

module_of() {
  case "$1" in
    permissions) echo "hydronet/auth/permissions.py" ;;
    store)       echo "hydronet/kernel/store.py" ;;
    tokens)      echo "hydronet/auth/tokens.py" ;;
    tenancy)     echo "hydronet/kernel/tenancy.py" ;;
    quotas)      echo "hydronet/tenants/quotas.py" ;;
    *) echo "unknown target $1 (permissions store tokens tenancy quotas)" >&2; exit 2 ;;
  esac
}

tests_of() {
  case "$1" in
    permissions) echo "tests/auth/test_permissions_table.py tests/auth/test_rbac.py" ;;
    store)       echo "tests/kernel/test_store_unit.py tests/tenants/test_quota_periods.py tests/tenants/test_quotas.py" ;;
    tokens)      echo "tests/auth/test_tokens.py tests/auth/test_auth.py" ;;
    tenancy)     echo "tests/kernel/test_tenancy.py tests/kernel/test_rls.py" ;;
    quotas)      echo "tests/tenants/test_quota_periods.py tests/tenants/test_quotas.py" ;;
  esac
}

run_target() {
  local target="$1" module tests dir
  module="$(module_of "$target")"
  tests="${MUTATION_TESTS:-$(tests_of "$target")}"
  dir="$WORK/$target"
  rm -rf "$dir" && mkdir -p "$dir"
  # The working tree as it is (tracked and new files), without the benchmark data.
  git ls-files --cached --others --exclude-standard | grep -v '^bench/' | tar -cf - -T - | tar -xf - -C "$dir"
  ln -s "$ROOT/.venv" "$dir/.venv"
  {  # list values one per line (mutmut splits them on newlines)
    echo "[mutmut]"
    echo "source_paths = hydronet/"
    echo "only_mutate = $module"
    echo "pytest_add_cli_args_test_selection ="
    for path in $tests; do echo "    $path"; done
    echo "pytest_add_cli_args ="
    for arg in -p no:randomly -p no:cacheprovider -q; do echo "    $arg"; done
    echo "also_copy ="
    for path in migrations/ templates/ static/ app_saas.py init_database.py pytest.ini; do echo "    $path"; done
  } > "$dir/setup.cfg"
  echo "== $target: $module against $tests"
  (cd "$dir" && .venv/bin/mutmut run --max-children "$JOBS" > run.log 2>&1 || true
   .venv/bin/mutmut export-cicd-stats > /dev/null
   .venv/bin/mutmut results > survivors.txt 2>&1 || true)
  "$ROOT/.venv/bin/python" - "$dir/mutants/mutmut-cicd-stats.json" "$target" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))
killed = stats["killed"] + stats["timeout"] + stats["segfault"]
tested = killed + stats["survived"] + stats["no_tests"] + stats["suspicious"]
rate = 100 * killed / tested if tested else 0.0
print(f"{sys.argv[2]}: {killed}/{tested} killed ({rate:.1f} %); survived {stats['survived']}, "
      f"no tests {stats['no_tests']}, suspicious {stats['suspicious']}, timeouts {stats['timeout']}")
PY
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(permissions tokens quotas store tenancy)
for target in "${targets[@]}"; do
  if [ "$target" = constants ]; then
    .venv/bin/python tests/mutation/constants.py
  else
    run_target "$target"
  fi
done

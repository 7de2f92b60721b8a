#!/usr/bin/env bash
# Install Debian's nginx for CI and the deploy tests. Idempotent and quiet:
# when an nginx binary is already on PATH (or in /usr/sbin) it does nothing.
#
# The tests run nginx as an unprivileged foreground process with their own
# prefix, so the package's own service is stopped again if the install started it.
set -euo pipefail

have_nginx() {
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]
}

if have_nginx; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_nginx.sh: nginx missing and not running as root; install nginx-light or nginx" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101 stops the package from starting its own nginx on :80.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1 \
    || apt-get install -y -qq --no-install-recommends nginx >/dev/null

have_nginx || { echo "install_nginx.sh: nginx still missing after apt-get" >&2; exit 1; }

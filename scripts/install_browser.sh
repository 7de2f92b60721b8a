#!/usr/bin/env bash
# Installs what the browser tests (tests/browser, `pytest -m browser`) need:
# Debian's chromium + chromium-driver (no browser downloads: Selenium is
# pointed at /usr/bin/chromedriver), a CJK font so screenshots of the Chinese
# UI show text rather than boxes, and Selenium in the project's .venv.
# Idempotent: does nothing when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SELENIUM_VERSION="${SELENIUM_VERSION:-4.51.0}"

have_font() { fc-list 2>/dev/null | grep -qi -e "WenQuanYi" -e "Noto Sans CJK"; }

if ! { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && have_font; }; then
  echo "installing chromium, chromium-driver and a CJK font (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null
fi

# The project's virtualenv (created and filled from requirements_saas.txt when
# missing or stale, as scripts/test.sh does), then Selenium in it.
source scripts/_venv.sh
if ! .venv/bin/python -c 'import selenium' >/dev/null 2>&1; then
  echo "installing selenium==${SELENIUM_VERSION} into .venv"
  .venv/bin/python -m pip install -q "selenium==${SELENIUM_VERSION}"
fi

chromium --version 2>/dev/null || true
chromedriver --version 2>/dev/null || true

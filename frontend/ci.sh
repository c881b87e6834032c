#!/usr/bin/env bash
# Frontend CI for AStock Arena: install, lint, typecheck, component tests, build, browser e2e.
# Usage (from anywhere): bash frontend/ci.sh
# Needs: Node >= 20.19 with npm, the project venv (.venv/bin/python, or ARENA_PYTHON=...) for the
# e2e's replay and API server, and Debian's chromium (installed here via apt-get when missing;
# Playwright never downloads a browser: playwright-core drives /usr/bin/chromium or CHROMIUM_PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "== installing chromium (apt-get)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "== lint"
npm run --silent lint
echo "== typecheck"
npm run --silent typecheck
echo "== component tests (vitest)"
npm run --silent test
echo "== build (frontend/dist, served by api_server.py at /app/)"
npm run --silent build
echo "== browser e2e (real API server + headless chromium)"
npm run --silent e2e
echo "== frontend OK"

#!/usr/bin/env bash
# Installs what the REST test server needs: PostgreSQL 15 + PostGIS (apt) and
# Parse Server 9.10.0 (npm ci from the committed lockfile). Idempotent and quick
# when everything is already there.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15)
ls /usr/share/postgresql/15/extension/postgis.control >/dev/null 2>&1 || need_apt+=(postgresql-15-postgis-3)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup.sh: installing ${need_apt[*]}" >&2
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${need_apt[@]}" >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
fi

command -v node >/dev/null || { echo "setup.sh: node (>= 20.19) is required for Parse Server" >&2; exit 1; }

stamp=node_modules/.cql-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp" || [ ! -f node_modules/parse-server/package.json ]; then
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >&2
  else
    npm install --no-audit --no-fund --loglevel=error >&2
  fi
  cp package-lock.json "$stamp"
fi

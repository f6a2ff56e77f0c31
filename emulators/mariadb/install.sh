#!/usr/bin/env bash
# Install the MariaDB server and client from Debian's packages if they are missing.
# The package's own service is not used: start.sh runs a private instance.
set -euo pipefail
if command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; then
  if command -v mariadb-install-db >/dev/null 2>&1 && command -v mariadb-admin >/dev/null 2>&1; then
    exit 0
  fi
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "installing mariadb-server with apt" >&2
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends mariadb-server mariadb-client

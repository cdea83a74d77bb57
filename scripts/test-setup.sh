#!/usr/bin/env bash
# Installs and starts what the test suite needs: Debian's ffmpeg,
# clickhouse-server, zookeeper and Chromium packages, a running MariaDB on
# 127.0.0.1:3306, and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v ffprobe >/dev/null || packages+=(ffmpeg)
[[ -x /usr/sbin/clickhouse-server ]] || command -v clickhouse-server >/dev/null || packages+=(clickhouse-server)
# ZooKeeper for the ClickHouse cluster test; it runs the jar with java directly.
[[ -f /usr/share/java/zookeeper.jar ]] && command -v java >/dev/null || packages+=(zookeeper)
command -v chromium >/dev/null || packages+=(chromium)
if [[ ${#packages[@]} -gt 0 ]]; then
  echo "installing Debian packages: ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

mariadb_up() { (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; }
if ! mariadb_up; then
  echo "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do
    mariadb_up && break
    sleep 1
  done
  mariadb_up || { echo "MariaDB did not start listening on 127.0.0.1:3306 within 60 s" >&2; exit 1; }
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi

# The controller serves the dashboard from build/dashboard, which the route and browser tests read.
node --import tsx scripts/build-dashboard.ts

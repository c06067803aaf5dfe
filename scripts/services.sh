#!/usr/bin/env bash
# Starts the backends the integration tests and benches need, when they are
# not already up: Redis (6379), Memcached (11211) and FerretDB, a
# MongoDB-wire-compatible server (27017). Idempotent; safe to run twice.
#   scripts/services.sh          start what is missing
#   scripts/services.sh status   print what answers
set -euo pipefail

STATE=${HOTSESSION_SERVICES_DIR:-/tmp/hotsession-services}
FERRET_VERSION=v1.24.2
FERRET_BIN=${FERRETDB_BIN:-$HOME/.cache/hotsession/ferretdb-$FERRET_VERSION}
mkdir -p "$STATE"

up() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_up() { # name host port
  for _ in $(seq 1 100); do
    up "$2" "$3" && { echo "services: $1 up on $2:$3"; return 0; }
    sleep 0.1
  done
  echo "services: $1 did not come up on $2:$3" >&2
  return 1
}

need_pkg() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "services: installing $2"
    (apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; })
  fi
  command -v "$1" >/dev/null 2>&1
}

if [ "${1:-}" = status ]; then
  for s in redis:6379 memcached:11211 mongodb:27017; do
    up 127.0.0.1 "${s#*:}" && echo "${s%%:*} up" || echo "${s%%:*} down"
  done
  exit 0
fi

# Redis
if ! up 127.0.0.1 6379; then
  need_pkg redis-server redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$STATE" --logfile "$STATE/redis.log"
  wait_up redis 127.0.0.1 6379
else
  echo "services: redis already up"
fi
# redis-cli (cluster tests) and redis-benchmark (bench ceiling) come with redis-tools
need_pkg redis-cli redis-tools || true

# Memcached
if ! up 127.0.0.1 11211; then
  need_pkg memcached memcached
  memcached -d -u "$(id -un)" -l 127.0.0.1 -p 11211 -m 256 -P "$STATE/memcached.pid"
  wait_up memcached 127.0.0.1 11211
else
  echo "services: memcached already up"
fi

# FerretDB (MongoDB wire protocol, SQLite backend)
build_ferret() {
  command -v go >/dev/null 2>&1 || { echo "services: go is missing, cannot build FerretDB" >&2; return 1; }
  echo "services: building FerretDB $FERRET_VERSION (once)"
  local mod src
  mod=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$FERRET_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  src=$(mktemp -d)
  cp -r "$mod/." "$src"
  chmod -R u+w "$src"
  # The module zip lacks the version file that `task gen-version` writes; the binary panics without it.
  echo "$FERRET_VERSION" > "$src/build/version/version.txt"
  mkdir -p "$(dirname "$FERRET_BIN")"
  (cd "$src" && go build -o "$FERRET_BIN" ./cmd/ferretdb)
  rm -rf "$src"
}
if ! up 127.0.0.1 27017; then
  [ -x "$FERRET_BIN" ] || build_ferret
  mkdir -p "$STATE/ferretdb"
  nohup "$FERRET_BIN" --handler=sqlite --sqlite-url="file:$STATE/ferretdb/" --state-dir="$STATE/ferretdb" \
    --listen-addr=127.0.0.1:27017 --telemetry=disable --log-level=warn > "$STATE/ferretdb.log" 2>&1 &
  wait_up ferretdb 127.0.0.1 27017
else
  echo "services: mongodb-compatible server already up"
fi

#!/usr/bin/env bash
# The backends the integration tests and benches need: Redis (6379),
# Memcached (11211) and FerretDB, a MongoDB-wire-compatible server (27017).
#   scripts/services.sh [start]   start whatever is not already answering
#   scripts/services.sh stop      stop what `start` started from this checkout, nothing else
#   scripts/services.sh status    what answers, and what this checkout started
#
# Each `start` that starts something keeps that run's files (pid files, logs,
# data) in a folder of its own: $HOTSESSION_SERVICES_DIR when set, else a new
# mktemp folder. The folder's path is recorded in .services.state at the root
# of this checkout, so `stop` finds exactly the processes this checkout
# started (a server already up, started by someone else, is left alone).
#
# HOTSESSION_REDIS_PORT, HOTSESSION_MEMCACHED_PORT, HOTSESSION_MONGODB_PORT and
# HOTSESSION_SERVICES_STATE (the state file) move everything elsewhere, which is
# how test/tooling/services.test.mjs runs it beside the shared servers.
#
# Needs: redis-server and memcached (as root with apt-get, this script
# installs the missing Debian packages; otherwise it says what to install),
# and for FerretDB either the binary at $FERRETDB_BIN or Go to build it once.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_FILE=${HOTSESSION_SERVICES_STATE:-$ROOT/.services.state}
REDIS_PORT=${HOTSESSION_REDIS_PORT:-6379}
MEMCACHED_PORT=${HOTSESSION_MEMCACHED_PORT:-11211}
MONGODB_PORT=${HOTSESSION_MONGODB_PORT:-27017}
FERRET_VERSION=v1.24.2
FERRET_BIN=${FERRETDB_BIN:-$HOME/.cache/hotsession/ferretdb-$FERRET_VERSION}

say() { echo "services: $*"; }
warn() { echo "services: $*" >&2; }

up() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_up() { # name port [tenths of a second]
  for _ in $(seq 1 "${3:-100}"); do
    up 127.0.0.1 "$2" && { say "$1 up on 127.0.0.1:$2"; return 0; }
    sleep 0.1
  done
  warn "$1 did not come up on 127.0.0.1:$2 (log: $RUN/$1.log)"
  return 1
}

can_apt() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1
}

# need CMD PACKAGE: succeeds when CMD is on PATH, installing PACKAGE first when root with apt.
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if can_apt; then
    say "installing $2 (apt-get)"
    apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; } || true
    command -v "$1" >/dev/null 2>&1 && return 0
    warn "apt-get could not install $2"
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    warn "$1 is missing and installing it needs root: run 'sudo apt-get install -y $2' (or install $1 another way), then run this again"
  else
    warn "$1 is missing and there is no apt-get here: install $1 (package $2 on Debian/Ubuntu), then run this again"
  fi
  return 1
}

# The run folder: created on the first service this run starts.
RUN=""
run_dir() {
  [ -n "$RUN" ] && return 0
  if [ -f "$STATE_FILE" ] && [ -d "$(cat "$STATE_FILE")" ]; then
    RUN=$(cat "$STATE_FILE") # services of an earlier start still recorded: keep them together
  elif [ -n "${HOTSESSION_SERVICES_DIR:-}" ]; then
    RUN=$HOTSESSION_SERVICES_DIR
    mkdir -p "$RUN"
  else
    RUN=$(mktemp -d "${TMPDIR:-/tmp}/hotsession-services.XXXXXX")
  fi
  echo "$RUN" > "$STATE_FILE"
}

build_ferret() {
  if ! command -v go >/dev/null 2>&1; then
    warn "FerretDB is not built ($FERRET_BIN is missing) and Go is not installed to build it:"
    warn "  install Go >= 1.21 (https://go.dev/doc/install; Debian's golang-go may be too old), or set FERRETDB_BIN to a ferretdb $FERRET_VERSION binary"
    return 1
  fi
  say "building FerretDB $FERRET_VERSION (once, into $FERRET_BIN)"
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

start_redis() {
  if up 127.0.0.1 "$REDIS_PORT"; then say "redis already up on $REDIS_PORT (not started by this run)"; return 0; fi
  need redis-server redis-server || return 1
  run_dir
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$RUN" --logfile "$RUN/redis.log" --pidfile "$RUN/redis.pid"
  wait_up redis "$REDIS_PORT"
}

start_memcached() {
  if up 127.0.0.1 "$MEMCACHED_PORT"; then say "memcached already up on $MEMCACHED_PORT (not started by this run)"; return 0; fi
  need memcached memcached || return 1
  run_dir
  memcached -d -u "$(id -un)" -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 256 -P "$RUN/memcached.pid"
  wait_up memcached "$MEMCACHED_PORT"
}

start_ferretdb() {
  if up 127.0.0.1 "$MONGODB_PORT"; then say "mongodb-compatible server already up on $MONGODB_PORT (not started by this run)"; return 0; fi
  [ -x "$FERRET_BIN" ] || build_ferret || return 1
  run_dir
  mkdir -p "$RUN/ferretdb"
  # No debug HTTP listener: its fixed default port (8088) clashes with any other FerretDB.
  nohup "$FERRET_BIN" --handler=sqlite --sqlite-url="file:$RUN/ferretdb/" --state-dir="$RUN/ferretdb" \
    --listen-addr="127.0.0.1:$MONGODB_PORT" --telemetry=disable --log-level=warn \
    --debug-addr=- > "$RUN/ferretdb.log" 2>&1 &
  echo $! > "$RUN/ferretdb.pid"
  wait_up ferretdb "$MONGODB_PORT" 300
}

# stop_one NAME BINARY: kills the pid recorded for NAME if it still runs BINARY.
stop_one() {
  local pidfile="$RUN/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  # A recycled pid must not be killed: check what it runs.
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "$2"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    say "stopped $1 (pid $pid)"
  else
    say "$1 (pid ${pid:-?}) was no longer running"
  fi
  rm -f "$pidfile"
}

case "${1:-start}" in
  start)
    # redis-cli (cluster tests) and redis-benchmark (bench ceiling) come with redis-tools.
    need redis-cli redis-tools || warn "redis-cli missing: the Redis Cluster tests will fail under HOTSESSION_REQUIRE_BACKENDS=1"
    failed=""
    start_redis || failed="$failed redis"
    start_memcached || failed="$failed memcached"
    start_ferretdb || failed="$failed ferretdb"
    [ -n "$RUN" ] && say "this run's files: $RUN (recorded in $STATE_FILE; 'scripts/services.sh stop' stops what it started)"
    if [ -n "$failed" ]; then warn "could not start:$failed"; exit 1; fi
    ;;
  stop)
    if [ ! -f "$STATE_FILE" ]; then say "nothing recorded in $STATE_FILE: this checkout started nothing"; exit 0; fi
    RUN=$(cat "$STATE_FILE")
    if [ -d "$RUN" ]; then
      stop_one redis redis-server
      stop_one memcached memcached
      stop_one ferretdb ferretdb
      # Only a folder this script made is removed; $HOTSESSION_SERVICES_DIR is the caller's.
      case "$RUN" in "${TMPDIR:-/tmp}"/hotsession-services.*) rm -rf "$RUN" ;; esac
    fi
    rm -f "$STATE_FILE"
    ;;
  status)
    for s in "redis:$REDIS_PORT" "memcached:$MEMCACHED_PORT" "mongodb:$MONGODB_PORT"; do
      if up 127.0.0.1 "${s#*:}"; then echo "${s%%:*} up on 127.0.0.1:${s#*:}"; else echo "${s%%:*} down"; fi
    done
    if [ -f "$STATE_FILE" ]; then
      RUN=$(cat "$STATE_FILE")
      for n in redis memcached ferretdb; do
        [ -f "$RUN/$n.pid" ] && echo "started by this checkout: $n (pid $(cat "$RUN/$n.pid"), files in $RUN)"
      done
    fi
    exit 0
    ;;
  *)
    echo "usage: scripts/services.sh [start|stop|status]" >&2
    exit 2
    ;;
esac

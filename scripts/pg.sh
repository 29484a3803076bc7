#!/usr/bin/env bash
# A throwaway PostgreSQL on 127.0.0.1 and a private port, from the installed binaries (apt-installed
# when missing). PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
# Source it, then: pg_start (sets PG_URL, PG_DIR), pg_stop (stops it and removes its files).
# Tests run it with fsync=off (throwaway data); PG_FSYNC=on makes commits durable, for benchmarks.

pg_bindir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pg_start() {
    local bindir
    bindir=$(pg_bindir)
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        echo "PostgreSQL binaries not found: installing them with apt-get" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        bindir=$(pg_bindir)
    fi
    PG_DIR=$(mktemp -d /tmp/isao-pg.XXXXXX)
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local as=()
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$PG_DIR"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bindir/initdb" -D "$PG_DIR/data" -A trust -U isao -E UTF8 >"$PG_DIR/initdb.log"
    "${as[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
        -o "-k $PG_DIR -p $port -c listen_addresses=127.0.0.1 -c fsync=${PG_FSYNC:-off} -c max_connections=200" start >/dev/null
    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U isao isao_test
    PG_URL="postgresql://isao@127.0.0.1:$port/isao_test"
    PG_BINDIR=$bindir
    export PG_URL PG_DIR PG_BINDIR
    echo "PostgreSQL running at $PG_URL" >&2
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    local as=()
    [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=
}

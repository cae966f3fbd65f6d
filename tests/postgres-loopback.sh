#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1, for tests that run the registry server against
# PostgreSQL instead of SQLite.
#
#   tests/postgres-loopback.sh start DIR [PORT]
#       Creates (or reuses) a cluster under DIR, listening on 127.0.0.1:PORT only (without
#       PORT: a free one the kernel picks), and prints
#       one line on stdout: postgresql://ragasense@127.0.0.1:PORT/postgres
#       DIR/data is the data directory, DIR/log the server log, DIR holds the Unix socket.
#       Durability is off (fsync, synchronous_commit, full_page_writes): for tests only.
#   tests/postgres-loopback.sh stop DIR
#       Stops the cluster (fast mode). Does nothing when it is not running or DIR is absent.
#
# Authentication is `trust`: anyone on this machine can connect as any role. The role
# `ragasense` is a superuser. Run as root (CI), the cluster is owned by the `postgres` OS user,
# created when missing, because initdb and pg_ctl refuse to run as root; DIR must then be
# reachable by that user (e.g. under /tmp, not /root). Everything but the URL goes to stderr.
#
# The binaries come from `pg_config --bindir`, /usr/lib/postgresql/*/bin (newest first) or
# PATH; PG_BINDIR overrides. On Debian/Ubuntu: apt-get install -y postgresql
set -euo pipefail

ROLE=ragasense

die() {
    echo "postgres-loopback: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start DIR [PORT] | stop DIR" >&2
    exit 2
}

# Sets BINDIR to a directory holding initdb, pg_ctl, postgres, pg_isready and psql.
find_bindir() {
    local candidates=() d
    if [[ -n "${PG_BINDIR:-}" ]]; then
        candidates+=("$PG_BINDIR")
    fi
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        [[ -n "$d" ]] && candidates+=("$d")
    fi
    # Newest major version first.
    while IFS= read -r d; do
        candidates+=("$d")
    done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -V -r)
    if command -v initdb >/dev/null 2>&1; then
        candidates+=("$(dirname "$(command -v initdb)")")
    fi
    for d in "${candidates[@]}"; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" && -x "$d/pg_isready" ]]; then
            BINDIR=$d
            return 0
        fi
    done
    die "PostgreSQL server binaries (initdb, pg_ctl, postgres, pg_isready) not found." \
        "Install them with: apt-get install -y postgresql (Debian/Ubuntu package 'postgresql')"
}

# psql: next to the server binaries, else on PATH (Debian's /usr/bin/psql wrapper).
find_psql() {
    if [[ -x "$BINDIR/psql" ]]; then
        PSQL=$BINDIR/psql
    elif command -v psql >/dev/null 2>&1; then
        PSQL=$(command -v psql)
    else
        die "psql not found. Install it with: apt-get install -y postgresql"
    fi
}

# OWNER: the OS user that owns and runs the cluster. Root hands it to `postgres`.
choose_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        OWNER=postgres
        if ! id -u "$OWNER" >/dev/null 2>&1; then
            echo "postgres-loopback: creating system user $OWNER" >&2
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$OWNER" >&2
        fi
    else
        OWNER=$(id -un)
    fi
}

# Runs a command as OWNER, from a directory OWNER can enter.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd / && runuser -u "$OWNER" -- "$@")
    else
        (cd / && "$@")
    fi
}

# The cluster's owner, for stop: whoever owns DIR/data.
owner_of() {
    stat -c %U "$1"
}

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

abs_dir() {
    (cd "$1" && pwd -P)
}

cmd_start() {
    local dir port data log url
    [[ $# -eq 1 || $# -eq 2 ]] || usage
    port=${2:-$(free_port)}
    [[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "bad port: $port"
    find_bindir
    find_psql
    choose_owner
    if [[ -e "$1" && ! -f "$1/data/PG_VERSION" && -n "$(ls -A "$1" 2>/dev/null)" ]]; then
        die "$1 is neither empty nor a cluster made by this script"
    fi
    mkdir -p "$1"
    dir=$(abs_dir "$1")
    data=$dir/data
    log=$dir/log
    # The socket path (DIR/.s.PGSQL.PORT) must fit in sun_path (107 bytes).
    ((${#dir} + 20 < 107)) || die "DIR is too long for a Unix socket path: $dir"
    [[ "$dir" != *"'"* ]] || die "DIR must not contain a single quote: $dir"

    if [[ $(id -u) -eq 0 ]]; then
        chown "$OWNER:" "$dir"
        chmod 0700 "$dir"
        as_owner test -w "$dir" -a -x "$dir" ||
            die "user $OWNER cannot reach $dir (a parent directory is closed); use a DIR under /tmp"
    fi

    if [[ ! -f "$data/PG_VERSION" ]]; then
        echo "postgres-loopback: initdb $data ($BINDIR)" >&2
        if ! as_owner "$BINDIR/initdb" --pgdata="$data" --username=postgres --auth=trust \
            --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1; then
            cat "$dir/initdb.log" >&2
            die "initdb failed"
        fi
        # C collation (--no-locale): text sorts by bytes, as in SQLite.
        as_owner tee -a "$data/postgresql.conf" >/dev/null <<EOF

# tests/postgres-loopback.sh: a throwaway test cluster, durability off.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    fi

    if as_owner "$BINDIR/pg_ctl" status --pgdata="$data" >/dev/null 2>&1; then
        echo "postgres-loopback: already running in $data" >&2
    else
        # -p: the PORT of this call wins over the one written at initdb.
        if ! as_owner "$BINDIR/pg_ctl" start --pgdata="$data" --log="$log" --wait --timeout=60 \
            -o "-p $port" >&2; then
            tail -n 30 "$log" >&2 || true
            die "the server did not start (port $port in use?); log: $log"
        fi
    fi

    local i
    for ((i = 0; i < 120; i++)); do
        if "$BINDIR/pg_isready" --quiet --host=127.0.0.1 --port="$port" --dbname=postgres; then
            break
        fi
        sleep 0.5
    done
    "$BINDIR/pg_isready" --quiet --host=127.0.0.1 --port="$port" --dbname=postgres ||
        die "not ready on 127.0.0.1:$port after 60 s; log: $log"

    "$PSQL" --no-psqlrc --quiet -v ON_ERROR_STOP=1 --host=127.0.0.1 --port="$port" \
        --username=postgres --dbname=postgres >&2 <<EOF
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        CREATE ROLE $ROLE LOGIN SUPERUSER;
    END IF;
END
\$\$;
EOF

    url="postgresql://$ROLE@127.0.0.1:$port/postgres"
    echo "$url"
}

cmd_stop() {
    local dir data
    [[ $# -eq 1 ]] || usage
    [[ -f "$1/data/PG_VERSION" ]] || return 0
    dir=$(abs_dir "$1")
    data=$dir/data
    find_bindir
    if [[ $(id -u) -eq 0 ]]; then
        OWNER=$(owner_of "$data")
    else
        OWNER=$(id -un)
    fi
    if as_owner "$BINDIR/pg_ctl" status --pgdata="$data" >/dev/null 2>&1; then
        as_owner "$BINDIR/pg_ctl" stop --pgdata="$data" --mode=fast --wait --timeout=60 >&2
    fi
}

[[ $# -ge 1 ]] || usage
case "$1" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    *) usage ;;
esac

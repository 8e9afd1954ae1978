#!/usr/bin/env bash
# Install the system packages the test suite needs: the PostgreSQL server binaries (initdb,
# pg_ctl), which tests/support/postgres.py uses to run a throw-away cluster, and Debian's
# Chromium, which the web UI's browser tests drive through Playwright (tests/support/browser.py).
#
# Idempotent, and quick (no apt at all) when everything is already present. Installs only as
# root on a system with apt-get; elsewhere it prints a note and succeeds, and the PostgreSQL
# tests skip (outside CI) or fail (in CI) later on.
set -euo pipefail

say() { printf 'install-system-deps: %s\n' "$*" >&2; }

# Mirrors find_postgres_bin() in tests/support/postgres.py.
have_postgres_server() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir 2>/dev/null || true)
        if [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]]; then
            return 0
        fi
    fi
    for dir in /usr/lib/postgresql/*/bin; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then
            return 0
        fi
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

# Mirrors CHROMIUM in tests/support/browser.py.
have_chromium() {
    [[ -x /usr/bin/chromium ]]
}

wanted=()
have_postgres_server || wanted+=(postgresql)
have_chromium || wanted+=(chromium)
if [[ ${#wanted[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    say "note: missing ${wanted[*]} and not root, so not installing them;" \
        "install them (e.g. 'sudo apt-get install ${wanted[*]}') to run their tests"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "note: missing ${wanted[*]} and no apt-get here; install them by hand to run their tests"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -y -o DPkg::Lock::Timeout=300)

apt_update() {
    say "apt-get update"
    apt-get "${apt_opts[@]}" update >/dev/null
}

apt_install() {
    say "apt-get install ${wanted[*]}"
    apt-get "${apt_opts[@]}" install --no-install-recommends "${wanted[@]}" >/dev/null
}

updated=no
# Package lists missing or without the packages (a fresh image): update first.
if ! apt-cache show "${wanted[@]}" >/dev/null 2>&1; then
    apt_update
    updated=yes
fi
if ! apt_install; then
    if [[ $updated == yes ]]; then
        exit 1
    fi
    # Stale package lists (e.g. a package version no longer on the mirror): update and retry.
    apt_update
    apt_install
fi

# Debian's postinst creates and starts a 'main' cluster; the tests run their own, so stop it
# and keep it from starting at boot.
if command -v pg_lsclusters >/dev/null 2>&1; then
    while read -r version name _port status _rest; do
        if [[ $status == online* ]]; then
            say "stopping the system cluster $version/$name (the tests run their own)"
            pg_ctlcluster "$version" "$name" stop --mode fast || true
        fi
        if [[ -w /etc/postgresql/$version/$name/start.conf ]]; then
            echo manual >"/etc/postgresql/$version/$name/start.conf"
        fi
    done < <(pg_lsclusters --no-header 2>/dev/null || true)
fi

if ! have_postgres_server; then
    say "error: installed postgresql, but still no initdb/pg_ctl found"
    exit 1
fi
if ! have_chromium; then
    say "error: installed chromium, but still no /usr/bin/chromium"
    exit 1
fi
say "installed ${wanted[*]}"

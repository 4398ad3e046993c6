#!/usr/bin/env bash
# Every test of the project, on any machine of the kind it runs on: installs what the tests
# need when it is missing, says what it installs, then runs them all.
#
#   scripts/test.sh            set up, then cargo test --all-features and the end-to-end suites
#   scripts/test.sh --setup    only set up (what CI and a newcomer's first run do before testing)
#
# What it installs, and where:
#   Debian packages   bubblewrap (the sandbox tests run every check under it), curl (the
#                     example clients), redis-server (the shared-state tests start their
#                     own on a free loopback port), chromium (the approvals page is driven
#                     in it, headless), prometheus (scrapes the proxy and example-axum in
#                     tests/e2e/prometheus.sh); `apt-get update` only when needed
#   PyPI packages     pinned below, into virtualenvs at target/e2e/venv and venv2 (the
#                     Python MCP SDK 1.x and 2.x; never global)
#   npm packages      pinned below, into target/e2e/node (never global): Node 22 (the
#                     conformance suite needs it; the machine's own Node is left alone),
#                     the official MCP conformance suite (0.1.16, and 0.2.0-alpha.12 as
#                     `conformance-next`, which knows revision 2026-07-28), the MCP servers the proxy
#                     tests put behind `airlock proxy` (server-filesystem, server-everything),
#                     playwright-core (drives the headless Chromium), and oidc-provider
#                     (the OpenID provider the OAuth tests start on loopback)
# Run again, it finds everything present and goes straight to the tests. The sanitizer's
# fuzz run (tests/sanitize_fuzz.rs) lasts AIRLOCK_FUZZ_SECS seconds (30 by default).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
e2e="${CARGO_TARGET_DIR:-$root/target}/e2e"

# Pinned versions of what the end-to-end tests drive. Change them here only.
PYTHON_PACKAGES=("mcp==1.30.0")     # target/e2e/venv: the Python SDK 1.x
PYTHON2_PACKAGES=("mcp==2.3.0")     # target/e2e/venv2: the Python SDK 2.x
NPM_PACKAGES=("node@22.23.3" "@modelcontextprotocol/conformance@0.1.16"
    "conformance-next@npm:@modelcontextprotocol/conformance@0.2.0-alpha.12"
    "@modelcontextprotocol/server-filesystem@2026.8.31" "@modelcontextprotocol/server-everything@2026.8.31"
    "@modelcontextprotocol/sdk@1.32.2" "playwright-core@1.65.2" "oidc-provider@9.13.3")

say() { echo "scripts/test.sh: $*"; }
started=$SECONDS
step_started=$SECONDS
timings=()
step() { # name: starts timing a step, ending the one before
    end_step
    step_name=$1
    step_started=$SECONDS
    echo "== $1"
}
end_step() {
    if [ -n "${step_name:-}" ]; then
        timings+=("$(printf '%5d s  %s' $((SECONDS - step_started)) "$step_name")")
    fi
    step_name=""
}

root_cmd() { # runs a command as root, through sudo when not root
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

setup_debian() {
    local missing=()
    command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
    python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
    [ ${#missing[@]} -eq 0 ] && return
    if ! command -v apt-get >/dev/null 2>&1; then
        say "missing: ${missing[*]}; this is not a Debian-based machine: install them by hand" >&2
        exit 1
    fi
    say "installing Debian packages: ${missing[*]}"
    # The package lists of a fresh machine may be empty or stale: update only then.
    if ! root_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
        >/dev/null 2>&1; then
        say "updating the package lists first"
        root_cmd apt-get update -qq
        root_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

setup_python() { # venv-dir packages…
    local venv="$1" want
    shift
    want=$(printf '%s\n' "$@")
    if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.pinned" 2>/dev/null)" = "$want" ]; then
        return
    fi
    say "installing PyPI packages into $venv: $*"
    rm -rf "$venv"
    mkdir -p "$e2e"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@"
    echo "$want" >"$venv/.pinned"
}

setup_npm() {
    local dir="$e2e/node" want
    want=$(printf '%s\n' "${NPM_PACKAGES[@]}")
    if [ -x "$dir/node_modules/.bin/conformance" ] && [ "$(cat "$dir/.pinned" 2>/dev/null)" = "$want" ]; then
        return
    fi
    say "installing npm packages into $dir: ${NPM_PACKAGES[*]}"
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd "$dir" && echo '{"private": true}' >package.json \
        && npm install --no-audit --no-fund --loglevel=error "${NPM_PACKAGES[@]}" >/dev/null)
    echo "$want" >"$dir/.pinned"
}

step "set up"
setup_debian
setup_python "$e2e/venv" "${PYTHON_PACKAGES[@]}"
setup_python "$e2e/venv2" "${PYTHON2_PACKAGES[@]}"
setup_npm
say "everything the tests need is present"
if [ "${1:-}" = "--setup" ]; then
    end_step
    exit 0
fi

step "cargo test --all-features (every test and doctest, none skipped: AIRLOCK_E2E_REQUIRED=1; the sanitizer fuzz run for ${AIRLOCK_FUZZ_SECS:-30} s)"
AIRLOCK_E2E_REQUIRED=1 AIRLOCK_E2E_DIR="$e2e" AIRLOCK_FUZZ_SECS="${AIRLOCK_FUZZ_SECS:-30}" cargo test --all-features

step "the example servers and their clients (examples/smoke.sh)"
bash examples/smoke.sh

step "the Python MCP SDK against example-axum (HTTP) and example-rmcp (stdio)"
E2E_VENVS="$e2e/venv $e2e/venv2" bash tests/e2e/python_clients.sh

step "the Python MCP SDK 2.x pinned to 2026-07-28 through airlock proxy --listen, the upstream's elicitation and sampling answered (tests/e2e/proxy_2026.sh)"
E2E_NODE="$e2e/node" E2E_VENV2="$e2e/venv2" bash tests/e2e/proxy_2026.sh

step "OAuth: a real OpenID provider, the Python SDK's OAuth client, example-axum and airlock proxy --listen (tests/e2e/oauth.sh)"
E2E_NODE="$e2e/node" E2E_VENVS="$e2e/venv $e2e/venv2" bash tests/e2e/oauth.sh

step "two example-axum replicas on one Redis (tests/e2e/replicas.sh)"
bash tests/e2e/replicas.sh

step "the MCP conformance suite against example-axum (tests/e2e/conformance.sh)"
E2E_NODE="$e2e/node" bash tests/e2e/conformance.sh

step "the MCP conformance suite's requirements of 2025-11-25 and 2026-07-28 against the conformance example (tests/e2e/conformance_server.sh)"
E2E_NODE="$e2e/node" bash tests/e2e/conformance_server.sh

step "the MCP conformance suite against airlock proxy in front of server-everything (tests/e2e/conformance_proxy.sh)"
E2E_NODE="$e2e/node" bash tests/e2e/conformance_proxy.sh

step "the MCP conformance suite's requirements of 2025-11-25 and 2026-07-28, each upstream alone and through airlock proxy --listen (tests/e2e/conformance_proxy_revisions.sh)"
E2E_NODE="$e2e/node" bash tests/e2e/conformance_proxy_revisions.sh

step "a real Prometheus scraping airlock proxy and example-axum (tests/e2e/prometheus.sh)"
E2E_NODE="$e2e/node" bash tests/e2e/prometheus.sh

end_step
echo "== where the time went"
printf '%s\n' "${timings[@]}"
printf '%5d s  in all\n' $((SECONDS - started))
say "every test passed"

#!/usr/bin/env bash
# The OWASP CRS v4.28 regression suite over real HTTP: builds the
# protected_server example (release), starts it on 127.0.0.1 with a free
# port in the suite's configuration, runs the crs_regression runner against
# it (CRS_URL, see crates/rasp-core/tests/crs/http.rs), and stops it.
#
#   scripts/crs-over-http.sh               # the whole suite
#   scripts/crs-over-http.sh 920100 942    # tests whose name starts so
#   CRS_TEST=920430 scripts/crs-over-http.sh
#
# Prints the runner's usual summary line, `crs-regression: N passed, M
# failed, K overridden`, plus the tests whose result differs from the
# in-process run with both sides' reasons. The JSON report goes to
# target/release/../crs-regression/report-http.json.
#
# Environment (defaults):
#   RASP_CRS_DIR     OWASP CRS directory (../shared/crs beside the repository)
#   TIME_LIMIT       seconds the runner may take (900)
#   KEEP_AUDIT_LOG   a path: keep the server's audit log there
#
# Bounded: the server start is waited for at most 120 s, the runner is
# under `timeout TIME_LIMIT`, and an EXIT trap stops the server by its pid.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

TIME_LIMIT=${TIME_LIMIT:-900}
crs=${RASP_CRS_DIR:-$root/../shared/crs}
if [ ! -d "$crs/rules" ] || [ ! -f "$crs/test-setup.conf" ]; then
    echo "error: no OWASP CRS with test-setup.conf at $crs (set RASP_CRS_DIR)" >&2
    exit 1
fi
crs=$(cd "$crs" && pwd)

work=$(mktemp -d /tmp/rasp-crs-http.XXXXXX)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ -n "${KEEP_AUDIT_LOG:-}" ] && [ -f "$work/audit.jsonl" ]; then
        cp "$work/audit.jsonl" "$KEEP_AUDIT_LOG"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "crs-over-http: building the example server and the runner (release)…" >&2
cargo build --release --quiet --example protected_server
cargo test --release --quiet -p rasp-core --test crs_regression --no-run 2>/dev/null
server="$root/target/release/examples/protected_server"

# Port 0: the kernel picks a free port; the server prints the one it got.
"$server" --listen 127.0.0.1:0 --crs "$crs" --crs-test-setup --detection-only \
    --albedo --expose-matched-rules --audit-log "$work/audit.jsonl" --audit-all \
    >"$work/server.out" 2>"$work/server.err" &
server_pid=$!

url=""
for _ in $(seq 1 1200); do
    url=$(sed -n 's|.*listening on \(http://[0-9.:]*\).*|\1|p' "$work/server.out")
    [ -n "$url" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "error: the server exited:" >&2
        cat "$work/server.err" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "error: the server did not start listening within 120 s" >&2
    exit 1
fi
echo "crs-over-http: server at $url (pid $server_pid), audit log $work/audit.jsonl" >&2

set +e
CRS_URL="$url" CRS_AUDIT_LOG="$work/audit.jsonl" \
    timeout "$TIME_LIMIT" cargo test --release --quiet -p rasp-core --test crs_regression -- "$@"
rc=$?
set -e
if [ "$rc" -eq 124 ]; then
    echo "error: the runner did not finish within ${TIME_LIMIT} s" >&2
fi
exit "$rc"

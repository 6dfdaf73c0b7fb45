#!/usr/bin/env bash
# Installs what the optional benchmarks need (Debian/Ubuntu, as root or with sudo):
#   - libmodsecurity3 + libmodsecurity-dev: `cargo bench --features bench-modsecurity`
#     links libmodsecurity through a small FFI module (benches/modsecurity/).
#   - nginx + libnginx-mod-http-modsecurity: the nginx + ModSecurity baseline of
#     benches/http/run.sh; libnginx-mod-http-echo answers in the content phase
#     (nginx's `return` answers before ModSecurity's phases would run).
#   - wrk, curl, procps: the HTTP load generator, the checks of
#     benches/http/run.sh, and pgrep (its server CPU column counts nginx's worker).
#   - linux-perf, valgrind: profiling (optional; perf may be unusable in containers).
# The default build and CI need none of these.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
    libmodsecurity3 libmodsecurity-dev \
    nginx libnginx-mod-http-modsecurity libnginx-mod-http-echo \
    wrk curl procps pkg-config
# Profilers are a convenience: do not fail the install without them.
$SUDO apt-get install -y --no-install-recommends linux-perf valgrind || true

# Debian starts nginx on install (port 80); the HTTP benchmark runs its own
# instance with its own configuration, so stop the system one if running.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
    $SUDO systemctl stop nginx || true
elif [ -f /run/nginx.pid ]; then
    $SUDO nginx -s stop 2>/dev/null || true
fi

echo "libmodsecurity: $(dpkg-query -W -f='${Version}' libmodsecurity3 2>/dev/null || echo missing)"
echo "nginx: $(dpkg-query -W -f='${Version}' nginx 2>/dev/null || echo missing)"
echo "wrk: $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo missing)"

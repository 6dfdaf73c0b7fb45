#!/usr/bin/env bash
# The README's test command: builds in release (the CRS suite is much faster
# optimised) and runs every test of the workspace, including the CRS v4.28
# regression suite and the compiler's full-CRS load test.
#
# CRS is found at $RASP_CRS_DIR, else ../shared/crs beside the repository,
# else in target/crs-v4.28.0, which this script downloads once (needs
# network access to GitHub). A missing CRS fails loudly: no test skips.
set -euo pipefail
cd "$(dirname "$0")/.."

crs_version="4.28.0"
if [ -z "${RASP_CRS_DIR:-}" ]; then
    if [ -d ../shared/crs/rules ]; then
        RASP_CRS_DIR="$(cd ../shared/crs && pwd)"
    else
        RASP_CRS_DIR="$(pwd)/target/crs-v${crs_version}"
        if [ ! -d "$RASP_CRS_DIR/rules" ]; then
            echo "CRS not found: downloading OWASP CRS v${crs_version} into $RASP_CRS_DIR" >&2
            mkdir -p "$RASP_CRS_DIR"
            curl -fsSL "https://github.com/coreruleset/coreruleset/archive/refs/tags/v${crs_version}.tar.gz" \
                | tar -xz --strip-components=1 -C "$RASP_CRS_DIR"
        fi
    fi
fi
if [ ! -d "$RASP_CRS_DIR/rules" ]; then
    echo "error: no CRS rules at $RASP_CRS_DIR/rules (set RASP_CRS_DIR)" >&2
    exit 1
fi
export RASP_CRS_DIR
echo "using CRS at $RASP_CRS_DIR"

cargo test --workspace --release

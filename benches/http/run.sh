#!/usr/bin/env bash
# HTTP benchmark: the example server bare / with RaspLayer (CRS PL1) /
# with RaspLayer + RateLimitLayer, and (when installed) nginx bare and
# nginx + ModSecurity with the same CRS, each driven by wrk on 127.0.0.1
# with the benign GET and the 4 KiB urlencoded form POST of the request
# mix (benches/common/mix.rs), same Host header for all.
#
#   scripts/install-bench-deps.sh        # once: wrk, nginx, ModSecurity-nginx
#   benches/http/run.sh                  # prints a markdown table
#
# Each row has wrk's req/s and latencies, and the server's own CPU time
# (user + system, from /proc) per answered request: a bare server waits on
# wrk, a protected one keeps its core busy, so req/s compare the slower
# side of each pair while CPU per request compares the servers.
#
# Environment (defaults):
#   RASP_CRS_DIR   OWASP CRS directory (../shared/crs beside the repository)
#   DURATION       wrk run time per measurement, seconds (10)
#   WARMUP         wrk warm-up before each measurement, seconds (2)
#   CONNECTIONS    wrk connections (16)
#   THREADS        wrk threads (1)
#   SERVER_CPUS    CPU list the servers are pinned to (1); empty = no pinning
#   WRK_CPUS       CPU list wrk is pinned to (0); empty = no pinning
#   PORT           first port to use (18480)
#   ONLY           space-separated subset of: bare rasp rasp_rl nginx nginx_modsec
#
# Bounded: every server is started in the background, checked, measured
# and killed by its pid; an EXIT trap kills whatever is still running.
# Total time is about (#servers x 2 x (WARMUP + DURATION)) plus the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

CLK_TCK=$(getconf CLK_TCK)
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
SERVER_CPUS=${SERVER_CPUS-1}
WRK_CPUS=${WRK_CPUS-0}
PORT=${PORT:-18480}
ONLY=${ONLY:-bare rasp rasp_rl nginx nginx_modsec}
HOST_HEADER=www.example.com

crs=${RASP_CRS_DIR:-$root/../shared/crs}
if [ ! -d "$crs/rules" ] || [ ! -f "$crs/crs-setup.conf.example" ]; then
    echo "error: no OWASP CRS at $crs (set RASP_CRS_DIR)" >&2
    exit 1
fi
crs=$(cd "$crs" && pwd)
command -v wrk >/dev/null || { echo "error: wrk not installed (scripts/install-bench-deps.sh)" >&2; exit 1; }
# The server CPU column counts the children of a server (nginx's worker).
command -v pgrep >/dev/null || { echo "error: pgrep not installed (procps; scripts/install-bench-deps.sh)" >&2; exit 1; }

work=$(mktemp -d /tmp/rasp-http-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

pin() { # pin CPUS cmd...: run pinned when CPUS is set and taskset exists
    local cpus=$1
    shift
    if [ -n "$cpus" ] && command -v taskset >/dev/null; then
        taskset -c "$cpus" "$@"
    else
        "$@"
    fi
}

spawn() { # spawn CPUS LOG cmd...: background, pinned; its pid (not a subshell's) in $!
    local cpus=$1 log=$2
    shift 2
    if [ -n "$cpus" ] && command -v taskset >/dev/null; then
        taskset -c "$cpus" "$@" >"$log" 2>&1 &
    else
        "$@" >"$log" 2>&1 &
    fi
}

echo "building the example server and the mix (release)…" >&2
cargo build --release --quiet --example protected_server
cargo bench --quiet --bench mix -- --dump "$work/mix" >/dev/null
server="$root/target/release/examples/protected_server"

wait_port() { # wait_port PORT PID: up to 60 s for the listener (CRS compile)
    for _ in $(seq 1 600); do
        if ! kill -0 "$2" 2>/dev/null; then
            echo "error: server on port $1 exited" >&2
            return 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "error: nothing listens on port $1" >&2
    return 1
}

# Checks that the server answers the benign cases with 2xx and blocks the
# SQL injection with 403 (or, for the bare ones, answers it).
check() { # check NAME PORT EXPECT_BLOCK
    local code
    for case in benign_get form_post_4k; do
        code=$(run_once "$2" "$case")
        if [ "${code:0:1}" != 2 ]; then
            echo "error: $1 answers $case with $code" >&2
            return 1
        fi
    done
    code=$(run_once "$2" sqli_get)
    if [ "$3" = yes ] && [ "$code" != 403 ]; then
        echo "error: $1 does not block the SQL injection ($code): the WAF is not inspecting" >&2
        return 1
    fi
}

run_once() { # run_once PORT CASE: status of one request as wrk sends it
    local lua=$work/mix/$2.lua args=(-s -o /dev/null -w '%{http_code}' -H "Host: $HOST_HEADER")
    local method path
    method=$(sed -n 's/^wrk.method = "\(.*\)"$/\1/p' "$lua")
    path=$(sed -n 's/^wrk.path = "\(.*\)"$/\1/p' "$lua")
    while IFS= read -r h; do
        args+=(-H "$h")
    done < <(sed -n 's/^wrk.headers\["\([^"]*\)"\] = "\(.*\)"$/\1: \2/p' "$lua" | grep -v '^Host:')
    if [ -f "$work/mix/$2.body" ]; then
        args+=(--data-binary "@$work/mix/$2.body")
    fi
    curl -X "$method" "${args[@]}" "http://127.0.0.1:$1$path"
}

# CPU time (user + system, clock ticks) the server has used so far: the
# process and its children (nginx's worker), threads included.
server_ticks() { # server_ticks PID
    local total=0 p stat rest f
    for p in "$1" $(pgrep -P "$1" || true); do
        stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        # Fields after the command name (which may hold spaces): state is
        # field 3, utime and stime fields 14 and 15.
        rest=${stat##*) }
        read -r -a f <<<"$rest"
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

results=()
measure() { # measure NAME PORT CASE: the server is the last one started
    local lua=$work/mix/$3.lua out server=${pids[-1]}
    pin "$WRK_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$lua" "http://127.0.0.1:$2" >/dev/null
    local before after
    before=$(server_ticks "$server")
    out=$(pin "$WRK_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$lua" "http://127.0.0.1:$2")
    after=$(server_ticks "$server")
    local rps p50 p99 non2xx requests cpu
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
    requests=$(awk '/ requests in / {print $1}' <<<"$out")
    # The server's CPU per answered request, in microseconds: what the
    # server itself spends, whether or not the client keeps it busy (the
    # bare servers wait on wrk; a protected one keeps its core busy).
    cpu=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="${requests:-0}" \
        'BEGIN {if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "–"}')
    results+=("$1|$3|$rps|$p50|$p99|${non2xx:-0}|$cpu")
    echo "  $1 $3: $rps req/s, p50 $p50, p99 $p99, non-2xx ${non2xx:-0}, server CPU $cpu µs/request" >&2
}

start_rasp() { # start_rasp NAME PORT ARGS...
    local name=$1 port=$2
    shift 2
    spawn "$SERVER_CPUS" "$work/$name.log" "$server" --listen "127.0.0.1:$port" "$@"
    pids+=($!)
    wait_port "$port" $! || { cat "$work/$name.log" >&2; exit 1; }
}

stop_last() {
    local p=${pids[-1]}
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    unset 'pids[-1]'
}

nginx_conf() { # nginx_conf NAME PORT MODSEC(yes/no)
    local dir=$work/$1
    mkdir -p "$dir"
    local modsec_load="" modsec_on=""
    if [ "$3" = yes ]; then
        # Same configuration as the engine benches (benches/common/mod.rs
        # ENGINE_CONF), paranoia 1, then CRS. Response body access off,
        # as rasp's default (the answer is 3 bytes of text either way).
        { cat "$work/mix/engine.conf"
          echo 'SecResponseBodyAccess Off'
          echo 'SecAction "id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=1"'
          echo "Include $crs/crs-setup.conf.example"
          echo "Include $crs/rules/*.conf"
        } >"$dir/modsec.conf"
        modsec_load="load_module /usr/lib/nginx/modules/ngx_http_modsecurity_module.so;"
        modsec_on="modsecurity on; modsecurity_rules_file $dir/modsec.conf;"
    fi
    cat >"$dir/nginx.conf" <<NGINX
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
$modsec_load
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    client_body_buffer_size 128k;
    client_max_body_size 16m;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$2;
        $modsec_on
        # echo answers in the content phase, after ModSecurity's
        # rewrite/pre-access handlers (\`return\` would answer before them).
        location / {
            default_type text/plain;
            echo "ok";
        }
    }
}
NGINX
    echo "$dir/nginx.conf"
}

start_nginx() { # start_nginx NAME PORT MODSEC
    local conf
    conf=$(nginx_conf "$1" "$2" "$3")
    spawn "$SERVER_CPUS" "$work/$1.log" nginx -c "$conf" -e "$work/$1/error.log"
    pids+=($!)
    wait_port "$2" $! || { cat "$work/$1.log" "$work/$1/error.log" >&2; exit 1; }
}

port=$PORT
for cfg in $ONLY; do
    port=$((port + 1))
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "error: something already listens on 127.0.0.1:$port (set PORT)" >&2
        exit 1
    fi
    case $cfg in
        bare) start_rasp bare "$port" --bare ;;
        rasp) start_rasp rasp "$port" --crs "$crs" --paranoia 1 ;;
        # A limit no benchmark client reaches: measures the limiter's cost.
        rasp_rl) start_rasp rasp_rl "$port" --crs "$crs" --paranoia 1 --rps 100000000 --burst 100000000 ;;
        nginx | nginx_modsec)
            if ! command -v nginx >/dev/null; then
                echo "skipping $cfg: nginx not installed" >&2
                continue
            fi
            if [ ! -f /usr/lib/nginx/modules/ngx_http_echo_module.so ]; then
                echo "skipping $cfg: libnginx-mod-http-echo not installed" >&2
                continue
            fi
            if [ "$cfg" = nginx_modsec ] && [ ! -f /usr/lib/nginx/modules/ngx_http_modsecurity_module.so ]; then
                echo "skipping $cfg: libnginx-mod-http-modsecurity not installed" >&2
                continue
            fi
            start_nginx "$cfg" "$port" "$([ "$cfg" = nginx_modsec ] && echo yes || echo no)"
            ;;
        *) echo "unknown configuration $cfg" >&2; exit 1 ;;
    esac
    case $cfg in rasp | rasp_rl | nginx_modsec) block=yes ;; *) block=no ;; esac
    check "$cfg" "$port" "$block"
    for case in benign_get form_post_4k; do
        measure "$cfg" "$port" "$case"
    done
    stop_last
done

# The table: ratios against the bare example server (and, for the nginx
# rows, against bare nginx).
echo
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on 127.0.0.1 (server CPUs: ${SERVER_CPUS:-any}, wrk CPUs: ${WRK_CPUS:-any}); $(nproc) cores, $(uname -r)"
echo
echo "| server | request | req/s | p50 | p99 | non-2xx | server CPU µs/request | vs bare | vs nginx bare |"
echo "|---|---|---|---|---|---|---|---|---|"
base_of() { # base_of NAME CASE
    local r
    for r in "${results[@]}"; do
        IFS='|' read -r n c rps _ <<<"$r"
        if [ "$n" = "$1" ] && [ "$c" = "$2" ]; then
            echo "$rps"
            return
        fi
    done
}
for r in "${results[@]}"; do
    IFS='|' read -r n c rps p50 p99 non cpu <<<"$r"
    b=$(base_of bare "$c")
    nb=$(base_of nginx "$c")
    vb=$([ -n "$b" ] && awk -v a="$rps" -v b="$b" 'BEGIN {printf "%.1f %%", 100 * a / b}' || echo –)
    vn=$([ -n "$nb" ] && awk -v a="$rps" -v b="$nb" 'BEGIN {printf "%.1f %%", 100 * a / b}' || echo –)
    echo "| $n | $c | $rps | $p50 | $p99 | $non | $cpu | $vb | $vn |"
done

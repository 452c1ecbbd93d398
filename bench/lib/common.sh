# Shared by the bench scripts: a private MariaDB and gateway processes in a
# temporary folder, removed on exit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BARID_BUILD_DIR:-$root/build}
gateway=$build/gateway/barid-gateway

"$root/scripts/install-deps" bench
BARID_BUILD_DIR=$build "$root/scripts/build" --target barid-gateway barid_plugins >/dev/null

work=$(mktemp -d /tmp/barid-bench.XXXXXX)
bench_pids=()
# stop_pid PID: SIGTERM, up to 15 s to exit, then SIGKILL; reaps the child.
stop_pid() {
  kill "$1" 2>/dev/null || return 0
  local deadline=$((SECONDS + 15))
  while kill -0 "$1" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
bench_cleanup() {
  for p in "${bench_pids[@]}"; do stop_pid "$p"; done
  "$root/scripts/db" stop --dir "$work/db" || true
  rm -rf "$work"
}
trap bench_cleanup EXIT

# A port nothing listens on (a server left by an interrupted run may hold one).
free_port() {
  local p
  for p in $(shuf -i 20000-60000 -n 100); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "bench: no free port found" >&2
  exit 1
}
eval "$("$root/scripts/db" start --dir "$work/db" --port "$(free_port)")"
export BARID_PLUGIN_DIR=$build/plugins

sql() { mariadb --defaults-file="$work/db/my.cnf" -uroot -N barid -e "$1"; }

# write_config FILE PROVIDERS_AND_MORE_YAML
write_config() {
  cat >"$1" <<YAML
server:
  listen: "127.0.0.1:0"
  threads: 2
storage:
  host: "\${BARID_DB_HOST}"
  port: "\${BARID_DB_PORT}"
  database: barid
  user: barid
  password: "\${BARID_DB_PASSWORD}"
  pool_size: 8
plugins:
  path: ["\${BARID_PLUGIN_DIR}"]
messaging:
  default_region: SA
log:
  level: warn
$2
YAML
}

# start_gateway CONFIG NAME -> sets url; the process is stopped on exit
start_gateway() {
  "$gateway" --config "$1" >"$work/$2.out" 2>"$work/$2.err" &
  bench_pids+=($!)
  local deadline=$((SECONDS + 60))
  until grep -qs "^listening on " "$work/$2.out"; do
    if ((SECONDS > deadline)); then
      echo "the gateway did not start:" >&2; cat "$work/$2.err" >&2; exit 1
    fi
    sleep 0.1
  done
  url=$(sed -n 's/^listening on //p' "$work/$2.out" | head -1)
}

# wrk_measure OUT CONNECTIONS DURATION THREADS SCRIPT URL: one wrk run with
# --latency and a script that prints requests=, duration_s=, p99_ms=,
# non2xx= (and optionally ok2xx=); its output is shown and kept in OUT. Sets
# m_ok (2xx answers), m_secs, m_rate (2xx/s, rounded) and m_p99 (ms).
wrk_measure() {
  wrk -t"$4" -c"$2" -d"$3" --latency -s "$5" "$6" | tee "$1"
  local requests non2xx
  requests=$(sed -n 's/^requests=\([0-9]*\).*/\1/p' "$1")
  non2xx=$(sed -n 's/^non2xx=\([0-9]*\).*/\1/p' "$1")
  m_secs=$(sed -n 's/.*duration_s=\([0-9.]*\).*/\1/p' "$1")
  m_p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' "$1")
  m_ok=$(sed -n 's/^ok2xx=\([0-9]*\).*/\1/p' "$1")
  [[ -n $m_ok ]] || m_ok=$((requests - non2xx))
  m_rate=$(awk "BEGIN{printf \"%.0f\", $m_ok/$m_secs}")
}

# measure_accept CONNECTIONS DURATION THREADS DISPATCH(on|off) WRITERS [YAML]:
# the durable accept measurement of bench/accept/run (a gateway on the
# private MariaDB, 5 s warm-up, then wrk POST /v1/messages); YAML is added to
# its configuration. Sets accept_rate, accept_p99, accept_ok, and
# accept_check: "ok", or "FAIL" when fewer rows were committed than 202s
# were answered (a lost message).
measure_accept() {
  local connections=$1 duration=$2 wrk_threads=$3 dispatch=$4 writers=$5 extra=${6:-} key before after stored
  write_config "$work/gateway.yaml" "providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, report_mode: poll}
routing:
  sms: {provider: mock-sms}
dispatch:
  enabled: $([[ $dispatch == on ]] && echo true || echo false)
intake:
  writers: $writers
jobs: {status_refresh: {enabled: false}, retry_sweep: {enabled: false}, retention: {enabled: false}, provider_health: {enabled: false}}
$extra"
  key=$("$gateway" --config "$work/gateway.yaml" create-api-key --tenant bench 2>/dev/null)
  start_gateway "$work/gateway.yaml" gateway

  echo "warm-up (5s)..."
  BARID_BENCH_KEY=$key wrk -t"$wrk_threads" -c"$connections" -d5s -s "$root/bench/accept/post.lua" "$url" >/dev/null
  before=$(sql "SELECT COUNT(*) FROM messages")
  echo "measuring: $connections connections, $duration, dispatch $dispatch"
  BARID_BENCH_KEY=$key wrk_measure "$work/wrk.out" "$connections" "$duration" "$wrk_threads" \
    "$root/bench/accept/post.lua" "$url"
  after=$(sql "SELECT COUNT(*) FROM messages")

  stored=$((after - before))
  accept_ok=$m_ok accept_rate=$m_rate accept_p99=$m_p99
  echo "----"
  echo "accepted (202): $accept_ok in ${m_secs}s = $accept_rate msg/s"
  echo "rows committed during the run: $stored"
  # wrk stops with requests in flight: a 202 it did not count may still have
  # committed, so stored >= accepted; fewer rows than 202s would be a lost message.
  accept_check=ok
  if ((stored < accept_ok)); then
    echo "FAIL: fewer rows than 202 answers" >&2
    accept_check=FAIL
  fi
}

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
bench_cleanup() {
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  "$root/scripts/db" stop --dir "$work/db" || true
  rm -rf "$work"
}
trap bench_cleanup EXIT

eval "$("$root/scripts/db" start --dir "$work/db" --port "$(shuf -i 20000-60000 -n 1)")"
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
  until grep -q "^listening on " "$work/$2.out"; do
    if ((SECONDS > deadline)); then
      echo "the gateway did not start:" >&2; cat "$work/$2.err" >&2; exit 1
    fi
    sleep 0.1
  done
  url=$(sed -n 's/^listening on //p' "$work/$2.out" | head -1)
}

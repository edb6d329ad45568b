#!/usr/bin/env bash
# A local Redis Cluster for trying MUTT's cluster mode and for `mutt bench`
# (docs/SCALING.md): three primaries and three replicas of
# `redis-server --cluster-enabled yes` on 127.0.0.1, AOF everysec, one
# directory each under DIR.
#
#   scripts/redis-cluster.sh start [DIR] [FIRST_PORT]   # default /tmp/mutt-cluster 7101
#   scripts/redis-cluster.sh stop  [DIR]
#
# `start` prints the REDIS_URL to use with MUTT_REDIS_CLUSTER=true. Nodes
# use FIRST_PORT..FIRST_PORT+5 and bus ports FIRST_PORT+100..+105.
set -euo pipefail
cmd=${1:-}
dir=${2:-/tmp/mutt-cluster}
first=${3:-7101}

case "$cmd" in
start)
  addrs=()
  for i in 0 1 2 3 4 5; do
    port=$((first + i))
    d="$dir/$port"
    mkdir -p "$d"
    redis-server --bind 127.0.0.1 --port "$port" --cluster-port $((port + 100)) --dir "$d" \
      --logfile "$d/redis.log" --save "" --daemonize yes --pidfile "$d/redis.pid" \
      --cluster-enabled yes --cluster-config-file "$d/nodes.conf" --cluster-node-timeout 1000 \
      --appendonly yes --appendfsync everysec
    addrs+=("127.0.0.1:$port")
  done
  for a in "${addrs[@]}"; do
    until redis-cli -h 127.0.0.1 -p "${a##*:}" ping >/dev/null 2>&1; do sleep 0.1; done
  done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log"
  until [ "$(redis-cli -p "$first" cluster info | tr -d '\r' | awk -F: '/cluster_state/ {print $2}')" = ok ]; do
    sleep 0.2
  done
  sep='?'
  url="redis://${addrs[0]}"
  for a in "${addrs[@]:1}"; do url="$url${sep}addr=$a"; sep='&'; done
  echo "REDIS_URL=$url"
  ;;
stop)
  for pidfile in "$dir"/*/redis.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  done
  rm -rf "$dir"
  ;;
*)
  sed -n '2,12p' "$0"
  exit 2
  ;;
esac

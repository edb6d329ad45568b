#!/usr/bin/env bash
# Install the Temporal CLI when missing (from the Go module proxy, cached in
# $(go env GOPATH)/bin), and with --test-server make sure a dev server for the
# test suite answers on TEST_TEMPORAL_ADDRESS (default 127.0.0.1:17233,
# headless, in memory). `mutt dev` starts its own server; it only needs the CLI.
set -euo pipefail
TEMPORAL_CLI_VERSION=v1.5.1
export PATH="$(go env GOPATH)/bin:$PATH"

if ! command -v temporal >/dev/null 2>&1; then
  echo "installing the Temporal CLI $TEMPORAL_CLI_VERSION (once per machine, a few minutes)..." >&2
  go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
fi

if [ "${1:-}" = "--test-server" ]; then
  addr="${TEST_TEMPORAL_ADDRESS:-127.0.0.1:17233}"
  if ! temporal operator cluster health --address "$addr" >/dev/null 2>&1; then
    host="${addr%:*}"; port="${addr##*:}"
    nohup temporal server start-dev --headless --ip "$host" --port "$port" \
      --http-port $((port + 1)) --metrics-port $((port + 2)) --log-level error \
      >/tmp/mutt-test-temporal.log 2>&1 &
    for _ in $(seq 1 150); do
      temporal operator cluster health --address "$addr" >/dev/null 2>&1 && break
      sleep 0.2
    done
  fi
  temporal operator cluster health --address "$addr" >/dev/null
fi

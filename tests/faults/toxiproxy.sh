#!/usr/bin/env bash
# Builds Toxiproxy (a TCP fault proxy: latency, cuts) from the Go module proxy at the pinned version
# into .cache/ once, and prints the server binary's path. The cluster fault scenarios put it between
# the stage and the brokers, since this kind of machine's kernel has no netem qdisc.
#   tests/faults/toxiproxy.sh
set -euo pipefail
version=v2.5.0
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/.cache/toxiproxy-$version/toxiproxy-server
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || "$root/deploy/setup.sh" golang-go >&2
  mkdir -p "$(dirname "$bin")"
  echo "toxiproxy: building github.com/Shopify/toxiproxy/v2/cmd/server@$version" >&2
  GOBIN=$(dirname "$bin") GOFLAGS=-mod=mod go install "github.com/Shopify/toxiproxy/v2/cmd/server@$version" >&2
  mv "$(dirname "$bin")/server" "$bin"
fi
echo "$bin"

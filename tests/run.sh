#!/usr/bin/env bash
# The project's test command: installs what is missing, builds, starts an isolated local Kafka
# broker for the integration suites, runs every ctest suite, and stops the broker again.
#   tests/run.sh                 every suite
#   tests/run.sh -L unit         only some labels (arguments go to ctest)
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/setup.sh
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} >/dev/null
cmake --build "$build_dir" -j "$(nproc)"

if [ -x deploy/kafka/local.sh ] && [ -d tests/integration ] && ls tests/integration/* >/dev/null 2>&1; then
  # An isolated broker on its own port and data folder: tests never touch a broker a user runs.
  export KAFKA_PORT=${TEST_KAFKA_PORT:-19092}
  export KAFKA_DATA=${TEST_KAFKA_DATA:-$PWD/$build_dir/kafka-test}
  export DLR_TEST_BROKERS=127.0.0.1:$KAFKA_PORT
  trap 'deploy/kafka/local.sh stop >/dev/null 2>&1 || true' EXIT
  deploy/kafka/local.sh start
fi

ctest --test-dir "$build_dir" --output-on-failure --timeout 900 "$@"

#!/usr/bin/env bash
# The project's test command: installs what is missing, builds, starts an isolated local Kafka
# broker for the integration suites, runs every ctest suite, and stops the broker again.
#   tests/run.sh                 every suite
#   tests/run.sh -L unit         only some labels (arguments go to ctest)
#   BUILD_DIR=build-asan DLR_CMAKE_ARGS=-DDLR_SANITIZE=ON tests/run.sh    the same under ASan+UBSan
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/setup.sh chromium prometheus  # and the browser the status page is tested in, and the Prometheus that scrapes the stage
build_dir=${BUILD_DIR:-build}
# shellcheck disable=SC2086  # DLR_CMAKE_ARGS is a list of options
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} ${DLR_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j "$(nproc)"

if [ -x deploy/kafka/local.sh ] && [ -d tests/integration ] && ls tests/integration/* >/dev/null 2>&1; then
  # An isolated broker on its own port and data folder: tests never touch a broker a user runs.
  export KAFKA_PORT=${TEST_KAFKA_PORT:-19092}
  export KAFKA_DATA=${TEST_KAFKA_DATA:-$PWD/$build_dir/kafka-test}
  export DLR_TEST_BROKERS=127.0.0.1:$KAFKA_PORT
  trap 'deploy/kafka/local.sh stop >/dev/null 2>&1 || true' EXIT
  deploy/kafka/local.sh start
fi

status=0
ctest --test-dir "$build_dir" --output-on-failure --timeout 1200 "$@" || status=$?
# The fault scenarios' verdict lines, passed or not.
grep -h "^faults: " "$build_dir/Testing/Temporary/LastTest.log" 2>/dev/null || true
exit "$status"

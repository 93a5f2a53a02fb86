#!/usr/bin/env bash
# Installs every build, test and run dependency from Debian's packages, plus any packages named as
# arguments (the fuzzing and lint tools ask for theirs this way).
#   deploy/setup.sh                 build, test and run dependencies
#   deploy/setup.sh clang-tidy      the same and clang-tidy
# Idempotent: packages already present are left as they are. The package lists are refreshed before
# any install, since a fresh machine may have none.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libsimdjson-dev libyaml-cpp-dev librdkafka-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev librocksdb-dev libmicrohttpd-dev libpugixml-dev
  libhowardhinnant-date-dev tzdata
  python3 python3-jsonschema python3-yaml python3-confluent-kafka python3-matplotlib python3-venv
  openjdk-17-jre-headless maven kcat curl procps iproute2 openssl
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all dependencies present"

#!/bin/sh
# Container entrypoint.
#   run [ARGS]     check the config (every problem listed, exit 1), then run the stage (default)
#   track [ARGS]   the same for the tracking stage
#   anything else  passed to dlr-enricher (check-config FILE, catalog check, enrich, ...)
# Environment: DLR_CONFIG (config file), DLR_BROKERS (overrides the config's brokers),
# DLR_BIN (the program; default dlr-enricher on PATH).
set -eu
bin=${DLR_BIN:-dlr-enricher}
config=${DLR_CONFIG:-/etc/dlr-enricher/config.yaml}

command=${1:-run}
if [ "$command" = run ] || [ "$command" = track ]; then
  [ $# -gt 0 ] && shift
  # Every problem listed, nothing printed when the config is good (the logs stay JSON lines).
  if ! problems=$("$bin" check-config "$config" 2>&1 >/dev/null); then
    printf '%s\n' "$problems" >&2
    exit 1
  fi
  if [ -n "${DLR_BROKERS:-}" ]; then set -- --brokers "$DLR_BROKERS" "$@"; fi
  # exec: the stage becomes PID 1 and gets the runtime's SIGTERM (and SIGHUP: reload) itself.
  exec "$bin" "$command" --config "$config" "$@"
fi
exec "$bin" "$@"

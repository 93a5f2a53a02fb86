#!/usr/bin/env bash
# Checks the deploy files (see check.py). The validators come from PyPI, pinned, into a virtual
# environment under the build folder: Debian packages none of them.
#   tests/deploy/run.sh BINARY BUILD_DIR [PYTHON]    PYTHON: Debian's python3 (default /usr/bin/python3),
#                                                     whose python3-yaml the checks use
set -euo pipefail
binary=$1
tools=$2/deploy-tools
python=${3:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$tools/bin/kubernetes-validate" ] || ! cmp -s "$here/requirements.txt" "$tools/requirements.txt"; then
  rm -rf "$tools"
  "$python" -m venv --system-site-packages "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$tools/requirements.txt"
fi
exec "$tools/bin/python" "$here/check.py" "$binary" "$tools/bin"

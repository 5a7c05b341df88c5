#!/usr/bin/env bash
# Run pytest; exit code 5 ("no tests collected") means the suite is broken, so it is reported as a failure.
set -u
"$(dirname "$0")/../.venv/bin/python" -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating this as a failure" >&2
  exit 1
fi
exit "$rc"

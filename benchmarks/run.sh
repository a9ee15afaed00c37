#!/usr/bin/env bash
# The equivalent-decision benchmark in one command, from the repository root:
#   bash benchmarks/run.sh                 # install the peers, check 1,000 cases, time
#   bash benchmarks/run.sh --check-only -n 200
# Arguments go to benchmarks/run_equivalent.py (see --help).
set -u
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python}"
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
if ! "$py" -m pip install -q -r "$here/requirements.txt"; then
  echo "pip could not install every peer at once; installing them one by one" >&2
  grep -v '^\s*#' "$here/requirements.txt" | sed 's/#.*//' | while read -r req; do
    [ -n "$req" ] || continue
    "$py" -m pip install -q "$req" || echo "could not install $req: that engine will be skipped" >&2
  done
fi
exec "$py" "$here/run_equivalent.py" "$@"

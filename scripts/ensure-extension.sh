#!/usr/bin/env bash
# Builds the JupyterLab extension jupyterlab-sparkgate/ (Python package jupyterlab_sparkgate: a Jupyter
# Server extension plus a prebuilt lab extension) and installs it into .venv-jupyter.
# Run after `scripts/ensure-python.sh jupyter` (which drops packages requirements/jupyter.txt does not
# name, this one included). A no-op when the extension's sources did not change since the last
# install and the package is still there (a hash stamp in the venv).
# The build is the extension template's: `pip wheel` -> hatchling -> hatch-jupyter-builder ->
# `jlpm install` (yarn.lock, immutable: the pinned npm packages) and `jlpm build:prod` (tsc and
# @jupyter/builder). Needs Node.js >= 20.19 and the npm and PyPI registries the first time.
# Usage: scripts/ensure-extension.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."

venv=".venv-jupyter"
ext="jupyterlab-sparkgate"
stamp="$venv/.sparkgate-extension"
if [ ! -x "$venv/bin/python" ]; then
  echo "sparkgate: $venv is missing; run scripts/ensure-python.sh jupyter first" >&2
  exit 1
fi

# @jupyter/builder bundles with Rspack, which needs Node.js ^20.19 or >= 22.12.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit((a === 20 && b >= 19) || a > 22 || (a === 22 && b >= 12) ? 0 : 1)' 2>/dev/null; then
  echo "sparkgate: building the JupyterLab extension needs Node.js ^20.19 or >= 22.12 (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# Everything the build reads, not what it writes (the same list as $ext/.gitignore).
sources_hash() {
  find "$ext" \( -name node_modules -o -name lib -o -name labextension -o -name dist -o -name .yarn \
      -o -name __pycache__ -o -name '*.egg-info' \) -prune -o -type f \
      ! -name '_version.py' ! -name '*.tsbuildinfo' -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
want="$(sources_hash) $(node --version 2>/dev/null || echo no-node)"
have=""
[ -f "$stamp" ] && have="$(cat "$stamp")"
if [ "${1:-}" != "--force" ] && [ "$have" = "$want" ] \
  && "$venv/bin/python" -c 'import jupyterlab_sparkgate' 2>/dev/null; then
  exit 0
fi

echo "sparkgate: building the JupyterLab extension $ext (npm packages from its yarn.lock; minutes the first time)" >&2
# The template's build skips the bundle when one exists (skip-if-exists): start clean so the wheel
# holds this source tree's bundle, never an older one.
rm -rf "$ext/jupyterlab_sparkgate/labextension" "$ext/lib" "$ext/tsconfig.tsbuildinfo" "$ext/dist"
# Build tools and the JupyterLab of the isolated build environment: pinned. yarn.lock must not move.
PIP_CONSTRAINT="$PWD/$ext/build-constraints.txt $PWD/requirements/jupyter.txt" \
YARN_ENABLE_IMMUTABLE_INSTALLS=true \
  "$venv/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-input --no-deps \
    --wheel-dir "$ext/dist" "./$ext"
# --no-deps: jupyter_server, its one dependency, is pinned in requirements/jupyter.txt.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-deps \
  --force-reinstall "$ext"/dist/jupyterlab_sparkgate-*.whl

# Both halves must be there: the server extension enabled, the prebuilt lab extension found.
# (The listings are read whole: `grep -q` on a pipe would stop the listing early, a SIGPIPE that
# pipefail turns into a failure.)
plain() { sed 's/\x1b\[[0-9;]*m//g'; }
servers="$("$venv/bin/jupyter" server extension list 2>&1 | plain)"
labs="$("$venv/bin/jupyter" labextension list 2>&1 | plain)"
grep -Eq 'jupyterlab_sparkgate +enabled' <<<"$servers" \
  || { echo "sparkgate: jupyterlab_sparkgate is not an enabled server extension in $venv" >&2; exit 1; }
grep -Eq 'jupyterlab-sparkgate v[^ ]+ +enabled +OK' <<<"$labs" \
  || { echo "sparkgate: the lab extension jupyterlab-sparkgate is not installed in $venv" >&2; exit 1; }
echo "$want" > "$stamp"

#!/usr/bin/env bash
# The project's Python environments, each a venv with the pinned packages of requirements/.
# Re-running is a no-op when the pins did not change: a venv keeps the hash of the files it was
# built from, and drops what an older pin list installed and this one does not name.
#   runtime  .venv          the kernels: ipykernel, pyspark, jupyter-console (runtime.txt)
#   test     .venv          the same plus test-only packages (test.txt)
#   jupyter  .venv-jupyter  the clients the tests drive: Jupyter Server 2, JupyterLab 4 (jupyter.txt)
#   eg       .venv-eg       Jupyter Enterprise Gateway for the benchmark (enterprise-gateway.txt;
#                           its own venv: it pins older Jupyter packages)
#   hub      .venv-hub      JupyterHub, whose tokens the multi-user tests check (jupyterhub.txt)
# Needs python3 with the venv module (Debian: python3-venv, installed by ensure-deps.sh).
# Usage: scripts/ensure-python.sh [runtime|test|jupyter|eg|hub]
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-runtime}"
case "$mode" in
  runtime) venv=".venv"; req="requirements/runtime.txt"; probe="ipykernel, pyspark" ;;
  test) venv=".venv"; req="requirements/test.txt"; probe="ipykernel, pyspark" ;;
  jupyter) venv=".venv-jupyter"; req="requirements/jupyter.txt"; probe="jupyter_server, jupyterlab" ;;
  eg) venv=".venv-eg"; req="requirements/enterprise-gateway.txt"; probe="enterprise_gateway" ;;
  hub) venv=".venv-hub"; req="requirements/jupyterhub.txt"; probe="jupyterhub" ;;
  *) echo "usage: scripts/ensure-python.sh [runtime|test|jupyter|eg|hub]" >&2; exit 2 ;;
esac
stamp="$venv/.sparkgate-requirements"
if [ "$venv" = ".venv" ]; then
  want="$mode $(cat requirements/runtime.txt requirements/test.txt | sha256sum | cut -d' ' -f1)"
else
  want="$mode $(cat "$req" | sha256sum | cut -d' ' -f1)"
fi

have=""
[ -f "$stamp" ] && have="$(cat "$stamp")"
# A test venv also serves runtime; a runtime venv is upgraded when the tests need it.
if [ "$have" = "$want" ] || { [ "$mode" = "runtime" ] && [ "$have" = "test ${want#runtime }" ]; }; then
  if "$venv/bin/python" -c "import $probe" 2>/dev/null; then
    [ "$venv" = ".venv" ] || [ -f "$venv/package.json" ] || echo '{"type": "commonjs"}' > "$venv/package.json"
    exit 0
  fi
fi

python="${SPARKGATE_VENV_PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
  echo "sparkgate: creating the Python environment $venv ($("$python" --version 2>&1))" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi
echo "sparkgate: installing pinned Python packages into $venv ($req; pyspark is large: minutes the first time)" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
# Drop what an older pin list installed and this one does not name (exact environment).
"$venv/bin/python" - "$req" <<'PY'
import re, subprocess, sys
from importlib import metadata
def names(path, seen=None):
    out = set()
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            import os
            out |= names(os.path.join(os.path.dirname(path), line[3:].strip()))
        elif line:
            out.add(re.split(r"[=<>!~\[ ]", line, 1)[0].lower().replace("_", "-"))
    return out
wanted = names(sys.argv[1]) | {"pip", "setuptools", "wheel"}
extra = sorted(
    d.metadata["Name"] for d in metadata.distributions()
    if d.metadata["Name"] and d.metadata["Name"].lower().replace("_", "-") not in wanted
)
if extra:
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "-q", *extra], check=True)
PY
if [ "$venv" != ".venv" ]; then
  # JupyterLab runs Node scripts from its site-packages (jupyter_builder's yarn.js); inside this
  # checkout Node would take them for ES modules ("type": "module" of our package.json) and fail.
  echo '{"type": "commonjs"}' > "$venv/package.json"
fi
echo "$want" > "$stamp"

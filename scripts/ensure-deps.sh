#!/usr/bin/env bash
# Installs what sparkgate needs on a Debian machine, and nothing that is already there:
# Debian packages (python3-venv; a JRE when there is no `java`; for the tests Jupyter Server,
# Chromium and Scala 2.11), the kernels' pinned Python environment in .venv (ipykernel, pyspark,
# jupyter-console: scripts/ensure-python.sh) and the npm packages from package-lock.json.
# Usage: scripts/ensure-deps.sh [runtime|test]
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-runtime}"
apt_packages=()
# The venv module (Debian splits it out of python3).
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_packages+=(python3-venv)
# Spark's driver JVM (pyspark, spark-shell, spark-sql) needs Java 17 or 21.
command -v java >/dev/null || apt_packages+=(openjdk-17-jre-headless)
if [ "$mode" = "test" ]; then
  # jupyter-server: the gateway-mode test (Jupyter Server in front of sparkgate); procps: pgrep
  # for the leak check; chromium: the web shell test; scala (2.11): the plain `scala` kernelspec.
  apt_packages+=(python3-jupyter-server procps chromium scala)
fi

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "sparkgate: installing Debian packages: ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "sparkgate: please install as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

bash scripts/ensure-python.sh "$mode"
# The tests also drive today's Jupyter (Jupyter Server 2, JupyterLab 4) from their own venv.
# and the JupyterLab extension built from jupyterlab-sparkgate/ into that venv (no-op when unchanged).
if [ "$mode" = "test" ]; then
  bash scripts/ensure-python.sh jupyter
  # JupyterHub, whose tokens the multi-user tests check.
  bash scripts/ensure-python.sh hub
  bash scripts/ensure-extension.sh
fi

# npm ci when node_modules is missing or older than the lock file (it also builds dist/).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "sparkgate: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
elif [ ! -f dist/cli.js ] || [ -n "$(find src -newer dist/cli.js -name '*.ts' -print -quit)" ]; then
  npm run --silent build
fi

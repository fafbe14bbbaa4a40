#!/usr/bin/env bash
# Installs what sparkgate needs on a Debian machine, and nothing that is already there:
# Debian packages (ipykernel for the system Python, Jupyter Server for the gateway-mode test,
# jupyter-console for attached terminals) and the npm packages from package-lock.json.
# Usage: scripts/ensure-deps.sh [runtime|test]
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-runtime}"
apt_packages=(python3-ipykernel python3-jupyter-client jupyter-console)
if [ "$mode" = "test" ]; then
  # jupyter-server: the gateway-mode test; jupyter-console: attached terminals; chromium: the
  # web shell test; matplotlib + nbformat: the example notebooks and a second output validator;
  # scala (2.11, with a JRE): the engine of the Scala kernel tests (kernel/specs/scala).
  apt_packages+=(python3-jupyter-server jupyter-console procps python3-matplotlib python3-nbformat chromium scala)
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

# npm ci when node_modules is missing or older than the lock file (it also builds dist/).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "sparkgate: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
elif [ ! -f dist/cli.js ] || [ -n "$(find src -newer dist/cli.js -name '*.ts' -print -quit)" ]; then
  npm run --silent build
fi

#!/usr/bin/env bash
# Install the Debian packages given as "command:package" pairs whose command is missing.
# A command that starts with / is a path, and may be a glob (any match will do).
# Runs `apt-get update` at most once, and only when something has to be installed.
set -euo pipefail

missing=()
for pair in "$@"; do
  cmd=${pair%%:*}
  pkg=${pair#*:}
  if [[ $cmd == /* ]]; then
    compgen -G "$cmd" >/dev/null || missing+=("$pkg")
  elif [[ $cmd == py:* ]]; then
    :
  else
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "sysdeps: missing ${missing[*]} and apt-get is not available; install them by hand" >&2
  exit 1
fi
echo "sysdeps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"

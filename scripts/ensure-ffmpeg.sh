#!/usr/bin/env bash
# Makes sure ffprobe and ffmpeg are installed: installs Debian's package when
# apt can be used here, otherwise prints the command to run and fails.
set -euo pipefail

if command -v ffprobe >/dev/null && command -v ffmpeg >/dev/null; then
  exit 0
fi

install_command="apt-get install -y --no-install-recommends ffmpeg"
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "ffprobe not found; installing Debian's ffmpeg package"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $install_command
  exit 0
fi

echo "ffprobe and ffmpeg are needed but not installed. Install them with:" >&2
echo "  sudo $install_command" >&2
echo "(or your distribution's ffmpeg package), then run this again." >&2
exit 1

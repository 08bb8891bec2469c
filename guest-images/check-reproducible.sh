#!/bin/sh
# Rebuilds every guest image from source in a fresh temporary copy of this directory (so neither a stale build/
# nor the checkout's path can influence the result) and compares the bytes with the committed .elf files.
# Exit status 0 when every image is reproduced exactly. Needs gcc 12 and GNU make.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -R "$here"/. "$tmp"/
rm -rf "$tmp/build"
make -s -C "$tmp" check

#!/bin/sh
# Rebuilds the firmware from source in a fresh temporary copy (firmware/ and the guest-images/lib it shares) and
# compares the bytes with the committed firmware.elf. Exit status 0 when it is reproduced exactly.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/firmware" "$tmp/guest-images"
cp -R "$here"/. "$tmp/firmware/"
cp -R "$here/../guest-images/lib" "$tmp/guest-images/lib"
rm -rf "$tmp/firmware/build"
make -s -C "$tmp/firmware" check

#!/usr/bin/env bash
# Assembles the compression benchmark's corpus (about 110 MiB, not committed) from the files of named
# Debian packages that any machine building parex has, as g++ needs them:
#   machine code  g++-12 (cc1plus), cpp-12 (cc1)
#   source        libstdc++-12-dev and linux-libc-dev (headers; static libraries too)
#   object code   libgcc-12-dev
#   documentation the copyright texts of those packages and /usr/share/common-licenses
# as one tar, files in sorted order, so the same machine gives the same corpus.
# Usage: cmake/make-compress-corpus.sh OUT.tar
set -euo pipefail
out=${1:?usage: $0 OUT.tar}
packages=(g++-12 cpp-12 libstdc++-12-dev linux-libc-dev libgcc-12-dev)
list=$(mktemp)
trap 'rm -f "$list"' EXIT
for p in "${packages[@]}"; do
  dpkg -L "$p" | while read -r f; do if [[ -f $f && ! -L $f ]]; then echo "$f"; fi; done
done >"$list"
find /usr/share/common-licenses -type f >>"$list"
sort -u -o "$list" "$list"
tar --create --file="$out.tmp" --files-from="$list" --absolute-names --owner=0 --group=0 --mtime=@0 2>/dev/null
mv "$out.tmp" "$out"
echo "$out: $(($(stat -c %s "$out") / 1048576)) MiB from ${packages[*]} and common-licenses" >&2

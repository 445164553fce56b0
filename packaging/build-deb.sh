#!/bin/sh
# packaging/build-deb.sh OUTDIR: build xsysroot_VERSION_ARCH.deb from this
# source tree and put it (with its .buildinfo and .changes) in OUTDIR.
#
# dpkg-buildpackage wants debian/ at the top of the tree, which the tree
# keeps in packaging/debian/: this copies the tree's files (those git tracks
# plus new ones it does not ignore; every file outside a git checkout) into
# a temporary directory, adds debian/, and builds there, unsigned and
# binary-only.  Extra arguments go to dpkg-buildpackage; DEB_BUILD_OPTIONS
# is honoured (nocheck skips the unit suite).  Needs dpkg-dev, debhelper and
# the Build-Depends of packaging/debian/control.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [DPKG-BUILDPACKAGE OPTIONS]" >&2; exit 2; }
out=$1
shift
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -n 1)
changelog=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Version)
if [ "$version" != "$changelog" ]; then
	echo "$0: meson.build says version $version, packaging/debian/changelog $changelog" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xsysroot-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
tree=$tmp/xsysroot-$version
mkdir "$tree"
if git -C "$src" rev-parse --show-toplevel >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -xf - -C "$tree"
else
	(cd "$src" && tar --exclude='./build*' --exclude=./debian -cf - .) | tar -xf - -C "$tree"
fi
rm -rf "$tree/debian"
cp -r "$src/packaging/debian" "$tree/debian"

(cd "$tree" && dpkg-buildpackage -us -uc -b "$@")
for f in "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes; do
	[ -e "$f" ] && mv "$f" "$out/"
done
ls "$out"/xsysroot_"$version"_*.deb

#!/bin/bash
# bench/hybrid.sh [path/to/xsysroot]: zlib's `./configure && make -j2 &&
# make test` (the Debian source package of the host's suite) natively with
# the host's gcc, in `xsysroot run arm64 --strict --native-tools` (hybrid)
# and in `xsysroot run arm64 --strict` (fully emulated), in the same view.
# Prints the three times and the ratios; checks that zlib's tests passed in
# the hybrid root and that its libz.so is an aarch64 ELF that runs under
# qemu.  Root, network to the host's Debian mirror (read from /etc/apt).
# BENCH_ARCH (default arm64), BENCH_XS_OPTS (more xsysroot options), BENCH_CACHE (default a cache kept in
# /var/tmp/xsysroot-bench-hybrid), BENCH_TMPDIR: the scratch dir's parent.
set -euo pipefail
XS=${1:-}
if [ -z "$XS" ]; then
	here=$(cd "$(dirname "$0")/.." && pwd)
	XS=$here/build/xsysroot
	[ -x "$XS" ] || XS=$(command -v xsysroot)
fi
XS=$(readlink -f "$XS")
ARCH=${BENCH_ARCH:-arm64}
CACHE=${BENCH_CACHE:-/var/tmp/xsysroot-bench-hybrid}
for t in apt-get dpkg-source gcc make file; do
	command -v "$t" >/dev/null || { echo "bench/hybrid.sh: needs $t" >&2; exit 2; }
done
W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/xs-hybrid-XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
mkdir -p "$CACHE" "$W/apt/lists/partial" "$W/apt/cache/archives/partial" "$W/parts"

# zlib's source package through a private apt state with the host's
# sources turned into deb-src (verified by apt: InRelease, Sources, .dsc)
for f in /etc/apt/sources.list.d/*.sources; do
	[ -e "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" >"$W/parts/$(basename "$f")"
done
if [ -s /etc/apt/sources.list ]; then
	sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$W/parts/host.list"
fi
APT=(-o Dir::State::Lists="$W/apt/lists" -o Dir::Cache="$W/apt/cache"
     -o Dir::State::status=/dev/null -o Dir::Etc::SourceList=/dev/null
     -o Dir::Etc::SourceParts="$W/parts" -o APT::Sandbox::User=root)
# BENCH_SRC: another source package (its build BENCH_BUILD, default
# ./configure && make -j2 && make check; BENCH_PKGS: more packages of the view)
SRC=${BENCH_SRC:-zlib}
echo "$SRC source: apt-get update (deb-src) ..." >&2
apt-get "${APT[@]}" -qq update >&2
# the release's source when a newer one (-security) is not on the mirror
CODENAME=$(. /etc/os-release && echo "$VERSION_CODENAME")
(cd "$W" && { apt-get "${APT[@]}" -qq source --download-only "$SRC" >&2 2>/dev/null ||
	{ rm -f "${SRC}"_*; apt-get "${APT[@]}" -qq source --download-only "$SRC/$CODENAME" >&2; }; } &&
	dpkg-source -x --skip-patches "${SRC}"_*.dsc src >/dev/null 2>&1)
VER=$(cd "$W" && ls "${SRC}"_*.dsc | sed "s/^${SRC}_\(.*\)\.dsc\$/\1/")

PKGS=gcc,libc6-dev,make,dash,coreutils,sed,grep,diffutils,binutils,findutils,gawk
BUILD='./configure >/dev/null && make -j2 >/dev/null && make test'
if [ "$SRC" != zlib ]; then
	PKGS=$PKGS${BENCH_PKGS:+,$BENCH_PKGS}
	BUILD=${BENCH_BUILD:-'./configure >/dev/null && make -j2 >/dev/null && make -j2 check'}
fi
# BENCH_XS_OPTS: more repository options for xsysroot (e.g. --mirror URL
# --suite NAME when one of the host's sources is mid-sync)
read -r -a XOPTS <<<"${BENCH_XS_OPTS:-}"
RUN=("$XS" run "$ARCH" --strict --cache-dir "$CACHE" --packages "$PKGS" "${XOPTS[@]}")

echo "warm-up: the view and the native tools layer ..." >&2
(cd "$W" && "${RUN[@]}" --native-tools -- /bin/sh -c 'gcc --version >/dev/null')

now() { date +%s.%N; }
one() { # NAME CMD...: a fresh copy of the source, the build timed
	local name=$1; shift
	rm -rf "$W/$name" && cp -a "$W/src" "$W/$name"
	local t0 t1
	t0=$(now)
	(cd "$W/$name" && "$@") >"$W/$name.log" 2>&1 || {
		echo "$name: failed, see the log:" >&2; tail -20 "$W/$name.log" >&2; exit 1; }
	t1=$(now)
	echo "$t1 - $t0" | bc
}
echo "native ..." >&2
T_NAT=$(one native /bin/sh -c "$BUILD")
echo "native: $T_NAT s" >&2
echo "hybrid ..." >&2
T_HYB=$(one hybrid "${RUN[@]}" --native-tools -- /bin/sh -c "$BUILD")
echo "hybrid: $T_HYB s" >&2
echo "emulated ..." >&2
T_EMU=$(one emulated "${RUN[@]}" -- /bin/sh -c "$BUILD")
echo "emulated: $T_EMU s" >&2

printf '\n%s %s, %s, load %s\n' "$SRC" "$VER" "$ARCH" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %8.1f s\n' native "$T_NAT" hybrid "$T_HYB" emulated "$T_EMU"
printf 'hybrid/native   %5.2f  (goal <= 3)\n' "$(echo "$T_HYB / $T_NAT" | bc -l)"
printf 'emulated/hybrid %5.2f  (goal >= 5)\n' "$(echo "$T_EMU / $T_HYB" | bc -l)"
[ "$SRC" = zlib ] || exit 0
grep -q '\*\*\* zlib test OK \*\*\*' "$W/hybrid.log" && OKT=passed || OKT=FAILED
LIB=$(ls "$W"/hybrid/libz.so.*.* | head -1)
ELF=$(file -b "$LIB" | cut -d, -f1-2)
RUNS=$(cd "$W/hybrid" && "${RUN[@]}" -- /bin/sh -c 'LD_LIBRARY_PATH=. ./examplesh' 2>&1 |
       tail -1)
printf 'zlib tests in the hybrid root: %s\n' "$OKT"
printf 'libz: %s (%s)\n' "$(basename "$LIB")" "$ELF"
printf 'examplesh under qemu: %s\n' "$RUNS"

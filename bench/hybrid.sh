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
# BENCH_DEB=1: the Debian way instead, `dpkg-buildpackage -b -uc -us` (in
# --writable overlays; natively -Pnobiarch -d), checking that the .debs are
# ARCH's and the package's tests passed.  BENCH_ROUNDS (default 1): the three
# builds in turn that many times, the load average printed by each figure.
# BENCH_TRACE=1: then one more hybrid build under strace, with
# bench/execstat.py's account of it (the native tools told apart).
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
NBUILD=$BUILD
DEB=${BENCH_DEB:-}
if [ -n "$DEB" ]; then
	PKGS=$PKGS,build-essential,debhelper,dpkg-dev,gzip,tar,bash,debianutils,apt,base-passwd
	PKGS=$PKGS,xz-utils,m4${BENCH_PKGS:+,$BENCH_PKGS}
	BUILD='dpkg-buildpackage -b -uc -us'
	# the host has no gcc-multilib: zlib's lib32/libx32 builds left out
	NBUILD='DEB_BUILD_PROFILES=nobiarch dpkg-buildpackage -b -uc -us -d'
fi
# BENCH_XS_OPTS: more repository options for xsysroot (e.g. --mirror URL
# --suite NAME when one of the host's sources is mid-sync)
read -r -a XOPTS <<<"${BENCH_XS_OPTS:-}"
RUN=("$XS" run "$ARCH" --strict --cache-dir "$CACHE" --packages "$PKGS" "${XOPTS[@]}")

echo "warm-up: the view's packages, the native tools layer ..." >&2
"$XS" fetch --cache-dir "$CACHE" --packages "$PKGS" "${XOPTS[@]}" "$ARCH" >&2
(cd "$W" && "${RUN[@]}" --native-tools -- /bin/sh -c 'gcc --version >/dev/null')
(cd "$W" && "${RUN[@]}" -- /bin/sh -c 'gcc --version >/dev/null')

now() { date +%s.%N; }
load() { cut -d' ' -f1 /proc/loadavg; }
# NAME CMD...: a fresh copy of the source (in DIR/src, the .debs beside it),
# the build timed; with BENCH_DEB the xsysroot runs get --writable DIR/w
one() {
	local name=$1; shift
	rm -rf "${W:?}/$name" && mkdir -p "$W/$name" && cp -a "$W/src" "$W/$name/src"
	local t0 t1 l0
	l0=$(load)
	t0=$(now)
	(cd "$W/$name/src" && "$@") >"$W/$name.log" 2>&1 || {
		echo "$name: failed, see the log:" >&2; tail -20 "$W/$name.log" >&2; exit 1; }
	t1=$(now)
	printf '%.1f %s-%s\n' "$(echo "$t1 - $t0" | bc)" "$l0" "$(load)"
}
ROUNDS=${BENCH_ROUNDS:-1}
declare -a T_NAT T_HYB T_EMU
for r in $(seq "$ROUNDS"); do
	echo "round $r: native ..." >&2
	T_NAT+=("$(one native /bin/sh -c "$NBUILD")")
	echo "round $r: native ${T_NAT[-1]}; hybrid ..." >&2
	T_HYB+=("$(one hybrid "${RUN[@]}" ${DEB:+--writable "$W/hybrid/w"} --native-tools -- \
		/bin/sh -c "$BUILD")")
	echo "round $r: hybrid ${T_HYB[-1]}; emulated ..." >&2
	T_EMU+=("$(one emulated "${RUN[@]}" ${DEB:+--writable "$W/emulated/w"} -- \
		/bin/sh -c "$BUILD")")
	echo "round $r: emulated ${T_EMU[-1]}" >&2
done

printf '\n%s %s, %s%s, %d round(s); seconds and load average (1 min, before-after)\n' \
	"$SRC" "$VER" "$ARCH" "${DEB:+, dpkg-buildpackage -b -uc -us}" "$ROUNDS"
for r in $(seq 0 $((ROUNDS - 1))); do
	read -r n nl <<<"${T_NAT[$r]}"; read -r h hl <<<"${T_HYB[$r]}"; read -r e el <<<"${T_EMU[$r]}"
	printf 'native %6.1f s (load %s)  hybrid %6.1f s (load %s)  emulated %6.1f s (load %s)' \
		"$n" "$nl" "$h" "$hl" "$e" "$el"
	printf '  hybrid/native %.2f (goal <= 3)  emulated/hybrid %.2f (goal >= 5)\n' \
		"$(echo "$h / $n" | bc -l)" "$(echo "$e / $h" | bc -l)"
done
if [ -n "$DEB" ]; then
	for name in hybrid emulated; do
		debs=$(find "$W/$name/w/upper" -name '*.deb' | sort)
		[ -n "$debs" ] || { echo "$name: no .deb built" >&2; exit 1; }
		for d in $debs; do
			printf '%s: %s Architecture: %s; Depends: %s\n' "$name" "$(basename "$d")" \
				"$(dpkg-deb -f "$d" Architecture)" "$(dpkg-deb -f "$d" Depends)"
		done
		grep -q '\*\*\* zlib test OK \*\*\*' "$W/$name.log" && OKT=passed || OKT=FAILED
		[ "$SRC" != zlib ] || printf '%s: zlib tests in the root %s\n' "$name" "$OKT"
	done
fi
if [ -n "${BENCH_TRACE:-}" ]; then
	command -v strace >/dev/null || { echo "bench/hybrid.sh: BENCH_TRACE needs strace" >&2; exit 2; }
	echo "hybrid, under strace ..." >&2
	T_TR=$(one traced strace -f --seccomp-bpf -ttt --decode-pids=pidns \
		-e trace=execve,clone,clone3,fork,vfork -e signal=none -o "$W/traced.st" \
		"${RUN[@]}" ${DEB:+--writable "$W/traced/w"} --native-tools -- \
		/bin/sh -c "$BUILD")
	LAYER=$(ls -td "$CACHE"/hybrid/*/ | head -1)
	printf '\nhybrid under strace: %s s (load before-after)\n' "$T_TR"
	python3 "$(dirname "$0")/execstat.py" --native "$LAYER" "$W/traced.st"
fi
[ "$SRC" = zlib ] && [ -z "$DEB" ] || exit 0
grep -q '\*\*\* zlib test OK \*\*\*' "$W/hybrid.log" && OKT=passed || OKT=FAILED
LIB=$(ls "$W"/hybrid/src/libz.so.*.* | head -1)
ELF=$(file -b "$LIB" | cut -d, -f1-2)
RUNS=$(cd "$W/hybrid/src" && "${RUN[@]}" -- /bin/sh -c 'LD_LIBRARY_PATH=. ./examplesh' 2>&1 |
       tail -1)
printf 'zlib tests in the hybrid root: %s\n' "$OKT"
printf 'libz: %s (%s)\n' "$(basename "$LIB")" "$ELF"
printf 'examplesh under qemu: %s\n' "$RUNS"

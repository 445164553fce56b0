#!/bin/bash
# bench/run.sh - xsysroot vs. a plain mmdebstrap-extracted sysroot, side by side.
#
#   bash bench/run.sh [path/to/xsysroot]
#
# Env: BENCH_RUNS (warm runs, default 20), BENCH_MOUNT_CYCLES (default 5),
#      BENCH_ONLY=cold (only the empty-cache hello comparison, 5),
#      BENCH_COLD_ROUNDS (rounds of the empty-cache hello comparison, default 3),
#      BENCH_TIMER=hyperfine (time the warm runs with hyperfine instead of the
#      built-in interleaved timer), BENCH_TMPDIR (parent of the temp dir).
# Needs root (mmdebstrap extracts as root), /dev/fuse and the network to the
# host's Debian mirror.  Installs nothing; says what is missing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
LIB="$HERE/benchlib.py"
PY=/usr/bin/python3
RUNS=${BENCH_RUNS:-20}
CYCLES=${BENCH_MOUNT_CYCLES:-5}
COLD_ROUNDS=${BENCH_COLD_ROUNDS:-3}
ARCH=arm64
WORKLOAD=(-c 'import json,ssl,sqlite3')
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP

say() { printf '[bench] %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# --- what is needed -----------------------------------------------------------
XS=${1:-}
if [ -z "$XS" ]; then
	if [ -x "$REPO/build/xsysroot" ]; then XS="$REPO/build/xsysroot"
	elif command -v xsysroot >/dev/null; then XS=$(command -v xsysroot)
	else die "no xsysroot binary: build it (meson setup build && ninja -C build) or pass its path"; fi
fi
[ -x "$XS" ] || die "$XS is not an executable"
XS=$(realpath "$XS")

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 (apt-get install $2)"); }
[ -x "$PY" ] || missing+=("/usr/bin/python3 (apt-get install python3)")
need mmdebstrap mmdebstrap
need qemu-aarch64 qemu-user
need fusermount3 fuse3
need apt-get apt
need dpkg-deb dpkg
[ "${BENCH_TIMER:-}" = hyperfine ] && need hyperfine hyperfine
if ((${#missing[@]})); then
	printf 'bench: missing: %s\n' "${missing[@]}" >&2
	exit 1
fi
command -v hyperfine >/dev/null 2>&1 ||
	say "hyperfine not found (optional; the built-in interleaved timer is used)"
[ -c /dev/fuse ] || die "/dev/fuse is missing"
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap --variant=extract into a plain dir)"

# --- temp dir and cleanup -------------------------------------------------------
TMP=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/xsbench.XXXXXX")
CACHE="$TMP/cache"
MNT="$TMP/mnt"
PLAIN="$TMP/plain"
APTD="$TMP/apt"
mkdir -p "$CACHE" "$MNT"
PROXY_PID=

cleanup() {
	set +e
	trap - INT TERM
	if mountpoint -q "$MNT" 2>/dev/null || grep -qs " $MNT " /proc/self/mountinfo; then
		"$XS" umount "$MNT" >/dev/null 2>&1 || fusermount3 -u -z "$MNT" 2>/dev/null
	fi
	# anything else still mounted below TMP (deepest first)
	local m
	awk '{print $5}' /proc/self/mountinfo | grep "^$TMP/" | sort -r | while read -r m; do
		fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
	rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT
trap 'exit 143' TERM

now() { echo "$EPOCHREALTIME"; }
# the byte-counting proxy: $TMP/$1.stats, PROXY_PID and PORT set
start_proxy() {
	"$PY" "$LIB" proxy "$TMP/$1.stats" "$TMP/$1.port" 2>"$TMP/proxy.err" &
	PROXY_PID=$!
	for ((i = 0; i < 100; i++)); do [ -s "$TMP/$1.port" ] && break; sleep 0.1; done
	[ -s "$TMP/$1.port" ] || die "proxy did not start: $(cat "$TMP/proxy.err")"
	PORT=$(cat "$TMP/$1.port")
}
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a-b}'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a+b}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a"}'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN{ if (r+0 <= g+0) print "OK"; else print "MISSED"}'; }
mb() { awk -v b="$1" 'BEGIN{printf "%.2f MB", b/1e6}'; }
logsize() { stat -c %s "$CACHE/daemon.log" 2>/dev/null || echo 0; }
# Each timed step starts after a sync: the data another step left dirty
# (mmdebstrap writes about 100 MB and syncs none of it) is not written back
# during the next one (xsysroot's syncfs would write it, and the kernel's
# flusher competes with any of them for the 2 cores).
# Deleting a tree is kept out of the measured runs: on this machine's ext4 (no
# journal) an inode allocated soon after many were freed costs a scan of the
# recently deleted ones (0.5-0.7 s of sys time for a python3 view's 1,526
# objects right after an rm -rf of the previous ones).  So the old tree is
# moved aside (one rename) and deleted with TMP at the end.
TRASH="$TMP/trash"
set_aside() { [ -e "$1" ] || return 0; mkdir -p "$TRASH" && mv "$1" "$(mktemp -d "$TRASH/XXXXXX")/"; }
cold_cache() { set_aside "$CACHE/objects"; rm -f "$CACHE"/meta/manifest-*; }

xs_mount() { "$XS" mount --packages python3 --cache-dir "$CACHE" "$ARCH" "$MNT" "$@" 2>>"$TMP/mount.err"; }
xs_umount() { "$XS" umount "$MNT" >/dev/null 2>&1 || { fusermount3 -u -z "$MNT"; die "xsysroot umount $MNT failed"; }; }
run_py() { (cd "$TMP" && qemu-aarch64 -L "$1" "$1/usr/bin/python3" "${WORKLOAD[@]}"); }

SUITE=$("$PY" "$LIB" codename)
"$PY" "$LIB" sources >"$TMP/sources.list"
say "xsysroot: $XS; suite $SUITE; sources:"
sed 's/^/[bench]   /' "$TMP/sources.list" >&2

# --- external arm64 hello, fetched with a private apt config -----------------------
say "fetching an arm64 hello with apt-get (private apt state)"
mkdir -p "$APTD/lists/partial" "$APTD/cache/archives/partial" "$APTD/dl"
APTOPTS=(-o APT::Architecture=$ARCH -o APT::Architectures=$ARCH
	-o Dir::State::Lists="$APTD/lists" -o Dir::Cache="$APTD/cache"
	-o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
apt-get -qq "${APTOPTS[@]}" update >"$TMP/apt.log" 2>&1 || { cat "$TMP/apt.log" >&2; die "apt-get update failed"; }
(cd "$APTD/dl" && apt-get -qq "${APTOPTS[@]}" download hello) >>"$TMP/apt.log" 2>&1 ||
	{ cat "$TMP/apt.log" >&2; die "apt-get download hello failed"; }
dpkg-deb -x "$APTD"/dl/hello_*.deb "$APTD/hello"
HELLO="$APTD/hello/usr/bin/hello"
[ -x "$HELLO" ] || die "no $HELLO"
# what hello needs besides itself (libc6, libgcc-s1 and its gcc-N-base), for
# the bytes ratio of 5
GCCBASE=$(apt-cache "${APTOPTS[@]}" depends libgcc-s1 2>/dev/null | grep -om1 'gcc-[0-9]*-base' || true)
[ -n "$GCCBASE" ] || die "cannot tell libgcc-s1's gcc-N-base"
(cd "$APTD/dl" && apt-get -qq "${APTOPTS[@]}" download libc6 libgcc-s1 "$GCCBASE") >>"$TMP/apt.log" 2>&1 ||
	{ cat "$TMP/apt.log" >&2; die "apt-get download libc6 libgcc-s1 $GCCBASE failed"; }
HELLO_NEEDED=$("$PY" "$LIB" needed "$APTD/lists" "$ARCH" "$APTD"/dl/libc6_*.deb "$APTD"/dl/libgcc-s1_*.deb "$APTD/dl/${GCCBASE}"_*.deb)

# --- 5. empty cache: run hello three ways, interleaved ------------------------------------
# xsysroot run on an empty cache; a private apt state (update, download,
# dpkg-deb -x, qemu -L); mmdebstrap --variant=extract + qemu -L.  Each
# round runs the three in a rotating order, each from nothing.
cold_xs() { # $1: cache dir
	(cd "$TMP" && LC_ALL=C "$XS" run --cache-dir "$1" "$ARCH" -- "$HELLO") >"$TMP/cold.out" 2>>"$TMP/cold.err" &&
		grep -qx 'Hello, world!' "$TMP/cold.out"
}
cold_apt() { # $1: scratch dir
	local d=$1 o
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/dl" "$d/root"
	o=(-o APT::Architecture=$ARCH -o APT::Architectures=$ARCH -o Dir::State::Lists="$d/lists"
		-o Dir::Cache="$d/cache" -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
	apt-get -qq "${o[@]}" update >>"$TMP/cold.err" 2>&1 &&
		(cd "$d/dl" && apt-get -qq "${o[@]}" download libc6 libgcc-s1 libc-bin) >>"$TMP/cold.err" 2>&1 &&
		for deb in "$d"/dl/*.deb; do dpkg-deb -x "$deb" "$d/root" || return 1; done &&
		(cd "$TMP" && LC_ALL=C qemu-aarch64 -L "$d/root" "$HELLO") >"$TMP/cold.out" 2>>"$TMP/cold.err" &&
		grep -qx 'Hello, world!' "$TMP/cold.out"
}
cold_mm() { # $1: target dir
	mmdebstrap --variant=extract --architectures=$ARCH --include=libc6,libc-bin "$SUITE" "$1" - \
		<"$TMP/sources.list" >>"$TMP/cold.err" 2>&1 &&
		(cd "$TMP" && LC_ALL=C qemu-aarch64 -L "$1" "$HELLO") >"$TMP/cold.out" 2>>"$TMP/cold.err" &&
		grep -qx 'Hello, world!' "$TMP/cold.out"
}
say "empty cache, run arm64 hello: xsysroot vs private apt vs mmdebstrap, $COLD_ROUNDS interleaved rounds"
CX=() CA=() CM=()
for ((r = 0; r < COLD_ROUNDS; r++)); do
	for k in 0 1 2; do
		w=$(((k + r) % 3)); d="$TMP/cold-$r-$w"
		sync
		t0=$(now)
		case $w in
		0) cold_xs "$d" || { tail -20 "$TMP/cold.err" >&2; die "xsysroot run hello on an empty cache failed"; } ;;
		1) cold_apt "$d" || { tail -20 "$TMP/cold.err" >&2; die "the private apt run of hello failed"; } ;;
		2) cold_mm "$d" || { tail -20 "$TMP/cold.err" >&2; die "the mmdebstrap run of hello failed"; } ;;
		esac
		t1=$(now)
		case $w in 0) CX+=("$(sub "$t1" "$t0")") ;; 1) CA+=("$(sub "$t1" "$t0")") ;; 2) CM+=("$(sub "$t1" "$t0")") ;; esac
		[ "$w" = 0 ] && COLD_CACHE=$(du -sb "$d" | cut -f1)
		set_aside "$d"
	done
done
CX_MED=$("$PY" "$LIB" median "${CX[@]}"); CA_MED=$("$PY" "$LIB" median "${CA[@]}"); CM_MED=$("$PY" "$LIB" median "${CM[@]}")

# --- 5b. the same xsysroot run once more through the proxy: bytes and peak memory -----------------
say "empty cache, run arm64 hello through the byte-counting proxy, polling the peak RSS"
start_proxy proxy5
read -r _ COLD_RSS COLD_RC < <(cd "$TMP" && env -u no_proxy -u NO_PROXY LC_ALL=C \
	http_proxy="http://127.0.0.1:$PORT" https_proxy="http://127.0.0.1:$PORT" \
	"$PY" "$LIB" peakrss "$XS" -- "$XS" run --cache-dir "$TMP/cold-proxy" "$ARCH" -- "$HELLO" 2>>"$TMP/cold.err")
[ "${COLD_RC:-1}" = 0 ] || die "xsysroot run hello through the proxy failed"
sleep 0.5
read -r COLD_DOWN _ _ <"$TMP/proxy5.stats"
kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=
set_aside "$TMP/cold-proxy"

R5A=$(ratio "$CX_MED" "$CA_MED")
R5M=$(ratio "$CX_MED" "$CM_MED")
R5B=$(ratio "$COLD_DOWN" "$HELLO_NEEDED")
COLD_CACHE_MB=$(awk -v b="$COLD_CACHE" 'BEGIN{printf "%.1f", b/1e6}')
COLD_RSS_MB=$(awk -v k="$COLD_RSS" 'BEGIN{printf "%.1f", k/1024}')
report_cold() {
	cat <<EOF
5. empty cache, run $ARCH -- ./hello (medians of $COLD_ROUNDS interleaved rounds): xsysroot $CX_MED s, private apt $CA_MED s, mmdebstrap+run $CM_MED s
    (rounds: xsysroot ${CX[*]}; apt ${CA[*]}; mmdebstrap ${CM[*]})
    xsysroot / private apt $R5A (goal <= 0.7) $(verdict "$R5A" 0.7); xsysroot / mmdebstrap $R5M (goal <= 0.6) $(verdict "$R5M" 0.6)
    bytes downloaded $COLD_DOWN / needed $HELLO_NEEDED (InRelease + Packages.xz + libc6, libgcc-s1, $GCCBASE) = $R5B (goal <= 1.3) $(verdict "$R5B" 1.3)
    cache after the run: $COLD_CACHE_MB MB (goal <= 50) $(verdict "$COLD_CACHE_MB" 50); peak RSS of any xsysroot process: $COLD_RSS_MB MiB (goal <= 64) $(verdict "$COLD_RSS_MB" 64)
EOF
}
if [ "${BENCH_ONLY:-}" = cold ]; then
	printf '\n== xsysroot benchmark (BENCH_ONLY=cold): %s %s, %s, %s cores, load %s ==\n' \
		"$ARCH" "$SUITE" "$XS" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
	report_cold
	exit 0
fi


# --- 0. the very first mount: fetches and indexes everything ------------------------
say "first mount on an empty cache (fetches the indexes)"
off=$(logsize); t0=$(now); xs_mount || { cat "$TMP/mount.err" >&2; die "mount failed"; }; t1=$(now)
FIRST_MOUNT=$(sub "$t1" "$t0")
FIRST_IDX=$("$PY" "$LIB" indexbytes "$CACHE/daemon.log" "$off")
xs_umount

# --- 2. cold (cached index) mount + first run, against mmdebstrap + first run --------
# COLD_ROUNDS rounds, the two in alternating order; medians.  The last
# round's mount and plain dir stay for the warm runs below.
cold_xs_round() {
	mountpoint -q "$MNT" && xs_umount
	cold_cache
	off=$(logsize)
	local t0 t1 t2
	sync
	t0=$(now); xs_mount || die "mount failed"; t1=$(now)
	run_py "$MNT" || die "python3 workload failed on the mount"
	t2=$(now)
	C2XM+=("$(sub "$t1" "$t0")"); C2XR+=("$(sub "$t2" "$t1")"); C2X+=("$(sub "$t2" "$t0")")
	read -r PY_DL PY_NDL PY_FETCH_S PY_NAMES < <("$PY" "$LIB" logstats "$CACHE/daemon.log" "$off")
}
cold_mm_round() {
	set_aside "$PLAIN"
	local t0 t1 t2
	sync
	t0=$(now)
	mmdebstrap --variant=extract --architectures=$ARCH --include=python3 "$SUITE" "$PLAIN" - \
		<"$TMP/sources.list" >"$TMP/mmdebstrap.log" 2>&1 || { tail -20 "$TMP/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
	t1=$(now)
	run_py "$PLAIN" || die "python3 workload failed on the plain dir"
	t2=$(now)
	C2MM+=("$(sub "$t1" "$t0")"); C2MR+=("$(sub "$t2" "$t1")"); C2M+=("$(sub "$t2" "$t0")")
}
say "cold cache with cached index: mount + first python3 run, against mmdebstrap --variant=extract --include=python3 + first run, $COLD_ROUNDS rounds"
C2XM=() C2XR=() C2X=() C2MM=() C2MR=() C2M=()
for ((r = 0; r < COLD_ROUNDS; r++)); do
	if ((r % 2 == 0)); then cold_xs_round; cold_mm_round; else cold_mm_round; cold_xs_round; fi
done
med() { "$PY" "$LIB" median "$@"; }
COLD_XS_MOUNT=$(med "${C2XM[@]}"); COLD_XS_RUN=$(med "${C2XR[@]}"); COLD_XS=$(med "${C2X[@]}")
COLD_MM_EXTRACT=$(med "${C2MM[@]}"); COLD_MM_RUN=$(med "${C2MR[@]}"); COLD_MM=$(med "${C2M[@]}")
read -r VIEW_BYTES VIEW_N LIBC_SIZE VIEW_FILE < <("$PY" "$LIB" view "$CACHE" libc6)
[ -n "${VIEW_FILE:-}" ] && [ -n "${PY_NAMES:-}" ] || die "cannot read the view or the daemon log in $CACHE"

# --- 1. warm runs, interleaved --------------------------------------------------------
say "warm python3 runs: $RUNS on the mount and $RUNS on the plain dir, interleaved"
sync
if [ "${BENCH_TIMER:-}" = hyperfine ]; then
	TIMER_DESC=hyperfine
	hyperfine -N -w 1 -r "$RUNS" --export-json "$TMP/hf.json" \
		"qemu-aarch64 -L $MNT $MNT/usr/bin/python3 -c 'import json,ssl,sqlite3'" \
		"qemu-aarch64 -L $PLAIN $PLAIN/usr/bin/python3 -c 'import json,ssl,sqlite3'" >&2
	read -r W_MED W_P90 P_MED P_P90 < <("$PY" -c '
import json,math,statistics,sys
r=json.load(open(sys.argv[1]))["results"]
o=[]
for x in r:
    t=sorted(x["times"]); o+=[statistics.median(t), t[max(0,math.ceil(.9*len(t))-1)]]
print(" ".join("%.3f"%v for v in o))' "$TMP/hf.json")
else
	read -r W_MED W_P90 P_MED P_P90 W_CPU P_CPU < <(cd "$TMP" && "$PY" "$LIB" timeit "$RUNS" \
		qemu-aarch64 -L "$MNT" "$MNT/usr/bin/python3" "${WORKLOAD[@]}" --- \
		qemu-aarch64 -L "$PLAIN" "$PLAIN/usr/bin/python3" "${WORKLOAD[@]}")
fi
[ -n "${P_P90:-}" ] || die "warm timing failed"
xs_umount

# --- 3a. external hello on a cold cache -------------------------------------------------
say "cold cache with cached index: external arm64 hello under qemu -L MNT"
cold_cache
off=$(logsize)
xs_mount || die "mount failed"
# the C locale: hello then needs libc6 alone (under a UTF-8 locale glibc also
# loads C.utf8, which the view serves from libc-bin)
HELLO_OUT=$(cd "$TMP" && LC_ALL=C qemu-aarch64 -L "$MNT" "$HELLO") || die "hello failed on the mount"
xs_umount
[ "$HELLO_OUT" = "Hello, world!" ] || say "unexpected hello output: $HELLO_OUT"
read -r H_DL H_NDL H_FETCH_S H_NAMES < <("$PY" "$LIB" logstats "$CACHE/daemon.log" "$off")

# --- 3c. the same with the Contents indexes cached: the lazy tree -------------------------
# By cost, a python3 view on a cache without Contents fetches its .debs at
# mount (16 MB of .debs against 45 MB of Contents), so 3a counts the whole
# view.  Once Contents is cached (here by one mount with
# XSYSROOT_CONTENTS=always), it costs nothing and the tree comes from it:
# hello then fetches libc6 alone.
say "cold cache with cached index and Contents: external arm64 hello under qemu -L MNT"
XSYSROOT_CONTENTS=always xs_mount || die "mount (XSYSROOT_CONTENTS=always) failed"
xs_umount
cold_cache
off=$(logsize)
xs_mount || die "mount failed"
HELLO_OUT=$(cd "$TMP" && LC_ALL=C qemu-aarch64 -L "$MNT" "$HELLO") || die "hello failed on the mount"
xs_umount
read -r HC_DL HC_NDL HC_FETCH_S HC_NAMES < <("$PY" "$LIB" logstats "$CACHE/daemon.log" "$off")

# --- 4. warm mount time, and the bytes one warm mount moves --------------------------------
say "warm mount: $CYCLES mount/umount cycles"
mts=()
for ((i = 0; i < CYCLES; i++)); do
	t0=$(now); xs_mount || die "mount failed"; t1=$(now)
	mts+=("$(sub "$t1" "$t0")")
	xs_umount
done
MT_MED=$(printf '%s\n' "${mts[@]}" | sort -n | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else printf "%.2f", (a[NR/2]+a[NR/2+1])/2 }')
MT_ALL=$(printf '%s ' "${mts[@]}")

say "warm mount through a byte-counting local HTTP proxy"
start_proxy proxy
off=$(logsize)
env -u no_proxy -u NO_PROXY http_proxy="http://127.0.0.1:$PORT" https_proxy="http://127.0.0.1:$PORT" \
	"$XS" mount --packages python3 --cache-dir "$CACHE" "$ARCH" "$MNT" 2>>"$TMP/mount.err" || die "mount (via proxy) failed"
xs_umount
sleep 0.5
read -r PX_DOWN PX_UP PX_CONNS <"$TMP/proxy.stats"
WARM_IDX=$("$PY" "$LIB" indexbytes "$CACHE/daemon.log" "$off")
kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=

# --- 6. run per call on a warm cache (as go test -exec runs each test binary) -----------------------
say "warm run per call: xsysroot run hello vs qemu-aarch64 -L PLAIN hello, $RUNS each, interleaved"
LC_ALL=C "$XS" run --cache-dir "$CACHE" "$ARCH" -- "$HELLO" >/dev/null 2>>"$TMP/mount.err" || die "xsysroot run hello failed"
read -r RUN_MED _ QL_MED _ _ _ < <(cd "$TMP" && LC_ALL=C "$PY" "$LIB" timeit "$RUNS" \
	"$XS" run --cache-dir "$CACHE" "$ARCH" -- "$HELLO" --- qemu-aarch64 -L "$PLAIN" "$HELLO")
RUN_OVER=$(sub "$RUN_MED" "$QL_MED")

# --- report --------------------------------------------------------------------------
R1=$(ratio "$W_MED" "$P_MED")
R2=$(ratio "$COLD_XS" "$COLD_MM")
R3=$(ratio "$H_DL" "$LIBC_SIZE")
R3C=$(ratio "$HC_DL" "$LIBC_SIZE")
R3B=$(ratio "$PY_DL" "$VIEW_BYTES")
cat <<EOF

== xsysroot benchmark: $ARCH $SUITE, $(basename "$XS") = $XS, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) ==
1. warm python3 run (N=$RUNS, ${TIMER_DESC:-interleaved}): mount $W_MED s (p90 $W_P90), plain $P_MED s (p90 $P_P90), ratio $R1 (goal <= 1.00) $(verdict "$R1" 1.00)
    (qemu user+sys CPU per run, median: mount ${W_CPU:-n/a} s, plain ${P_CPU:-n/a} s)
2. cold to first run (medians of $COLD_ROUNDS rounds):  xsysroot $COLD_XS s (mount $COLD_XS_MOUNT + run $COLD_XS_RUN), mmdebstrap $COLD_MM s (extract $COLD_MM_EXTRACT + run $COLD_MM_RUN), ratio $R2 (goal <= 0.25) $(verdict "$R2" 0.25)
    (rounds: xsysroot ${C2X[*]}; mmdebstrap ${C2M[*]})
    (sum of the daemon log's per-package fetch times in that run: $PY_FETCH_S s for $PY_NDL packages)
3a. hello .deb bytes, by cost (no Contents cached: the view's .debs at mount): downloaded $H_DL ($H_NDL pkgs), needed $LIBC_SIZE (libc6), ratio $R3
3c. hello .deb bytes, Contents cached (the lazy tree): downloaded $HC_DL ($HC_NDL pkgs: $HC_NAMES), needed $LIBC_SIZE (libc6), ratio $R3C (goal <= 1.05) $(verdict "$R3C" 1.05)
3b. python3 .deb bytes: downloaded $PY_DL ($(mb "$PY_DL")) of the view's $VIEW_BYTES ($(mb "$VIEW_BYTES")), ratio $R3B; packages fetched $PY_NDL of $VIEW_N
    fetched: $PY_NAMES
4. warm mount: median $MT_MED s of $CYCLES ($MT_ALL s); one warm mount moved $PX_DOWN bytes down / $PX_UP up in $PX_CONNS connections (local proxy); daemon log: $WARM_IDX of indexes
   (first mount on an empty cache: $FIRST_MOUNT s, $FIRST_IDX of indexes)
6. run per call, warm cache: xsysroot run $RUN_MED s, qemu-aarch64 -L $QL_MED s (medians of $RUNS): $RUN_OVER s over (goal <= 0.3) $(verdict "$RUN_OVER" 0.3)
EOF
report_cold

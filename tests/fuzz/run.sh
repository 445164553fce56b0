#!/usr/bin/env bash
# Fuzz every target for a bounded time:
#   tests/fuzz/run.sh BUILD_DIR [SECONDS [RESULTS_JSON]]
# BUILD_DIR was configured with CC=clang -Dfuzzing=enabled and built.  Each
# target starts from a scratch copy of corpus/<t>/ and crashers/<t>/ (the
# tree is never written) and runs SECONDS (default 20) with -timeout=10
# -rss_limit_mb=2048 -detect_leaks=1, $FUZZ_JOBS (default: nproc) targets
# at a time.  A failure prints the end of the log and keeps the crashing
# input in BUILD_DIR/fuzz-artifacts/<t>/; minimise it with
#   fuzz-<t> -minimize_crash=1 -runs=10000 <input>
# and add it to crashers/<t>/.  RESULTS_JSON, when given, receives one
# line per target in the form of meson's testlog.json ("name", "result":
# OK or FAIL) for CI's summary.  Exit status: 1 when any target failed.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR [SECONDS [RESULTS_JSON]]}" && pwd)
secs=${2:-20}
results=${3:-}
jobs=${FUZZ_JOBS:-$(nproc)}
# the targets are those tests/fuzz/meson.build declared and built
targets=()
for exe in "$build"/tests/fuzz/fuzz-*; do
	[ -f "$exe" ] && [ -x "$exe" ] && targets+=("${exe##*/fuzz-}")
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "run.sh: no fuzz targets built in $build/tests/fuzz" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/xs-fuzzrun-XXXXXX")
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
	local t=$1 d=$work/$1
	mkdir -p "$d/corpus" "$d/artifacts" "$d/tmp"
	find "$here/corpus/$t" "$here/crashers/$t" -maxdepth 1 -type f ! -name '.*' \
		-exec cp {} "$d/corpus/" \;
	local start=$SECONDS rc=0
	TMPDIR=$d/tmp "$build/tests/fuzz/fuzz-$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
		-artifact_prefix="$d/artifacts/" "$d/corpus" >"$d/log" 2>&1 || rc=$?
	echo "$rc $((SECONDS - start))" >"$d/rc"
}

for t in "${targets[@]}"; do
	while (($(jobs -rp | wc -l) >= jobs)); do
		wait -n || true
	done
	run_one "$t" &
done
wait

failed=0
[ -n "$results" ] && : >"$results"
for t in "${targets[@]}"; do
	d=$work/$t
	read -r rc took <"$d/rc"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log")
	cov=$(grep -o 'cov: [0-9]*' "$d/log" | tail -n 1)
	if [ "$rc" = 0 ]; then
		result=OK
		echo "ok   fuzz-$t: ${runs:-?} runs in ${took}s, ${cov:-cov: ?}"
	else
		result=FAIL
		failed=1
		echo "FAIL fuzz-$t (exit $rc after ${took}s); end of its log:"
		tail -n 60 "$d/log" | sed 's/^/    /'
		mkdir -p "$build/fuzz-artifacts/$t"
		cp -r "$d/artifacts/." "$build/fuzz-artifacts/$t/"
		echo "    inputs kept in $build/fuzz-artifacts/$t/"
	fi
	[ -n "$results" ] && printf '{"name": "fuzzrun-%s", "result": "%s", "duration": %s}\n' \
		"$t" "$result" "$took" >>"$results"
done
exit $failed

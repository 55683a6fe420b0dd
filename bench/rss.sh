#!/bin/bash
# rss.sh: memory back to the kernel, memgc against glibc and plain jemalloc
# in one run (issue 4's three cases).
#
# Each case runs under each allocator, which is then asked to give memory
# back in its own way: glibc malloc_trim(0), plain jemalloc (LD_PRELOAD)
# mallctl("arena.4096.purge"), memgc memgc_trim(), and memgc_collect(2) as
# well when the library has the collector.  The allocators alternate run by
# run (the order rotates each round).  The cases:
#   range   python3 (PYTHONMALLOC=malloc): list(range(5*10**7)) deleted
#   dict    python3: a 2,000,000-entry dict of short strings and lists, every
#           100th entry kept
#   blocks  bench/rss: 8 Mi blocks of 128 B and 100 of 8 MiB, every 64th
#           small block kept
# Prints, per case, the medians of RSS before the work (baseline), at the
# peak, after the frees, after the trim, the page floor (the baseline plus
# the pages the live objects hold: from memgc's own layout, see rss.py and
# rss.c; glibc's and jemalloc's own for blocks, unknown for their python
# cases), the trimmed RSS over the baseline and over the floor, and the
# time of the trim call against glibc's: its wall time, and the calling
# thread's CPU time in it (each allocator trims on the calling thread; on a
# busy machine the wall time adds the waits for a CPU, the CPU time does
# not); then the issue's bar as PASS/FAIL, for both times.
#
# Usage: MEMGC_LIB=/path/to/libmemgc.so bench/rss.sh    (or `make bench-rss`)
# Environment (all optional but MEMGC_LIB):
#   BENCH_RUNS=3            runs of each allocator on each case
#   BENCH_ONLY="range dict blocks"   the cases to run
#   BENCH_RSS_RANGE=50000000, BENCH_RSS_DICT=2000000, BENCH_RSS_SMALL=8388608
#                           the sizes of the three cases
#   BENCH_RSS             the built bench/rss (else found beside MEMGC_LIB's
#                         build directory, else compiled from rss.c with $CC)
#   BENCH_JEMALLOC, BENCH_PYTHON       the peers
#   BENCH_STRICT=1        exit 1 when a bar line says FAIL (default: exit 0)
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"   # die, program, rounds, record, median, verdict, want
RUNS=${BENCH_RUNS:-3}
ONLY=${BENCH_ONLY:-range dict blocks}
NRANGE=${BENCH_RSS_RANGE:-50000000}
NDICT=${BENCH_RSS_DICT:-2000000}
NSMALL=${BENCH_RSS_SMALL:-8388608}
JEMALLOC=${BENCH_JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
PYTHON=${BENCH_PYTHON:-/usr/bin/python3}
for v in RUNS NRANGE NDICT NSMALL; do
	case ${!v} in ''|*[!0-9]*|0) die "$v=${!v}: a positive integer" ;; esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memgc-rss.XXXXXX") || die "cannot make a temp dir"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

RSSPROG=$(program rss "${BENCH_RSS:-}" -ldl) || die "cannot build $here/rss.c (set BENCH_RSS)"
PYSCRIPT=$here/rss.py

# memgc-collect only where the library has the collector.
configs="glibc jemalloc memgc"
if LD_PRELOAD="$MEMGC_LIB" "$PYTHON" -c \
	'import ctypes, sys; sys.exit(not hasattr(ctypes.CDLL(None), "memgc_collect"))' 2>/dev/null; then
	configs="$configs memgc-collect"
else
	echo "bench-rss: $MEMGC_LIB has no memgc_collect: the memgc-collect column is n/a" >&2
fi
[ -f "$JEMALLOC" ] || die "plain jemalloc ($JEMALLOC) is a reference and is missing"
[ -x "$PYTHON" ] || die "no $PYTHON"

# run_one CONFIG CASE: runs it once and appends
# "CASE CONFIG baseline peak free trim floor trim_s cpu_s" (kB, seconds).
run_one() {
	local cfg=$1 cs=$2 cmd envs=(-u LD_PRELOAD -u MEMGC_OPTIONS PYTHONMALLOC=malloc)
	case $cs in
	range) cmd=("$PYTHON" "$PYSCRIPT" range "$cfg" "$NRANGE") ;;
	dict) cmd=("$PYTHON" "$PYSCRIPT" dict "$cfg" "$NDICT") ;;
	blocks) cmd=("$RSSPROG" "$cfg" "$NSMALL") ;;
	esac
	case $cfg in
	glibc) ;;
	jemalloc) envs+=(LD_PRELOAD="$JEMALLOC") ;;
	memgc*) envs+=(LD_PRELOAD="$MEMGC_LIB") ;;
	esac
	env "${envs[@]}" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null
	record "$cs" "$cfg" $? '^rss case=' baseline_kb peak_kb free_kb trim_kb floor_kb trim_s cpu_s
}

ratio() { # ratio A B: "n/a" when either is missing or not positive
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a <= 0 || b <= 0) print "n/a";
		else printf "%.2f", a / b }'
}

mb() { awk -v k="$1" 'BEGIN { if (k == "" || k < 0) print "n/a"; else printf "%.1f", k / 1024 }'; }
ms() { awk -v s="$1" 'BEGIN { if (s == "") print "n/a"; else printf "%.1f", s * 1000 }'; }

describe() {
	case $1 in
	range) echo "range: python3 list(range($NRANGE)) deleted" ;;
	dict) echo "dict: python3 dict of $NDICT short strings and lists, every 100th entry kept" ;;
	blocks) echo "blocks: C, $NSMALL blocks of 128 B and 100 of 8 MiB, every 64th small block kept" ;;
	esac
}

table() { # table CASE
	local cs=$1 c gt gc
	gt=$(median "$cs" glibc 8) gc=$(median "$cs" glibc 9)
	echo
	echo "== $(describe "$cs") (median of $RUNS) =="
	printf '%-14s %9s %8s %8s %9s %8s %7s %7s %9s %7s %8s %7s\n' allocator "base MB" "peak MB" \
		"freed MB" "trimmed MB" "floor MB" "x base" "x floor" "trim ms" "x glibc" "cpu ms" \
		"x glibc"
	for c in $configs; do
		local b p f t l s u
		b=$(median "$cs" "$c" 3) p=$(median "$cs" "$c" 4) f=$(median "$cs" "$c" 5)
		t=$(median "$cs" "$c" 6) l=$(median "$cs" "$c" 7) s=$(median "$cs" "$c" 8)
		u=$(median "$cs" "$c" 9)
		if [ -z "$b" ]; then
			printf '%-14s %9s\n' "$c" n/a
			continue
		fi
		printf '%-14s %9s %8s %8s %9s %8s %7s %7s %9s %7s %8s %7s\n' "$c" "$(mb "$b")" \
			"$(mb "$p")" "$(mb "$f")" "$(mb "$t")" "$(mb "$l")" "$(ratio "$t" "$b")" \
			"$(ratio "$t" "$l")" "$(ms "$s")" "$(ratio "$s" "$gt")" "$(ms "$u")" \
			"$(ratio "$u" "$gc")"
	done
}


echo "memgc memory back to the kernel: $MEMGC_LIB"
echo "$(uname -srm), $(nproc) CPUs; $RUNS interleaved runs per allocator; RSS from"
echo "/proc/self/statm; the trim time is the call's own (CLOCK_MONOTONIC around it)."
: >"$tmp/results"
for cs in range dict blocks; do
	want "$cs" || continue
	# shellcheck disable=SC2086
	rounds "$cs" $configs
	table "$cs"
done

echo
echo "The bar (memgc_trim(); memgc_collect(2) too when present):"
for c in $configs; do
	case $c in memgc*) ;; *) continue ;; esac
	if want range; then
		verdict "range, $c: trimmed RSS / baseline" \
			"$(ratio "$(median range "$c" 6)" "$(median range "$c" 3)")" 1.05
	fi
	for cs in dict blocks; do
		want "$cs" || continue
		verdict "$cs, $c: trimmed RSS / page floor" \
			"$(ratio "$(median "$cs" "$c" 6)" "$(median "$cs" "$c" 7)")" 1.05
		verdict "$cs, $c: trim time / glibc malloc_trim(0)" \
			"$(ratio "$(median "$cs" "$c" 8)" "$(median "$cs" glibc 8)")" 1.00
		verdict "$cs, $c: trim CPU time / glibc malloc_trim(0)" \
			"$(ratio "$(median "$cs" "$c" 9)" "$(median "$cs" glibc 9)")" 1.00
	done
done

[ "${BENCH_STRICT:-0}" = 1 ] && [ $failed = 1 ] && exit 1
exit 0

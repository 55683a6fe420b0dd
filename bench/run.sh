#!/bin/bash
# run.sh: memgc's allocation overhead against its peers, measured in one run.
#
# Runs the workloads (bench/alloc with 1 and 2 threads, bench/alloc.py under
# python3 with PYTHONMALLOC=malloc) under glibc malloc, plain jemalloc,
# LeakSanitizer (liblsan as a preload), heaptrack, memgc with automatic
# collection off (gc=0: issue 2's bar, the accountant alone) and memgc with
# stack_depth=8; the allocators alternate run by run
# (the order rotates each round), so that a noisy machine slows them all
# alike.  Each workload times itself, so start-up and heaptrack's own
# post-processing are left out: wall time, and the process's CPU time over
# the same span (every thread's, the tool's own included).  The ratios and
# the bar use the CPU time: on a shared machine the wall time of a run is
# mostly how long other programs held the CPUs.  Then the cost of automatic
# collection (part "gc"): plain jemalloc, memgc with gc=0, memgc with
# automatic collection at its default thresholds (memgc-auto) and at each
# threshold0 of BENCH_THRESHOLDS (memgc-t<N>, threshold1 and threshold2 at
# their defaults) and of BENCH_NOWATCH with the write watch off (memgc-n<N>:
# young collections read all older memory), interleaved the same way, on
# each workload.  The
# collector runs on a thread of its own and stops the program's threads
# while it marks: its cost shows in the process's CPU time and in the wall
# time both; the collections each run made come from its summary=stderr
# line (the exit leak check left out).  Then a stack-depth sweep of memgc on
# the one-thread workload.  Prints medians, ratios to plain jemalloc, and
# the issues' bars as PASS/FAIL lines.
#
# Usage: MEMGC_LIB=/path/to/libmemgc.so bench/run.sh        (or `make bench`)
# Environment (all optional but MEMGC_LIB):
#   BENCH_RUNS=5          runs of each allocator on each workload
#   BENCH_OPS=2000000     replacement steps per thread in bench/alloc
#   BENCH_PY_ROUNDS=20    rounds of bench/alloc.py
#   BENCH_ONLY="alloc1 alloc2 python gc sweep"   the parts to run
#   BENCH_GC_RUNS=3       runs of each configuration in part gc
#   BENCH_GC_WORKLOADS="alloc1 alloc2 python"  the workloads of part gc
#   BENCH_DEPTHS="1 2 4 8 16"                 stack depths of the sweep
#   BENCH_THRESHOLDS="700 70000 700000"  threshold0 candidates for part gc
#   BENCH_NOWATCH="700"   threshold0s also run with watch=off in part gc
#                         (memgc-auto's row is the default's; CPython's 700 is
#                         the slowest: empty for none)
#   BENCH_ALLOC           the built bench/alloc (else found beside MEMGC_LIB's
#                         build directory, else compiled from alloc.c with $CC)
#   BENCH_JEMALLOC, BENCH_LSAN, BENCH_PYTHON, BENCH_HEAPTRACK   the peers
#   BENCH_STRICT=1        exit 1 when a bar line says FAIL (default: exit 0)
# A peer that is not installed gets "n/a" in its column.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"   # die and the MEMGC_LIB check, rounds, want
RUNS=${BENCH_RUNS:-5}
OPS=${BENCH_OPS:-2000000}
PY_ROUNDS=${BENCH_PY_ROUNDS:-20}
ONLY=${BENCH_ONLY:-alloc1 alloc2 python gc sweep}
GC_RUNS=${BENCH_GC_RUNS:-3}
GC_WORKLOADS=${BENCH_GC_WORKLOADS:-alloc1 alloc2 python}
DEPTHS=${BENCH_DEPTHS:-1 2 4 8 16}
THRESHOLDS=${BENCH_THRESHOLDS-700 70000 700000}
NOWATCH=${BENCH_NOWATCH-700}
JEMALLOC=${BENCH_JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
LSAN=${BENCH_LSAN:-/usr/lib/x86_64-linux-gnu/liblsan.so.0}
PYTHON=${BENCH_PYTHON:-/usr/bin/python3}
HEAPTRACK=${BENCH_HEAPTRACK:-$(command -v heaptrack || true)}
case $RUNS in ''|*[!0-9]*|0) die "BENCH_RUNS=$RUNS: a positive integer" ;; esac
case $GC_RUNS in ''|*[!0-9]*|0) die "BENCH_GC_RUNS=$GC_RUNS: a positive integer" ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memgc-bench.XXXXXX") || die "cannot make a temp dir"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The workload program: given, built beside the library, or built here.
ALLOC=${BENCH_ALLOC:-}
if [ -z "$ALLOC" ]; then
	for c in "$(dirname "$MEMGC_LIB")/../bench/alloc" "$(dirname "$MEMGC_LIB")/bench/alloc"; do
		[ -x "$c" ] && { ALLOC=$c; break; }
	done
fi
if [ -z "$ALLOC" ]; then
	ALLOC=$tmp/alloc
	${CC:-cc} -O2 -std=gnu11 -pthread -o "$ALLOC" "$here/alloc.c" ||
		die "cannot build $here/alloc.c (set BENCH_ALLOC)"
fi
PYSCRIPT=$here/alloc.py

# memgc's default thresholds, as it prints them (MEMGC_OPTIONS=help=1).
default_thresholds=$(env LD_PRELOAD="$MEMGC_LIB" MEMGC_OPTIONS=help=1 true 2>&1 |
	awk '$1 ~ /^threshold[012]$/ { k = substr($1, 10); next }
	     k != "" && $1 == "default" { sub(/;$/, "", $2); t[k] = $2; k = "" }
	     END { if (length(t) == 3) printf "%s,%s,%s", t[0], t[1], t[2] }')
[ -n "$default_thresholds" ] || default_thresholds="?"

# ---- the allocators: name, and whether it is there ----
configs="glibc jemalloc lsan heaptrack memgc memgc-d8"
gc_configs="memgc-auto"
for t in $THRESHOLDS; do
	case $t in ''|*[!0-9]*) die "BENCH_THRESHOLDS: '$t' is not a threshold0 (a non-negative integer)" ;; esac
	[ "$t" = "${default_thresholds%%,*}" ] || gc_configs+=" memgc-t$t"   # memgc-auto is that one
done
for t in $NOWATCH; do
	case $t in ''|*[!0-9]*) die "BENCH_NOWATCH: '$t' is not a threshold0 (a non-negative integer)" ;; esac
	gc_configs+=" memgc-n$t"
done
have() {
	case $1 in
	jemalloc) [ -f "$JEMALLOC" ] ;;
	lsan) [ -f "$LSAN" ] ;;
	heaptrack) [ -n "$HEAPTRACK" ] && [ -x "$HEAPTRACK" ] ;;
	*) true ;;
	esac
}

# run_one CONFIG WORKLOAD: runs it once and appends
# "WORKLOAD CONFIG wall_s kb cpu_s gen0 gen1 gen2" (the collections, "-"
# where automatic collection is off).
run_one() {
	local cfg=$1 wl=$2 cmd pre=() envs=(-u LD_PRELOAD -u MEMGC_OPTIONS)
	case $wl in
	alloc1) cmd=("$ALLOC" -t 1 -n "$OPS") ;;
	alloc2) cmd=("$ALLOC" -t 2 -n "$OPS") ;;
	python) cmd=("$PYTHON" "$PYSCRIPT" "$PY_ROUNDS"); envs+=(PYTHONMALLOC=malloc) ;;
	esac
	case $cfg in
	glibc) ;;
	jemalloc) envs+=(LD_PRELOAD="$JEMALLOC") ;;
	lsan) envs+=(LD_PRELOAD="$LSAN" LSAN_OPTIONS=detect_leaks=1:exitcode=0) ;;
	heaptrack) pre=("$HEAPTRACK" -o "$tmp/heaptrack.$wl") ;;
	memgc) envs+=(LD_PRELOAD="$MEMGC_LIB" MEMGC_OPTIONS=gc=0) ;;
	memgc-d*) envs+=(LD_PRELOAD="$MEMGC_LIB" MEMGC_OPTIONS=gc=0:stack_depth=${cfg#memgc-d}) ;;
	memgc-auto) envs+=(LD_PRELOAD="$MEMGC_LIB" MEMGC_OPTIONS=gc=1:summary=stderr) ;;
	memgc-t*) envs+=(LD_PRELOAD="$MEMGC_LIB" MEMGC_OPTIONS=gc=1:threshold0=${cfg#memgc-t}:summary=stderr) ;;
	memgc-n*) envs+=(LD_PRELOAD="$MEMGC_LIB" MEMGC_OPTIONS=gc=1:threshold0=${cfg#memgc-n}:watch=off:summary=stderr) ;;
	esac
	env "${envs[@]}" "${pre[@]}" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null
	local rc=$?
	rm -f "$tmp"/heaptrack.*
	local line
	line=$(grep -E '^(alloc|python) .*elapsed_s=' "$tmp/out" | tail -n 1)
	if [ $rc -ne 0 ] || [ -z "$line" ]; then
		echo "bench: $wl under $cfg failed (exit $rc); its last output:" >&2
		tail -n 5 "$tmp/out" "$tmp/err" >&2
		return 1
	fi
	# "memgc:   collections 38 3 1 (...)": the exit leak check is the last
	# generation-2 one
	local colls
	colls=$(awk '$1 == "memgc:" && $2 == "collections" { print $3, $4, $5 - 1; exit }' "$tmp/err")
	echo "$line" | awk -v w="$wl" -v c="$cfg" -v g="${colls:--  - -}" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print w, c, v["elapsed_s"], v["maxrss_kb"], v["proc_cpu_s"], g }' >>"$tmp/results"
}

# median WORKLOAD CONFIG FIELD (bench/lib.sh): 3 = wall s, 4 = kB, 5 = CPU s,
# 6-8 = collections of generations 0-2.

ratio() { # ratio A B, "n/a" when either is missing
	if [ -z "$1" ] || [ -z "$2" ]; then echo n/a; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; fi
}

describe() {
	case $1 in
	alloc1) echo "alloc, 1 thread: $OPS replacements, 10^5 live, 16 B-4 KiB + 1 MiB in 1000" ;;
	alloc2) echo "alloc, 2 threads: $OPS replacements each, 1/64 of frees cross-thread" ;;
	python) echo "python3 (PYTHONMALLOC=malloc): $PY_ROUNDS rounds of dicts, tuples, json" ;;
	esac
}

table() { # table WORKLOAD CONFIG...
	local wl=$1; shift
	local jt jc jr t u r
	jt=$(median "$wl" jemalloc 3)
	jc=$(median "$wl" jemalloc 5)
	jr=$(median "$wl" jemalloc 4)
	echo
	echo "== $(describe "$wl") (median of $RUNS) =="
	printf '%-12s %8s %8s %8s %8s %12s %8s\n' allocator "wall s" "x je" "CPU s" "x je" \
		"peak RSS MiB" "x je"
	for c in "$@"; do
		t=$(median "$wl" "$c" 3)
		u=$(median "$wl" "$c" 5)
		r=$(median "$wl" "$c" 4)
		if [ -z "$t" ]; then
			printf '%-12s %8s %8s %8s %8s %12s %8s\n' "$c" n/a n/a n/a n/a n/a n/a
		else
			printf '%-12s %8.3f %8s %8.3f %8s %12.1f %8s\n' "$c" "$t" "$(ratio "$t" "$jt")" \
				"$u" "$(ratio "$u" "$jc")" \
				"$(awk -v k="$r" 'BEGIN { print k / 1024 }')" "$(ratio "$r" "$jr")"
		fi
	done
}

# gc_table WORKLOAD: automatic collection's cost, each memgc-auto/-t config
# against plain jemalloc and against memgc with collection off (x gc0: what
# the collections alone cost).
gc_table() {
	local wl=$1 jc jt mc c u t
	jc=$(median "$wl" jemalloc 5)
	jt=$(median "$wl" jemalloc 3)
	mc=$(median "$wl" memgc 5)
	echo
	echo "== automatic collection: $(describe "$wl") (median of $GC_RUNS) =="
	printf '%-14s %-23s %8s %6s %6s %8s %6s %17s\n' config thresholds "CPU s" "x je" "x gc0" \
		"wall s" "x je" "collections 0/1/2"
	for c in jemalloc memgc $gc_configs; do
		u=$(median "$wl" "$c" 5)
		t=$(median "$wl" "$c" 3)
		local th=-
		case $c in
		memgc-auto) th="$default_thresholds (default)" ;;
		memgc-t*) th="${c#memgc-t},${default_thresholds#*,}" ;;
		memgc-n*) th="${c#memgc-n},${default_thresholds#*,} watch=off" ;;
		memgc) th="gc=0" ;;
		esac
		if [ -z "$u" ]; then
			printf '%-14s %-23s %8s\n' "$c" "$th" n/a
			continue
		fi
		local g="-"
		[ -z "$(median "$wl" "$c" 6)" ] ||
			g="$(median "$wl" "$c" 6)/$(median "$wl" "$c" 7)/$(median "$wl" "$c" 8)"
		printf '%-14s %-23s %8.3f %6s %6s %8.3f %6s %17s\n' "$c" "$th" "$u" "$(ratio "$u" "$jc")" \
			"$(ratio "$u" "$mc")" "$t" "$(ratio "$t" "$jt")" "$g"
	done
}

# bar LABEL WORKLOAD FIELD LIMIT [CONFIG]: one PASS/FAIL line for the ratio
# of memgc's (or CONFIG's) median to plain jemalloc's.
failed=0
bar() {
	local x
	x=$(ratio "$(median "$2" "${5:-memgc}" "$3")" "$(median "$2" jemalloc "$3")")
	if [ "$x" = n/a ]; then
		printf '  SKIP  %-46s (not measured)\n' "$1"
	elif awk -v x="$x" -v l="$4" 'BEGIN { exit !(x <= l) }'; then
		printf '  PASS  %-46s %5sx <= %sx\n' "$1" "$x" "$4"
	else
		printf '  FAIL  %-46s %5sx >  %sx\n' "$1" "$x" "$4"
		failed=1
	fi
}


present=()
for c in $configs; do
	if have "$c"; then present+=("$c"); else echo "bench: $c not found, its column is n/a" >&2; fi
done
have jemalloc || die "plain jemalloc ($JEMALLOC) is the reference and is missing"

echo "memgc allocation overhead: $MEMGC_LIB"
echo "$(uname -srm), $(nproc) CPUs; $RUNS interleaved runs per allocator ($GC_RUNS in part gc); times are the"
echo "workloads' own (wall: CLOCK_MONOTONIC around the loop; CPU: the process's CPU time"
echo "over the same span, which the ratios and the bar use); peak RSS is ru_maxrss."
: >"$tmp/results"
for wl in alloc1 alloc2 python; do
	want "$wl" || continue
	[ "$wl" != python ] || [ -x "$PYTHON" ] || { echo "bench: no $PYTHON, python skipped" >&2; continue; }
	rounds "$wl" "${present[@]}"
	table "$wl" $configs
done

if want alloc1 || want alloc2 || want python; then
	echo
	echo "Issue 2's bar (memgc with automatic collection off, gc=0, against plain jemalloc):"
	bar "CPU time, alloc 1 thread" alloc1 5 1.25
	bar "CPU time, alloc 2 threads" alloc2 5 1.5
	bar "CPU time, python3 PYTHONMALLOC=malloc" python 5 1.10
	bar "peak RSS, alloc 1 thread" alloc1 4 1.2
	bar "peak RSS, alloc 2 threads" alloc2 4 1.2
	bar "peak RSS, python3" python 4 1.2
fi

if want gc; then
	: >"$tmp/results"
	for wl in $GC_WORKLOADS; do
		case $wl in alloc1|alloc2|python) ;; *) die "BENCH_GC_WORKLOADS: '$wl' (alloc1, alloc2, python)" ;; esac
		[ "$wl" != python ] || [ -x "$PYTHON" ] || continue
		NRUNS=$GC_RUNS rounds "$wl" jemalloc memgc $gc_configs
		gc_table "$wl"
	done
	echo
	echo "Issue 3's bar (automatic collection at the default thresholds, $default_thresholds):"
	bar "CPU time, alloc 1 thread" alloc1 5 1.5 memgc-auto
	bar "CPU time, alloc 2 threads" alloc2 5 1.5 memgc-auto
	bar "CPU time, python3 PYTHONMALLOC=malloc" python 5 1.5 memgc-auto
	case " $THRESHOLDS " in *" 700 "*)
		echo
		echo "Issue 5's bar (CPython's threshold0=700, with the write watch):"
		bar "CPU time, alloc 1 thread" alloc1 5 1.5 memgc-t700
		bar "CPU time, alloc 2 threads" alloc2 5 1.5 memgc-t700
		bar "CPU time, python3 PYTHONMALLOC=malloc" python 5 1.5 memgc-t700 ;;
	esac
fi

if want sweep; then
	sweep=(jemalloc)
	for d in $DEPTHS; do sweep+=("memgc-d$d"); done
	: >"$tmp/results"
	rounds alloc1 "${sweep[@]}"
	jt=$(median alloc1 jemalloc 5)
	echo
	echo "== stack-depth sweep: memgc on alloc, 1 thread (median of $RUNS) =="
	printf '%-12s %10s %8s %10s\n' stack_depth "CPU s" "x je" "ns/op +"
	printf '%-12s %10.3f %8s %10s\n' jemalloc "$jt" 1.00 -
	for d in $DEPTHS; do
		t=$(median alloc1 "memgc-d$d" 5)
		[ -n "$t" ] || { printf '%-12s %10s\n' "$d" n/a; continue; }
		printf '%-12s %10.3f %8s %10.0f\n' "$d" "$t" "$(ratio "$t" "$jt")" \
			"$(awk -v t="$t" -v j="$jt" -v n="$OPS" 'BEGIN { print (t - j) * 1e9 / n }')"
	done
	echo "(ns/op +: memgc's extra time per replacement step, one free and one malloc)"
fi

[ "${BENCH_STRICT:-0}" = 1 ] && [ $failed = 1 ] && exit 1
exit 0

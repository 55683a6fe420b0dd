# lib.sh: what bench/run.sh and bench/rss.sh share; sourced, not run.
#
# Sourcing it checks MEMGC_LIB (made absolute).  The caller sets here (its
# own directory), RUNS and tmp, and defines run_one CONFIG WORKLOAD
# (before calling rounds), which runs one workload under one configuration
# and appends a line "WORKLOAD CONFIG FIGURE..." to $tmp/results.

die() { echo "${0##*/}: $*" >&2; exit 2; }

[ -n "${MEMGC_LIB:-}" ] || die "set MEMGC_LIB to the built libmemgc.so (make bench does)"
[ -f "$MEMGC_LIB" ] || die "MEMGC_LIB=$MEMGC_LIB: no such file"
case $MEMGC_LIB in /*) ;; *) MEMGC_LIB=$PWD/$MEMGC_LIB ;; esac

# rounds WORKLOAD CONFIG...: NRUNS (default RUNS) rounds, each running every config once,
# the order rotated by one each round, so that a noisy machine slows them
# all alike.
rounds() {
	local wl=$1; shift
	local cfgs=("$@") n=$# r i runs=${NRUNS:-$RUNS}
	for ((r = 0; r < runs; r++)); do
		for ((i = 0; i < n; i++)); do
			local c=${cfgs[(i + r) % n]}
			[ -t 2 ] && printf '\r  %-8s round %d/%d: %-14s' "$wl" $((r + 1)) "$runs" "$c" >&2
			run_one "$c" "$wl"
		done
	done
	[ -t 2 ] && printf '\r%60s\r' '' >&2
	return 0
}

# median WORKLOAD CONFIG FIELD: the median of column FIELD of $tmp/results
# over the runs of WORKLOAD under CONFIG ("-": no figure); empty if there
# were none.
median() {
	awk -v w="$1" -v c="$2" -v f="$3" '$1 == w && $2 == c && $f != "-" { print $f }' "$tmp/results" |
		sort -g | awk '{ a[NR] = $1 } END {
			if (NR) printf "%.6g\n", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# program NAME GIVEN [CFLAGS...]: the path of the workload program NAME:
# GIVEN when not empty (BENCH_ALLOC, BENCH_RSS), else the one built beside
# MEMGC_LIB's build directory, else NAME.c compiled here into $tmp (with
# CFLAGS after the source).  Fails when it cannot be built.
program() {
	local name=$1 given=$2 c
	shift 2
	if [ -n "$given" ]; then
		echo "$given"
		return 0
	fi
	for c in "$(dirname "$MEMGC_LIB")/../bench/$name" "$(dirname "$MEMGC_LIB")/bench/$name"; do
		[ -x "$c" ] && { echo "$c"; return 0; }
	done
	${CC:-cc} -O2 -std=gnu11 -o "$tmp/$name" "$here/$name.c" "$@" >&2 || return 1
	echo "$tmp/$name"
}

# verdict LABEL VALUE LIMIT [UNIT]: one line of the bar, PASS when VALUE <=
# LIMIT, FAIL (and failed=1) when above, SKIP when VALUE is n/a.
failed=0
verdict() {
	local u=${4:-}
	if [ "$2" = n/a ]; then
		printf '  SKIP  %-58s (not measured)\n' "$1"
	elif awk -v x="$2" -v l="$3" 'BEGIN { exit !(x <= l) }'; then
		printf '  PASS  %-58s %6s%s <= %s%s\n' "$1" "$2" "$u" "$3" "$u"
	else
		printf '  FAIL  %-58s %6s%s >  %s%s\n' "$1" "$2" "$u" "$3" "$u"
		failed=1
	fi
}

# want PART: PART is in $ONLY.
want() { case " $ONLY " in *" $1 "*) true ;; *) false ;; esac; }

# record WORKLOAD CONFIG RC PATTERN KEY...: after one run, whose outputs are
# in $tmp/out and $tmp/err and whose exit status is RC, appends "WORKLOAD
# CONFIG" and the values of KEY... from the last line of $tmp/out matching
# PATTERN (words key=value) to $tmp/results; a failed run is said, with
# its last output, and returns 1.
record() {
	local wl=$1 cfg=$2 rc=$3 pat=$4 line
	shift 4
	line=$(grep -E "$pat" "$tmp/out" | tail -n 1)
	if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
		echo "${0##*/}: $wl under $cfg failed (exit $rc); its last output:" >&2
		tail -n 5 "$tmp/out" "$tmp/err" >&2
		return 1
	fi
	echo "$line" | awk -v w="$wl" -v c="$cfg" -v keys="$*" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		n = split(keys, k, " ")
		out = w " " c
		for (i = 1; i <= n; i++)
			out = out " " v[k[i]]
		print out }' >>"$tmp/results"
}

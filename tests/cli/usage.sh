#!/bin/sh
# usage.sh: memgc's help, version and bad input.  Every mistake gets one
# line on stderr naming what was wrong and what is accepted, and its
# documented exit status (64 usage, 65 not a report, 66 cannot read,
# 70 no library, 73 cannot write), before any program runs.
. "$MEMGC_SRCDIR/tests/cli/lib.sh"
cl_init

# one line on stderr, matching RE, and exit status RC
bad()
{
	_n=$1 _rc=$2 _re=$3
	shift 3
	cl_run "$_n" "$_rc" "$@" && cl_lines "$_n" err 1 && cl_has "$_n" err "$_re" &&
		mg_pass "$_n: $_rc, $(cat "$T/$_n.err")"
}

cl_run no-verb 64 "$MEMGC" && cl_has no-verb err '^usage: memgc VERB' && mg_pass "no verb: usage, 64"
cl_run help 0 "$MEMGC" --help
for v in run check report demo; do
	cl_has help out "^  memgc $v( |\$)"
	cl_run "help-$v" 0 "$MEMGC" "$v" --help && cl_has "help-$v" out "^usage: memgc $v" &&
		cl_run "help-$v-h" 0 "$MEMGC" "$v" -h && cmp -s "$T/help-$v.out" "$T/help-$v-h.out" &&
		mg_pass "memgc $v --help and -h"
done
cl_run version 0 "$MEMGC" --version && cl_has version out "^memgc [0-9]+\.[0-9]+\.[0-9]+\$" &&
	cl_has version out "^library $MEMGC_LIB\$" && mg_pass "--version: $(head -n 1 "$T/version.out")"
# without MEMGC_LIB the build tree's library, next to the binary, is found
(unset MEMGC_LIB; exec "$MEMGC" --version) >"$T/version-tree.out" &&
	cl_has version-tree out "^library $MEMGC_BUILDDIR/\.libs/libmemgc\.so\$" &&
	mg_pass "the library next to the built binary"

bad unknown-verb 64 "^memgc: unknown verb 'frob': expected one of run, check, report, demo, stats, collect \(memgc --help\)\$" \
	"$MEMGC" frob
bad run-no-prog 64 '^memgc run: no program to run: ' "$MEMGC" run
bad run-no-prog2 64 '^memgc run: no program to run: ' "$MEMGC" run -q --
bad run-flag 64 "^memgc run: unknown flag '--frob' \(memgc run --help\)\$" "$MEMGC" run --frob -- true
bad run-noval 64 "^memgc run: --report needs a value" "$MEMGC" run --report
bad run-opt 64 "^memgc run: -o stack_depth=99: bad value '99' for stack_depth: expected an integer from 1 to 64\$" \
	"$MEMGC" run -o stack_depth=99 -- true
bad run-opt-key 64 "^memgc run: -o nosuch=1: unknown option 'nosuch'; known: help summary " \
	"$MEMGC" run -o nosuch=1 -- true
bad run-opt-eq 64 "^memgc run: -o stack_depth: 'stack_depth' has no '='" "$MEMGC" run -o stack_depth -- true
bad run-opt-report 64 "^memgc run: -o report=/tmp/x: memgc run writes the reports itself; use --report FILE" \
	"$MEMGC" run -o report=/tmp/x -- true
bad run-timeline 64 "^memgc run: --timeline '0': expected the milliseconds between samples, from 1 to 60000\$" \
	"$MEMGC" run --timeline 0 -- true
bad run-timeline2 64 "^memgc run: --timeline '10ms': expected" "$MEMGC" run --timeline 10ms -- true
bad run-report-dir 73 "^memgc run: cannot write $T/nodir/r.json: No such file or directory\$" \
	"$MEMGC" run --report "$T/nodir/r.json" -- true
(MEMGC_LIB=$T/none.so; export MEMGC_LIB
 bad run-nolib 70 "^memgc run: cannot find libmemgc.so \(looked at $T/none.so\); set MEMGC_LIB to its path\$" \
	"$MEMGC" run -- true) || mg_failures=$((mg_failures + 1))

bad check-nobudget 64 '^memgc check: no budget to check: give --max-leaked, ' "$MEMGC" check -- true
bad check-size 64 "^memgc check: --max-peak-live '12Q': not a size: expected bytes, with an optional K, M, G or T \(powers of 1024\), such as 3000 or 64M\$" \
	"$MEMGC" check --max-peak-live 12Q -- true
bad check-size-neg 64 "^memgc check: --max-total-leaked '-1': not a size" \
	"$MEMGC" check --max-total-leaked=-1 -- true
bad check-size-blank 64 "^memgc check: --max-peak-rss '': not a size" "$MEMGC" check --max-peak-rss '' -- true
bad check-no-prog 64 '^memgc check: no program to run: memgc check BUDGETS -- PROG \[ARGS\]$' \
	"$MEMGC" check --max-leaked 0
bad check-tolerance 64 '^memgc check: --tolerance needs --baseline FILE$' \
	"$MEMGC" check --tolerance 5 --max-leaked 0 -- true
bad check-tolerance2 64 "^memgc check: --tolerance 'x': expected a percentage from 0 to 10000" \
	"$MEMGC" check --baseline "$T/b.json" --tolerance x -- true
bad check-baseline-missing 66 "^memgc check: cannot read $T/none.json: No such file or directory\$" \
	"$MEMGC" check --baseline "$T/none.json" -- true
bad check-flag 64 "^memgc check: unknown flag '--max-frob' \(memgc check --help\)\$" \
	"$MEMGC" check --max-frob 0 -- true

printf '{"memgc_report": 1, "pid": 1, "ppid": 0, "heap": {"peak_live_bytes": 1, ' >"$T/cut.json"
printf '{"a": 1}\n' >"$T/other.json"
printf '{"memgc_report": 2, "pid": 1}\n' >"$T/v2.json"
printf '{"memgc_report": 1, "pid": 1, "ppid": 0, "heap": {}}\n' >"$T/noheap.json"
printf '{"memgc_run": 1, "processes": [{"x": 1}]}\n' >"$T/badrun.json"
bad report-none 64 '^memgc report: no report file: memgc report FILE ' "$MEMGC" report
bad report-two 64 '^memgc report: one report file at a time' "$MEMGC" report a b
bad report-missing 66 "^memgc report: cannot read $T/none.json: No such file or directory\$" \
	"$MEMGC" report "$T/none.json"
bad report-passwd 65 '^memgc report: /etc/passwd: not a memgc report: JSON syntax error at line 1, column 1: expected a value$' \
	"$MEMGC" report /etc/passwd
bad report-cut 65 "^memgc report: $T/cut.json: not a memgc report: the JSON text ends early \(line 1\)" \
	"$MEMGC" report "$T/cut.json"
bad report-other 65 "^memgc report: $T/other.json: not a memgc report: it has no \"memgc_report\" member\$" \
	"$MEMGC" report "$T/other.json"
bad report-v2 65 "^memgc report: $T/v2.json: not a memgc report: it is of format 2, and this memgc reads format 1\$" \
	"$MEMGC" report "$T/v2.json"
bad report-noheap 65 "^memgc report: $T/noheap.json: not a memgc report: it has no number \"heap.peak_live_bytes\"\$" \
	"$MEMGC" report "$T/noheap.json"
bad report-badrun 65 "^memgc report: $T/badrun.json: process 1 of the run is not a memgc report: it has no \"memgc_report\" member\$" \
	"$MEMGC" report "$T/badrun.json"
bad report-dir 66 "^memgc report: cannot read /: Is a directory\$" "$MEMGC" report /
bad report-both 64 '^memgc report: --text and --folded: choose one$' "$MEMGC" report --text --folded x
bad report-leaked 64 '^memgc report: --leaked goes with --folded$' "$MEMGC" report --leaked x
bad report-svg-noval 64 '^memgc report: --svg needs a value' "$MEMGC" report x --svg
bad demo-arg 64 "^memgc demo: unknown argument '--fast' \(memgc demo --help\)\$" "$MEMGC" demo --fast
mg_finish

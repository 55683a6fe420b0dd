# signals.sh: a program that uses SIGUSR1, SIGUSR2 and real-time signals
# itself (handlers, sigwait, sigqueue, ignored, default actions in
# children, and dying of SIGUSR1 at the end) runs the same with and
# without memgc, which must have taken none of them.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
mg_compare signals "$MG_BINDIR/signals"
out=$MG_TMP/signals.plain.out
grep -q '^SIGUSR2 by sigwait in a thread: 200 of 200$' "$out" &&
	grep -q '^child killed with SIGUSR2: killed by signal' "$out" ||
	mg_fail "signals: the program did not run as written"
rc=$(cat "$MG_TMP/signals.plain.rc")
test "$rc" -gt 128 || mg_fail "signals: exit status $rc: it should die of SIGUSR1"
MG_OPTS=stack_depth=16 mg_compare signals-deep "$MG_BINDIR/signals"
mg_finish

# vfork.sh: the main thread vforks and its children exec while another
# thread collects back to back in mode=reclaim, 60 rounds: the vfork child
# shares memgc's memory, and must leave the parent's stop of the world
# alone, or the parent frees what only the vforking thread's stack holds.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
MG_OPTS=mode=reclaim mg_run_preloaded vfork "$MEMGC_BUILDDIR/tests/collect/vforkexec" 60
if [ "$(cat "$MG_TMP/vfork.pre.rc")" = 0 ] && [ "$(cat "$MG_TMP/vfork.pre.out")" = "vfork ok 60" ]; then
	mg_pass "60 vfork+exec rounds while collecting: every object only the stack held stayed live"
else
	mg_fail "vfork+exec while collecting: status $(cat "$MG_TMP/vfork.pre.rc")"
	grep -v '^memgc:   ' "$MG_TMP/vfork.pre.err" | head -n 20
fi
mg_finish

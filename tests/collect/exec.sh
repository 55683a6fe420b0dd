# exec.sh: a thread execs while another collects back to back, 100 times
# in a chain: a stop signal queued to the exec'ing thread would survive the
# exec and kill the new program (status 167, signal 39); preload/exec.c
# holds stops off across every exec entry point.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
mg_run_preloaded execchain "$MEMGC_BUILDDIR/tests/collect/execchain" 100
if [ "$(cat "$MG_TMP/execchain.pre.rc")" = 0 ] && [ "$(cat "$MG_TMP/execchain.pre.out")" = "exec ok" ]; then
	mg_pass "100 execs while collecting: all ran"
else
	mg_fail "exec chain: status $(cat "$MG_TMP/execchain.pre.rc") (167: killed by the stop signal)"
fi
mg_finish

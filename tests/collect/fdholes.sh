# fdholes.sh: a program that empties a descriptor number and fills it again
# (the shell's `>file`, a daemon's close-then-open) while another thread
# collects and trims back to back, with the timeline sampling every
# millisecond: every round keeps its number and its file, and memgc leaves
# no descriptor in the program's table (design.md, "Descriptors").  Then
# the case CI met: dash running `seq ... >file` 400 times while
# collect_signal asks for collections as fast as they go.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
mg_need dash seq
MG_OPTS=timeline=1 mg_run_preloaded fdholes "$MEMGC_BUILDDIR/tests/collect/fdholes" 3000
if [ "$(cat "$MG_TMP/fdholes.pre.rc")" = 0 ] && [ "$(cat "$MG_TMP/fdholes.pre.out")" = "fdholes ok 3000" ]; then
	mg_pass "3000 rounds of close-then-dup2 and close-then-open while collecting: every number kept"
else
	mg_fail "descriptor numbers while collecting: status $(cat "$MG_TMP/fdholes.pre.rc")"
	cat "$MG_TMP/fdholes.pre.out"
	grep -v '^memgc:   ' "$MG_TMP/fdholes.pre.err" | head -n 10
fi

cat >"$MG_TMP/redir.sh" <<'SH'
i=0
while test $i -lt 400; do
	seq $i $((i + 50)) >"$1" || { echo "seq failed at $i"; exit 1; }
	i=$((i + 1))
done
echo done
SH
MEMGC_OPTIONS=collect_signal=10 LD_PRELOAD="$MEMGC_LIB" dash "$MG_TMP/redir.sh" "$MG_TMP/f.txt" \
	>"$MG_TMP/redir.out" 2>"$MG_TMP/redir.err" &
pid=$!
sleep 0.2
sent=0
while kill -USR1 "$pid" 2>/dev/null; do
	sent=$((sent + 1))
	sleep 0.002
done
wait "$pid"
rc=$?
if [ "$rc" = 0 ] && [ "$(cat "$MG_TMP/redir.out")" = done ] &&
   ! grep -v '^memgc: collect_signal: ' "$MG_TMP/redir.err" | grep -q .; then
	mg_pass "dash: 400 redirections to a file while collecting on $sent signals"
else
	mg_fail "dash: redirections while collecting: status $rc"
	cat "$MG_TMP/redir.out"
	grep -v '^memgc: collect_signal: ' "$MG_TMP/redir.err" | head -n 10
fi
got=$(grep -c '^memgc: collect_signal: ' "$MG_TMP/redir.err")
[ "$got" -ge 20 ] || mg_fail "dash: only $got collections were made on $sent signals"
mg_finish

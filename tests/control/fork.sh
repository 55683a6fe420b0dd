# fork.sh: the control socket survives fork (the child gets a socket and a
# thread of its own, answering with its own pid; the parent keeps its own)
# and a program that closes every descriptor at start (memgc's socket sits
# out of its way, at 100 or above, and is made again when closed).
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
. "$MEMGC_SRCDIR/tests/control/ctl.sh"
mg_init
ctl_init

# fork: two processes, two sockets, each answering for itself
ctl_start f fork
parent=$CTL_PID
i=0
while test "$(ls "$MG_TMP/f.d" | grep -c '\.stats$')" -lt 2 && test $i -lt 1000; do
	sleep 0.01
	i=$((i + 1))
done
child=$(ls "$MG_TMP/f.d" | sed -n 's/^\([0-9]*\)\.stats$/\1/p' | grep -vx "$parent")
if test -n "$child" && test -S "$CTL_DIR/$parent.sock" && test -S "$CTL_DIR/$child.sock"; then
	mg_pass "fork: sockets $parent.sock (parent) and $child.sock (child)"
else
	mg_fail "fork: child '$child', directory: $(ls "$CTL_DIR" | tr '\n' ' ')"
fi
for p in $parent $child; do
	expect "f$p" 0 "$MEMGC" stats "$p" --json || continue
	got=$(json_get "f$p" '"%d %d %d" % (r["pid"], r["heap"]["live_objects"], r["heap"]["live_bytes"])')
	want="$p $(ctl_field f "$p" live_objects) $(ctl_field f "$p" live_bytes)"
	test "$got" = "$want" && mg_pass "fork: pid $p answers for itself: $got" ||
		mg_fail "fork: pid $p: '$got', want '$want'"
done
expect fc 0 "$MEMGC" collect "$child" --json &&
	test "$(json_get fc 'r["pid"]')" = "$child" && mg_pass "fork: the child collects" ||
	mg_fail "fork: collect in the child"
# (memgc-collect: the collector thread, once count[0] passed threshold0)
threads=$(cat /proc/"$child"/task/*/comm | grep -v '^memgc-collect$\|^memgc-keeper$' | sort | tr '\n' ' ')
test "$threads" = "memgc-control target " && mg_pass "fork: the child's threads: $threads" ||
	mg_fail "fork: the child's threads: $threads"
ctl_stop f
if test ! -e "$CTL_DIR/$parent.sock" && test ! -e "$CTL_DIR/$child.sock"; then
	mg_pass "fork: both sockets removed at exit"
else
	mg_fail "fork: left behind: $(ls "$CTL_DIR" | tr '\n' ' ')"
fi

# closefds: the program closes every descriptor and gets 0, 1 and 2 for its
# files (target exits 10-12 if not); memgc's socket is not in the program's
# table but in the control thread's own, and answers
ctl_start c closefds
pid=$CTL_PID
for i in 0 1 2; do
	link=$(readlink "/proc/$pid/fd/$i")
	test "$link" = "$MG_TMP/c.d/$pid.fd$i" || mg_fail "closefds: fd $i is $link"
done
if expect cstats 0 "$MEMGC" stats "$pid" --json && test "$(json_get cstats 'r["pid"]')" = "$pid"; then
	mg_pass "closefds: answers after the program closed every descriptor"
fi
socks() {
	for f in "$1"/fd/*; do
		case $(readlink "$f") in socket:*) echo "${f##*/}" ;; esac
	done | tr '\n' ' '
}
ctl_task=$(grep -l '^memgc-control$' /proc/"$pid"/task/*/comm | head -n 1)
in_program=$(socks /proc/"$pid")
in_control=$(socks "${ctl_task%/comm}")
if test -z "$in_program" && test -n "$ctl_task" && test -n "$in_control"; then
	mg_pass "closefds: no socket in the program's table, the listening one in the control thread's ($in_control)"
else
	mg_fail "closefds: sockets in the program's table '$in_program', in the control thread's '$in_control'"
fi
ctl_stop c
test ! -s "$MG_TMP/c.d/$pid.fd2" && test ! -s "$MG_TMP/c.err" &&
	mg_pass "closefds: nothing written on the program's fd 2" ||
	mg_fail "closefds: fd 2 holds '$(head -c 200 "$MG_TMP/c.d/$pid.fd2")'"
test ! -e "$CTL_DIR/$pid.sock" && mg_pass "closefds: socket removed at exit" ||
	mg_fail "closefds: $pid.sock left behind"
mg_finish

# errors.sh: every bad input and failure of memgc stats and memgc collect
# gets one exact line on stderr and its documented exit status (memgc(1)
# EXIT STATUS): usage 64; no such process, no memgc, no control socket, a
# stale socket, a process that exits mid-request 69.  Also stale sockets of
# dead processes removed by a process that starts.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
. "$MEMGC_SRCDIR/tests/control/ctl.sh"
mg_init
ctl_init
cd "$MG_TMP" || exit 99

# usage: 64
expect nopid 64 "$MEMGC" stats &&
	expect_err nopid "memgc stats: missing PID: usage: memgc stats PID [--json | --prometheus]"
expect nopid_c 64 "$MEMGC" collect -g 1 &&
	expect_err nopid_c "memgc collect: missing PID: usage: memgc collect PID [-g N] [--json]"
expect alpha 64 "$MEMGC" stats 12ab &&
	expect_err alpha "memgc stats: '12ab' is not a process id: expected a positive integer (see memgc stats --help)"
expect zero 64 "$MEMGC" collect 0 &&
	expect_err zero "memgc collect: '0' is not a process id: expected a positive integer (see memgc collect --help)"
expect negative 64 "$MEMGC" stats -5 &&
	expect_err negative "memgc stats: '-5' is not a process id: expected a positive integer (see memgc stats --help)"
expect huge 64 "$MEMGC" stats 99999999999999999999 &&
	expect_err huge "memgc stats: '99999999999999999999' is not a process id: expected a positive integer (see memgc stats --help)"
expect two 64 "$MEMGC" stats 12 13 &&
	expect_err two "memgc stats: one PID only, not '13' as well as '12'"
expect option 64 "$MEMGC" stats --bogus 12 &&
	expect_err option "memgc stats: unknown option '--bogus' (see memgc stats --help)"
expect prom_collect 64 "$MEMGC" collect 12 --prometheus &&
	expect_err prom_collect "memgc collect: unknown option '--prometheus' (see memgc collect --help)"
expect both 64 "$MEMGC" stats 12 --json --prometheus &&
	expect_err both "memgc stats: --json and --prometheus exclude each other"
expect gen3 64 "$MEMGC" collect 12 -g 3 &&
	expect_err gen3 "memgc collect: bad generation '3': expected 0, 1 or 2"
expect gen_missing 64 "$MEMGC" collect 12 -g &&
	expect_err gen_missing "memgc collect: -g needs a generation: 0, 1 or 2"
expect stats_g 64 "$MEMGC" stats 12 -g 1 &&
	expect_err stats_g "memgc stats: unknown option '-g' (see memgc stats --help)"

# a thread's id instead of its process's: 64
ctl_start threads
tid=$(ls "/proc/$CTL_PID/task" | grep -vx "$CTL_PID" | head -n 1)
expect thread 64 "$MEMGC" stats "$tid" &&
	expect_err thread "memgc stats: $tid is a thread of process $CTL_PID (target): give the process's id"
ctl_stop threads

# a pid that is not running: 69
/bin/true &
dead=$!
wait $dead
expect dead 69 "$MEMGC" stats "$dead" &&
	expect_err dead "memgc stats: no process $dead is running"

# a process without memgc, and one with memgc but no control socket: 69
sleep 60 </dev/null >/dev/null 2>&1 &
plain=$!
CTL_PIDS="$CTL_PIDS $plain"
env MEMGC_OPTIONS="control_dir=$CTL_DIR" LD_PRELOAD="$MEMGC_LIB" sleep 60 </dev/null >/dev/null 2>&1 &
nocontrol=$!
CTL_PIDS="$CTL_PIDS $nocontrol"
sleep 0.3
expect plain 69 "$MEMGC" stats "$plain" &&
	expect_err plain "memgc stats: process $plain (sleep) does not run under memgc: start it with memgc run -- PROG"
expect nocontrol 69 "$MEMGC" collect "$nocontrol" &&
	expect_err nocontrol "memgc collect: process $nocontrol (sleep) runs memgc without a control socket (none in $CTL_DIR): start it with memgc run, or with MEMGC_OPTIONS=control=1"

# a stale socket of a dead process: the command removes it
ctl_start killed
killed=$CTL_PID
kill -9 "$killed"
wait "$killed" 2>/dev/null
test -S "$CTL_DIR/$killed.sock" || mg_fail "stale: no socket left by the killed process"
expect stale 69 "$MEMGC" stats "$killed" &&
	expect_err stale "memgc stats: no process $killed is running (removed the stale control socket $CTL_DIR/$killed.sock it left)"
test ! -e "$CTL_DIR/$killed.sock" && mg_pass "stale: $killed.sock removed" ||
	mg_fail "stale: $killed.sock is still there"

# a stale socket under the pid of a live process that is not the one that
# made it (its pid reused, or it exec'd): refused for 3 s, then 69
"$PYTHON3" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.close()' "$CTL_DIR/$plain.sock"
expect reused 69 "$MEMGC" stats "$plain" &&
	expect_err reused "memgc stats: process $plain (sleep) does not answer on $CTL_DIR/$plain.sock: a stale socket, left by a process that exec'd or died (and pid $plain now names another)"

# stale leftovers of dead processes are removed by a process that starts:
# a socket nobody listens on and a temporary name, both under a pid that
# cannot exist (past PID_MAX_LIMIT); a live socket of another pid stays
"$PYTHON3" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1] + "/4194400.sock")
s.close()
open(sys.argv[1] + "/4194401.tmp", "w").close()' "$CTL_DIR"
ctl_start cleaner
if test ! -e "$CTL_DIR/4194400.sock" && test ! -e "$CTL_DIR/4194401.tmp" &&
   test -S "$CTL_DIR/$plain.sock" && test -S "$CTL_DIR/$CTL_PID.sock"; then
	mg_pass "start: the dead pids' 4194400.sock and 4194401.tmp removed, the rest kept"
else
	mg_fail "start: the directory holds $(ls "$CTL_DIR" | tr '\n' ' ')"
fi
ctl_stop cleaner

# a process that exits while it is asked: stopped, asked, then killed
ctl_start mid
mid=$CTL_PID
kill -STOP "$mid"
i=0
while test "$(cut -d' ' -f3 "/proc/$mid/stat")" != T && test $i -lt 500; do
	sleep 0.01
	i=$((i + 1))
done
"$MEMGC" stats "$mid" >"$MG_TMP/mid.out" 2>"$MG_TMP/mid.err" &
client=$!
sleep 0.5
kill -9 "$mid"
wait "$mid" 2>/dev/null
wait "$client"
rc=$?
if test "$rc" = 69; then
	expect_err mid "memgc stats: process $mid (target) exited before it answered; its stale control socket is removed"
else
	mg_fail "mid: exit status $rc, want 69; stderr: $(cat "$MG_TMP/mid.err")"
fi
test ! -e "$CTL_DIR/$mid.sock" && mg_pass "mid: $mid.sock removed" ||
	mg_fail "mid: $mid.sock is still there"
mg_finish

# protocol.sh: the control protocol spoken raw (protocol.py: every kind of
# malformed request gets its exact error reply and the server carries on),
# a process that exits while a request is in flight, and collect_signal.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
. "$MEMGC_SRCDIR/tests/control/ctl.sh"
mg_init
ctl_init

ctl_start t
pid=$CTL_PID
mkdir "$MG_TMP/scratch"
"$PYTHON3" "$MEMGC_SRCDIR/tests/control/protocol.py" "$CTL_DIR/$pid.sock" "$pid" "$MG_TMP/scratch" \
	"$MEMGC_SRCDIR/man/memgc.1" ||
	mg_fail "protocol.py: see above"
expect after 0 "$MEMGC" stats "$pid" --json && test "$(json_get after 'r["pid"]')" = "$pid" &&
	mg_pass "after every bad request: process $pid alive and answering" ||
	mg_fail "after the bad requests: process $pid does not answer"
ctl_stop t
test ! -s "$MG_TMP/t.err" && mg_pass "nothing on the process's stderr" ||
	mg_fail "the process's stderr: $(head -n 3 "$MG_TMP/t.err")"

# a process that exits normally while its control thread serves a request
# (a report into a FIFO nobody reads: the thread waits in open): the client
# sees the connection close, and the socket is removed at exit
ctl_start fifo
pid=$CTL_PID
mkfifo "$MG_TMP/fifo"
"$PYTHON3" - "$CTL_DIR/$pid.sock" "$MG_TMP/fifo" "$MG_TMP/fifo.d/quit" <<'PY' >"$MG_TMP/fifo.py.out" 2>&1
import json, os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall(json.dumps({"memgc": 1, "cmd": "report", "path": sys.argv[2]}).encode() + b"\n")
time.sleep(0.3)
open(sys.argv[3], "w").close()      # the program exits now
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
print("reply bytes:", len(data))
PY
wait "$pid"
rc=$?
if test "$rc" = 0 && test "$(cat "$MG_TMP/fifo.py.out")" = "reply bytes: 0" &&
   test ! -e "$CTL_DIR/$pid.sock"; then
	mg_pass "exit during a request: status 0, the connection closed with no reply, the socket removed"
else
	mg_fail "exit during a request: status $rc, $(cat "$MG_TMP/fifo.py.out"), $(ls "$CTL_DIR")"
fi

# collect_signal: the signal makes the control thread collect and trim,
# and say so on stderr; the process carries on
CTL_OPTS=collect_signal=10 ctl_start sig
pid=$CTL_PID
kill -USR1 "$pid"
i=0
while ! grep -q "collect_signal" "$MG_TMP/sig.err" && test $i -lt 500; do
	sleep 0.01
	i=$((i + 1))
done
if grep -Eq '^memgc: collect_signal: [0-9]+ unreachable objects found, [0-9]+ freed; RSS [0-9.]+ [KMG]?i?B -> [0-9.]+ [KMG]?i?B in [0-9]+\.[0-9]{3} ms' "$MG_TMP/sig.err" &&
   test "$(wc -l <"$MG_TMP/sig.err")" = 1; then
	mg_pass "collect_signal=10: $(cat "$MG_TMP/sig.err")"
else
	mg_fail "collect_signal=10: stderr '$(cat "$MG_TMP/sig.err")'"
fi
kill -USR1 "$pid"
kill -USR1 "$pid"
sleep 0.3
expect sig_stats 0 "$MEMGC" stats "$pid" && mg_pass "collect_signal: still answering after more signals" ||
	mg_fail "collect_signal: no answer"
ctl_stop sig

# collect_signal without the socket: the thread serves the signal alone
# (the target writes its .stats file into the directory: make it first)
mkdir -p "$MG_TMP/sig2"
env MEMGC_OPTIONS="collect_signal=12" LD_PRELOAD="$MEMGC_LIB" "$TARGET" "$MG_TMP/sig2" \
	</dev/null >/dev/null 2>"$MG_TMP/sig2.err" &
pid=$!
i=0
while ! test -f "$MG_TMP/sig2/$pid.stats" && test $i -lt 500; do sleep 0.01; i=$((i + 1)); done
kill -USR2 "$pid"
i=0
while ! grep -q "collect_signal" "$MG_TMP/sig2.err" && test $i -lt 500; do sleep 0.01; i=$((i + 1)); done
touch "$MG_TMP/sig2/quit"
wait "$pid"
rc=$?
if test "$rc" = 0 && grep -q '^memgc: collect_signal: ' "$MG_TMP/sig2.err" &&
   test ! -e "$CTL_DIR/$pid.sock"; then
	mg_pass "collect_signal=12 with control=0: collected on SIGUSR2, no socket, status 0"
else
	mg_fail "collect_signal=12 with control=0: status $rc, stderr '$(cat "$MG_TMP/sig2.err")'"
fi

# bad values: one line each, and the program runs on
for bad in 9 11 32 39; do
	case $bad in
	9) why="it cannot be caught" ;;
	11) why="it reports a fault" ;;
	32) why="glibc keeps it for itself" ;;
	39) why="it is stop_signal" ;;
	esac
	want="memgc: collect_signal=$bad: $why; accepted: 0 (none) or a signal a program may catch, such as 10 (SIGUSR1) or 12 (SIGUSR2); no collect signal"
	env MEMGC_OPTIONS="collect_signal=$bad" LD_PRELOAD="$MEMGC_LIB" /bin/echo ran \
		>"$MG_TMP/bad$bad.out" 2>"$MG_TMP/bad$bad.err"
	rc=$?
	if test "$rc" = 0 && test "$(cat "$MG_TMP/bad$bad.out")" = ran &&
	   test "$(cat "$MG_TMP/bad$bad.err")" = "$want"; then
		mg_pass "collect_signal=$bad: $why"
	else
		mg_fail "collect_signal=$bad: status $rc, stderr '$(cat "$MG_TMP/bad$bad.err")'"
	fi
done
mg_finish

# refused.sh: another user is kept out.  As nobody the directory (mode
# 0700) cannot even be looked into: 77.  As nobody holding
# CAP_DAC_OVERRIDE (which passes the directory's mode), the connection is
# made and the process itself refuses it after SO_PEERCRED: a one-line JSON
# refusal, 77, and one line on the process's stderr.  Needs root and
# setpriv; skipped (77) otherwise.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
. "$MEMGC_SRCDIR/tests/control/ctl.sh"
mg_init
ctl_init
test "$(id -u)" = 0 || { echo "SKIP: not root"; exit 77; }
mg_need setpriv
as_nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups"
$as_nobody test -x "$MEMGC" || { echo "SKIP: nobody cannot run $MEMGC"; exit 77; }
nobody=$(id -u nobody)

ctl_start r
pid=$CTL_PID

expect nobody 77 $as_nobody "$MEMGC" stats "$pid" &&
	expect_err nobody "memgc stats: permission denied: cannot look into $CTL_DIR for the control socket of process $pid (target), which belongs to uid 0; run as that user or root"
test ! -s "$MG_TMP/r.err" && mg_pass "nobody: nothing reached the process" ||
	mg_fail "nobody: the process logged '$(cat "$MG_TMP/r.err")'"

caps="--inh-caps=+dac_override --ambient-caps=+dac_override"
expect peercred 77 $as_nobody $caps "$MEMGC" collect "$pid" &&
	expect_err peercred "memgc collect: process $pid refused the connection: permission denied: uid $nobody may not control process $pid, only uid 0 and root may"
want="memgc: control: refused a connection from uid $nobody \\(pid [0-9]+\\) on $CTL_DIR/$pid.sock: only uid 0 and root may control this process"
if test "$(wc -l <"$MG_TMP/r.err")" = 1 && grep -Eqx "$want" "$MG_TMP/r.err"; then
	mg_pass "peercred: the process logged: $(cat "$MG_TMP/r.err")"
else
	mg_fail "peercred: the process's stderr: '$(cat "$MG_TMP/r.err")'"
fi

# the refusal, raw: one JSON line, then the connection is closed
$as_nobody $caps "$PYTHON3" -c 'import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.sendall(b"{\"memgc\": 1, \"cmd\": \"collect\"}\n")
except (BrokenPipeError, ConnectionResetError):
    pass       # refused before it read a byte: the refusal is there to read
data = b""
while True:
    try:
        d = s.recv(4096)
    except ConnectionResetError:
        break
    if not d:
        break
    data += d
lines = data.decode().splitlines()
r = json.loads(lines[0])
print(len(lines), r["memgc"], r["ok"], r["refused"])' "$CTL_DIR/$pid.sock" >"$MG_TMP/raw.out" 2>&1
test "$(cat "$MG_TMP/raw.out")" = "1 1 False True" && mg_pass "raw refusal: one line, ok false, refused true" ||
	mg_fail "raw refusal: $(cat "$MG_TMP/raw.out")"

# root is let in, and the process is untouched by the refusals
expect root 0 "$MEMGC" stats "$pid" --json &&
	test "$(json_get root 'r["heap"]["live_objects"]')" = "$(ctl_field r "$pid" live_objects)" &&
	mg_pass "root: answered, the same live objects" || mg_fail "root: $(cat "$MG_TMP/root.out")"
ctl_stop r
mg_finish

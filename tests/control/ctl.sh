# ctl.sh: what the control tests share; sourced by each tests/control/*.sh
# after tests/integration/lib.sh (mg_init, mg_pass, mg_fail, mg_finish).
#
#   ctl_init                 $MEMGC (the command), $TARGET (target.c), and
#                            $CTL_DIR, the control_dir every process of the
#                            test uses (made by memgc itself, mode 0700);
#                            MEMGC_OPTIONS=control_dir=$CTL_DIR is exported
#                            for the command, which reads it when it cannot
#                            read a process's environment
#   ctl_start NAME ARGS...   starts target under the preload with control=1
#                            (and $CTL_OPTS) in $MG_TMP/NAME.d, stderr to
#                            $MG_TMP/NAME.err; waits for its .stats file
#                            and sets CTL_PID
#   ctl_stop NAME            lets it exit (the quit file) and checks status 0
#   ctl_field NAME PID KEY   a figure of the .stats file the target wrote
#   expect NAME RC CMD...    runs CMD, stdout and stderr to $MG_TMP/NAME.out
#                            and .err; fails unless its status is RC
#   expect_err NAME LINE     fails unless NAME's stderr is exactly LINE
#   json_get NAME EXPR       a Python expression over r, the JSON of NAME.out

ctl_init()
{
	MEMGC=$MEMGC_BUILDDIR/memgc
	TARGET=$MEMGC_BUILDDIR/tests/control/target
	test -x "$MEMGC" && test -x "$TARGET" || { echo "memgc or target is not built"; exit 99; }
	CTL_DIR=$MG_TMP/sockets
	MEMGC_OPTIONS=control_dir=$CTL_DIR
	export MEMGC_OPTIONS
	CTL_PIDS=
	trap 'ctl_cleanup; rm -rf "$MG_TMP"' EXIT
}

ctl_cleanup()
{
	for _p in $CTL_PIDS; do
		kill -9 "$_p" 2>/dev/null
	done
}

ctl_start()
{
	_n=$1
	shift
	mkdir -p "$MG_TMP/$_n.d"
	env MEMGC_OPTIONS="control=1:control_dir=$CTL_DIR${CTL_OPTS:+:$CTL_OPTS}" \
		LD_PRELOAD="$MEMGC_LIB" "$TARGET" "$MG_TMP/$_n.d" "$@" \
		</dev/null >"$MG_TMP/$_n.out" 2>"$MG_TMP/$_n.err" &
	CTL_PID=$!
	CTL_PIDS="$CTL_PIDS $CTL_PID"
	eval "ctl_pid_$_n=$CTL_PID"
	_i=0
	while ! test -f "$MG_TMP/$_n.d/$CTL_PID.stats"; do
		_i=$((_i + 1))
		if test $_i -gt 1000 || ! kill -0 "$CTL_PID" 2>/dev/null; then
			mg_fail "$_n: target did not start (stderr: $(head -c 300 "$MG_TMP/$_n.err"))"
			mg_finish
		fi
		sleep 0.01
	done
}

ctl_stop()
{
	eval "_p=\$ctl_pid_$1"
	touch "$MG_TMP/$1.d/quit"
	wait "$_p"
	_rc=$?
	test "$_rc" = 0 || mg_fail "$1: target exited with status $_rc (stderr: $(head -c 300 "$MG_TMP/$1.err"))"
}

ctl_field()
{
	awk -v k="$3" '{ for (i = 1; i < NF; i++) if ($i == k)
		print (k == "count" ? $(i + 1) " " $(i + 2) " " $(i + 3) : $(i + 1)) }' \
		"$MG_TMP/$1.d/$2.stats"
}

expect()
{
	_n=$1 _want=$2
	shift 2
	"$@" >"$MG_TMP/$_n.out" 2>"$MG_TMP/$_n.err"
	_rc=$?
	if test "$_rc" = "$_want"; then
		return 0
	fi
	mg_fail "$_n: exit status $_rc, want $_want; stderr: $(head -c 400 "$MG_TMP/$_n.err")"
	return 1
}

expect_err()
{
	if test "$(cat "$MG_TMP/$1.err")" = "$2"; then
		mg_pass "$1: $2"
	else
		mg_fail "$1: stderr is '$(cat "$MG_TMP/$1.err")', want '$2'"
	fi
}

json_get()
{
	"$PYTHON3" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$MG_TMP/$1.out" "$2"
}

# lib.sh: what the tests of the memgc command share; sourced by each
# tests/cli/*.sh.  Builds on tests/integration/lib.sh (mg_init, mg_fail,
# mg_pass, mg_need, mg_finish) and adds:
#   cl_init                 mg_init, then $MEMGC (the built command), $FIG
#                           (the test program tests/cli/figures) and $T
#                           (a scratch directory, removed at exit)
#   cl_run NAME RC CMD...   runs CMD with stdout in $T/NAME.out and stderr in
#                           $T/NAME.err, and records a failure unless its
#                           exit status is RC; returns 0 when it is
#   cl_has NAME out|err RE  that output of run NAME has a line matching the
#                           extended regular expression RE, else a failure
#   cl_lines NAME out|err N that output of run NAME has exactly N lines
#   cl_py NAME ARGS...      runs python3 ARGS (a check that prints its
#                           problems and exits non-zero), recorded as NAME
. "$MEMGC_SRCDIR/tests/integration/lib.sh"

cl_init()
{
	mg_init
	MEMGC=$MEMGC_BUILDDIR/memgc
	FIG=$MEMGC_BUILDDIR/tests/cli/figures
	T=$MG_TMP
	for f in "$MEMGC" "$FIG"; do
		test -x "$f" || { echo "$f is not built" >&2; exit 99; }
	done
	unset PYTHONMALLOC
}

cl_run()
{
	_n=$1 _want=$2
	shift 2
	"$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	_rc=$?
	if test "$_rc" -ne "$_want"; then
		mg_fail "$_n: exit status $_rc, want $_want: $*"
		sed 's/^/  stderr: /' "$T/$_n.err" | head -n 20
		return 1
	fi
	return 0
}

# cl_show NAME out|err: the output, for a failure message
cl_show()
{
	sed "s/^/  std$2: /" "$T/$1.$2" | head -n 20
}

cl_has()
{
	grep -Eq -- "$3" "$T/$1.$2" && return 0
	mg_fail "$1: no line of its std$2 matches: $3"
	cl_show "$1" "$2"
	return 1
}

cl_lines()
{
	test "$(wc -l <"$T/$1.$2")" -eq "$3" && return 0
	mg_fail "$1: std$2 has $(wc -l <"$T/$1.$2") lines, want $3"
	cl_show "$1" "$2"
	return 1
}

cl_py()
{
	_n=$1
	shift
	if "$PYTHON3" "$@"; then
		mg_pass "$_n"
	else
		mg_fail "$_n"
	fi
}

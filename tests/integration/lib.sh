# lib.sh: what the integration tests share; sourced by each tests/integration/*.sh.
#
# A test runs a real program twice, plain and with LD_PRELOAD="$MEMGC_LIB",
# and asserts the two runs are the same to the observer: identical stdout,
# identical exit status, and stderr identical once memgc's own lines (those
# starting "memgc: ") are removed from the preloaded run.  With no
# MEMGC_OPTIONS memgc must print nothing at all, so then the preloaded
# stderr may hold no "memgc: " line either.
#
# Interface:
#   mg_init                      checks the environment, makes $MG_TMP (removed
#                                at exit), checks that the preload takes effect
#   mg_need PROG...              skips the test (exit 77) when a program is missing
#   mg_compare NAME CMD ARGS...  runs CMD both ways and compares; a mismatch
#                                is printed with a diff and counted
#   mg_run_preloaded NAME CMD... runs CMD once under the preload, keeping its
#                                outputs in $MG_TMP/NAME.pre.{out,err,rc}
#   mg_run_plain NAME CMD...     the same without it, in $MG_TMP/NAME.plain.*
#   mg_check NAME                compares the runs NAME.plain and NAME.pre as
#                                mg_compare does (for runs that must differ
#                                in some argument, such as an output file)
#   mg_fail MSG / mg_pass MSG    records a result
#   mg_finish                    exits 0, or 1 when anything failed
# Variables read by mg_compare and mg_run_preloaded (set them per call as
# `MG_OPTS=... mg_compare ...`):
#   MG_OPTS    MEMGC_OPTIONS for the preloaded run only (default: unset)
#   MG_STDIN   file for standard input (default /dev/null)
#   MG_STDERR  "compare" (default) or "ignore": programs whose stderr has
#              timings or addresses
#   MG_BEFORE  a shell command run before each of the two runs (to reset a
#              scratch directory, so both runs start from the same state)
#   MG_TIMEOUT seconds before a run is taken to hang and killed (600)
# After mg_compare NAME, the outputs stay in $MG_TMP/NAME.{plain,pre}.{out,err,rc}.

set -u

mg_failures=0

mg_fail()
{
	echo "FAIL: $*"
	mg_failures=$((mg_failures + 1))
}

mg_pass()
{
	echo "PASS: $*"
}

mg_init()
{
	if test -z "${MEMGC_LIB:-}" || test ! -f "$MEMGC_LIB"; then
		echo "MEMGC_LIB is not set or not a file ('${MEMGC_LIB:-}'): run through make check" >&2
		exit 99
	fi
	: "${MEMGC_SRCDIR:?run through make check}" "${MEMGC_BUILDDIR:?run through make check}"
	PYTHON3=/usr/bin/python3   # Debian's, which has the test suite
	MG_TESTDIR=$MEMGC_SRCDIR/tests/integration
	MG_BINDIR=$MEMGC_BUILDDIR/tests/integration
	MG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/memgc-integ.XXXXXXXX") || exit 99
	trap 'rm -rf "$MG_TMP"' EXIT
	trap 'exit 130' INT TERM
	# A library that cannot be preloaded only earns a warning from ld.so and
	# the program runs without it: make sure it is really mapped.
	if ! LD_PRELOAD="$MEMGC_LIB" /bin/cat /proc/self/maps | grep -q 'libmemgc\.so'; then
		echo "LD_PRELOAD=$MEMGC_LIB does not load the library" >&2
		exit 99
	fi
	unset MEMGC_OPTIONS LD_PRELOAD
	export LC_ALL=C
}

mg_need()
{
	for p in "$@"; do
		if ! command -v "$p" >/dev/null 2>&1; then
			echo "SKIP: $p is not installed"
			exit 77
		fi
	done
}

# mg_exec OUTPREFIX PRELOAD CMD...: one run, outputs to OUTPREFIX.{out,err,rc}.
# A run that hangs is killed after MG_TIMEOUT seconds (status 124, or 137).
mg_exec()
{
	_p=$1 _pre=$2
	shift 2
	if test -n "${MG_BEFORE:-}"; then
		eval "$MG_BEFORE"
	fi
	if test "$_pre" = yes; then
		if test -n "${MG_OPTS+set}"; then
			set -- env MEMGC_OPTIONS="$MG_OPTS" LD_PRELOAD="$MEMGC_LIB" "$@"
		else
			set -- env LD_PRELOAD="$MEMGC_LIB" "$@"
		fi
	fi
	set -- timeout -k 10 "${MG_TIMEOUT:-600}" "$@"   # outside: not preloaded itself
	"$@" <"${MG_STDIN:-/dev/null}" >"$_p.out" 2>"$_p.err"
	echo $? >"$_p.rc"
}

mg_run_plain()
{
	_n=$1
	shift
	mg_exec "$MG_TMP/$_n.plain" no "$@"
}

mg_run_preloaded()
{
	_n=$1
	shift
	mg_exec "$MG_TMP/$_n.pre" yes "$@"
}

# Prints the first lines of a diff of two files, labelled.
mg_diff()
{
	diff -u --label "$3 without memgc" --label "$3 with memgc" "$1" "$2" | head -n 40
}

mg_compare()
{
	_n=$1
	shift
	mg_exec "$MG_TMP/$_n.plain" no "$@"
	mg_exec "$MG_TMP/$_n.pre" yes "$@"
	mg_check "$_n"
}

# mg_check NAME: compares the outputs of the runs NAME.plain and NAME.pre.
mg_check()
{
	_n=$1
	_a=$MG_TMP/$_n.plain _b=$MG_TMP/$_n.pre
	_ok=yes
	if ! cmp -s "$_a.rc" "$_b.rc"; then
		mg_fail "$_n: exit status $(cat "$_a.rc") without memgc, $(cat "$_b.rc") with it"
		_ok=no
	fi
	if ! cmp -s "$_a.out" "$_b.out"; then
		mg_fail "$_n: stdout differs"
		mg_diff "$_a.out" "$_b.out" stdout
		_ok=no
	fi
	grep -v '^memgc: ' "$_b.err" >"$_b.err.prog"
	if test -z "${MG_OPTS+set}" && grep -q '^memgc: ' "$_b.err"; then
		mg_fail "$_n: memgc printed on stderr with no MEMGC_OPTIONS:"
		grep '^memgc: ' "$_b.err" | head -n 10
		_ok=no
	fi
	if test "${MG_STDERR:-compare}" = compare && ! cmp -s "$_a.err" "$_b.err.prog"; then
		mg_fail "$_n: stderr differs (memgc's own lines left out)"
		mg_diff "$_a.err" "$_b.err.prog" stderr
		_ok=no
	fi
	if test $_ok = yes; then
		mg_pass "$_n: same stdout ($(wc -c <"$_a.out") bytes), stderr and exit status ($(cat "$_a.rc"))"
		return 0
	fi
	return 1
}

mg_finish()
{
	if test "$mg_failures" -ne 0; then
		echo "$mg_failures check(s) failed"
		exit 1
	fi
	exit 0
}

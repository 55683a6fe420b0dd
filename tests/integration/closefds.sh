# closefds.sh: a program that closes every descriptor at start and then
# gets descriptors 0, 1 and 2 for its own files runs the same with and
# without memgc: the same files, the same status (memgc writes nothing to
# "standard error", which is now the program's file); also when memgc
# writes its exit reports (parent and child) to files of its own.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
prog=$MG_BINDIR/closefds
cd "$MG_TMP" || exit 99

# run NAME: the program with and without memgc, each in its own directory
run()
{
	mkdir "$1.plain.d" "$1.pre.d"
	mg_run_plain "$1" "$prog" "$MG_TMP/$1.plain.d"
	mg_run_preloaded "$1" "$prog" "$MG_TMP/$1.pre.d"
	mg_check "$1"
	if diff -r "$1.plain.d" "$1.pre.d" >/dev/null && test -s "$1.plain.d/out0" &&
	   test -s "$1.plain.d/out2"; then
		mg_pass "$1: the same three files"
	else
		mg_fail "$1: the files differ (or are empty):"
		head -n 5 "$1".*.d/*
	fi
	test "$(cat "$1.plain.rc")" = 3 || mg_fail "$1: exit status $(cat "$1.plain.rc"), want 3"
}

run closefds
mkdir rep
MG_OPTS="report=$MG_TMP/rep/%p.json" run closefds-report
n=$(ls rep | wc -l)
if test "$n" = 2 && "$PYTHON3" -c '
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/*.json"):
    json.load(open(f))' "$MG_TMP/rep"; then
	mg_pass "closefds-report: two reports (parent and child) that parse"
else
	mg_fail "closefds-report: $n reports"
fi
mg_finish

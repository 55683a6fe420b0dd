# programs.sh: real programs behave the same under frequent automatic
# collections, in mode=account and in mode=reclaim, where a false
# unreachable object would be freed under the program's feet: python3 with
# every object through malloc (containers, cycles, threads, a subprocess),
# perl, sqlite3, git, the C++ program with threads, and in mode=reclaim
# part of CPython's own regression suite (the tests issue 2 names; its
# subprocesses vfork and exec: vfork.sh).  threshold0=100: a collection
# every 100 net allocations at most.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
it=$MEMGC_SRCDIR/tests/integration
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 PERL_HASH_SEED=0 HOME="$MG_TMP"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_DATE='2024-01-02T03:04:05Z' GIT_COMMITTER_DATE='2024-01-02T03:04:05Z'
unset PYTHONPATH PYTHONSTARTUP PERL5OPT PERL5LIB GIT_DIR GIT_WORK_TREE
cd "$MG_TMP" || exit 99
cat >git.sh <<'SH'
set -e
rm -rf repo && mkdir repo && cd repo
g() { git -c user.name=memgc -c user.email=memgc@example.invalid -c gc.auto=0 \
	-c init.defaultBranch=main "$@"; }
g init -q
for i in $(seq 0 199); do mkdir -p "d$((i % 10))"; seq $i $((i * 7 + 50)) >"d$((i % 10))/f$i.txt"; done
g add -A && g commit -q -m one && g log --stat --format=%s | tail -3 && g fsck --strict 2>&1 | tail -1
SH
for mode in account reclaim; do
	opts="mode=$mode:threshold0=100"
	PYTHONMALLOC=malloc MG_OPTS=$opts mg_compare "python-$mode" "$PYTHON3" -s "$it/python_prog.py"
	command -v perl >/dev/null && MG_OPTS=$opts mg_compare "perl-$mode" perl "$it/perl_prog.pl"
	command -v sqlite3 >/dev/null && MG_STDIN=$it/sqlite.sql MG_OPTS=$opts \
		mg_compare "sqlite-$mode" sqlite3 -batch :memory:
	command -v git >/dev/null && MG_OPTS=$opts mg_compare "git-$mode" sh git.sh
	MG_OPTS=$opts mg_compare "cxx-$mode" "$MEMGC_BUILDDIR/tests/integration/cxx_threads"
done
# CPython's regression tests, every object through malloc, in mode=reclaim:
# the same report, once the clock, the load average, the total duration and
# the note regrtest adds after a test that passed in 30 s or more (which
# memgc's collections may make it take, on a loaded machine) are taken out
if "$PYTHON3" -c 'import test.regrtest' 2>/dev/null; then
	tests="test_list test_dict test_set test_gc test_threading test_json"
	PYTHONMALLOC=malloc mg_run_plain regrtest "$PYTHON3" -m test $tests
	PYTHONMALLOC=malloc MG_OPTS=mode=reclaim:threshold0=100 mg_run_preloaded regrtest \
		"$PYTHON3" -m test $tests
	for f in regrtest.plain.out regrtest.pre.out; do
		sed -E -e 's/^[0-9]+:[0-9]{2}:[0-9]{2} (load avg: [0-9.]+ )?//' \
			-e 's/ -- [a-z_0-9.]+ passed in .*$//' \
			-e '/^Total duration: /d' "$f" >"$f.n" && mv "$f.n" "$f"
	done
	MG_OPTS=mode=reclaim mg_check regrtest
else
	echo "SKIP: CPython's regression tests (libpython3.11-testsuite) are not installed"
fi
# a process whose last thread is not its main one ends as without memgc
MG_TIMEOUT=60 mg_compare lastthread "$PYTHON3" -s "$MEMGC_SRCDIR/tests/collect/lastthread.py"
mg_finish

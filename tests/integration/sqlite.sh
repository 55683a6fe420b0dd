# sqlite.sh: the sqlite3 shell running sqlite.sql (10^5 rows from a recursive
# CTE, indexes, aggregates, joins, VACUUM) gives the same output with and
# without memgc, on a database file and in memory.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
mg_need sqlite3
cd "$MG_TMP" || exit 99
export HOME="$MG_TMP"   # no ~/.sqliterc
MG_STDIN=$MG_TESTDIR/sqlite.sql MG_BEFORE='rm -f t.db t.db-wal t.db-shm' \
	mg_compare sqlite-file sqlite3 -batch t.db
MG_STDIN=$MG_TESTDIR/sqlite.sql mg_compare sqlite-memory sqlite3 -batch :memory:
grep -qx ok sqlite-file.plain.out || mg_fail "sqlite-file: the script did not run to its end"
mg_finish

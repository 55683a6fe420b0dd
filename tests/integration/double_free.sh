# double_free.sh: a double free under memgc aborts (SIGABRT) after exactly
# one line that names the allocating function; with on_error=warn the
# program carries on, nothing is freed twice, and it exits 0.  The same for
# frees of pointers into an object (aligned or not), and frees and reallocs
# of memory memgc did not hand out.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
prog=$MG_BINDIR/misuse
hex='0x[0-9a-f]+'
site="[A-Za-z_][A-Za-z0-9_.]*\\+$hex \\([^ ]+\\+$hex\\)"

# expect NAME REGEX COUNT: COUNT lines of NAME's stderr match REGEX
expect()
{
	_c=$(grep -cE "$2" "$MG_TMP/$1.pre.err")
	if test "$_c" = "$3"; then
		mg_pass "$1: $3 line(s) like /$2/"
	else
		mg_fail "$1: $_c line(s) like /$2/, want $3; stderr:"
		cat "$MG_TMP/$1.pre.err"
	fi
}

# expect_status NAME STATUS
expect_status()
{
	if test "$(cat "$MG_TMP/$1.pre.rc")" = "$2"; then
		mg_pass "$1: exit status $2"
	else
		mg_fail "$1: exit status $(cat "$MG_TMP/$1.pre.rc"), want $2"
	fi
}

dfree="^memgc: free\\($hex\\): double free: the object was allocated at alloc_here\\+$hex \\([^ ]*misuse\\+$hex\\) and is already freed; called from double_free\\+$hex \\([^ ]*misuse\\+$hex\\)\$"
abort_line='^memgc: aborting \(MEMGC_OPTIONS=on_error=warn reports and carries on\)$'

mg_run_preloaded dfree-abort "$prog" double-free
expect_status dfree-abort 134          # 128 + SIGABRT, from the shell
expect dfree-abort "$dfree" 1
expect dfree-abort '^memgc: free\(' 1
expect dfree-abort "$abort_line" 1
grep -qx 'freeing twice' "$MG_TMP/dfree-abort.pre.out" || mg_fail "dfree-abort: stdout lost"

MG_OPTS=on_error=warn mg_run_preloaded dfree-warn "$prog" double-free
expect_status dfree-warn 0
expect dfree-warn "$dfree" 1
expect dfree-warn '^memgc: ' 1
printf 'freeing twice\nafter the double free: distinct blocks\ncounts ok\n' >"$MG_TMP/want"
cmp -s "$MG_TMP/want" "$MG_TMP/dfree-warn.pre.out" ||
	{ mg_fail "dfree-warn: stdout:"; cat "$MG_TMP/dfree-warn.pre.out"; }

inside="^memgc: free\\($hex\\): invalid pointer: %d bytes into the object at $hex allocated at alloc_here\\+$hex \\([^ ]*misuse\\+$hex\\); called from invalid_free\\+$hex"
mg_run_preloaded ifree-abort "$prog" invalid-free
expect_status ifree-abort 134
expect ifree-abort "$(printf "$inside" 32)" 1
expect ifree-abort '^memgc: ' 2          # the error and "aborting"

MG_OPTS=on_error=warn mg_run_preloaded ifree-warn "$prog" invalid-free
expect_status ifree-warn 0
expect ifree-warn "$(printf "$inside" 32)" 1
expect ifree-warn "$(printf "$inside" 3)" 1
expect ifree-warn "^memgc: realloc\\($hex\\): not a pointer memgc handed out; returning NULL\$" 1
expect ifree-warn '^memgc: ' 3           # the foreign free is passed over quietly
printf 'freeing inside an object\nrealloc of foreign memory: NULL, ENOMEM\ncounts ok\n' >"$MG_TMP/want"
cmp -s "$MG_TMP/want" "$MG_TMP/ifree-warn.pre.out" ||
	{ mg_fail "ifree-warn: stdout:"; cat "$MG_TMP/ifree-warn.pre.out"; }
mg_finish

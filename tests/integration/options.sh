# options.sh: MEMGC_OPTIONS with an unknown key or a bad value costs one
# line on stderr and changes nothing else; help=1 prints the option table.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init

one_line()
{
	# one_line NAME PREFIX: NAME's stderr under memgc is one memgc line, PREFIX...
	_m=$(grep -c '^memgc: ' "$MG_TMP/$1.pre.err")
	if test "$_m" = 1 && grep -q "^$2" "$MG_TMP/$1.pre.err"; then
		mg_pass "$1: $(grep '^memgc: ' "$MG_TMP/$1.pre.err" | cut -c1-100)..."
	else
		mg_fail "$1: want one line starting '$2'; stderr:"
		cat "$MG_TMP/$1.pre.err"
	fi
}

for prog in "$MG_BINDIR/misuse leak" "$PYTHON3 -c print(sum(range(1000000)))"; do
	name=${prog##*/}
	name=${name%% *}
	MG_OPTS=no_such_key=1 mg_compare "opt-unknown-$name" $prog
	one_line "opt-unknown-$name" "memgc: MEMGC_OPTIONS: unknown option 'no_such_key'"
	MG_OPTS=on_error=maybe mg_compare "opt-badvalue-$name" $prog
	one_line "opt-badvalue-$name" "memgc: MEMGC_OPTIONS: bad value 'maybe' for on_error"
	MG_OPTS='report_top=5:stack_depth=99999' mg_compare "opt-range-$name" $prog
	one_line "opt-range-$name" "memgc: MEMGC_OPTIONS: bad value '99999' for stack_depth"
	MG_OPTS=bogus mg_compare "opt-noequals-$name" $prog
	one_line "opt-noequals-$name" "memgc: MEMGC_OPTIONS: 'bogus' has no '='"
done

# help=1: the table on stderr, the program unchanged
MG_STDERR=ignore MG_OPTS=help=1 mg_compare opt-help "$MG_BINDIR/misuse" leak
err=$MG_TMP/opt-help.pre.err
missing=
for o in help summary report report_top stack_depth max_sites on_error threshold0 \
	threshold1 threshold2 large_release heap_reserve arenas; do
	grep -qE "^  $o +[^ ]" "$err" || missing="$missing $o"
done
if grep -q '^memgc options' "$err" && test -z "$missing"; then
	mg_pass "opt-help: the table lists every option"
else
	mg_fail "opt-help: missing:$missing; stderr:"
	cat "$err"
fi
mg_finish

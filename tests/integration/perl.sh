# perl.sh: perl building hashes, arrays and regex matches (perl_prog.pl) is
# the same with and without memgc.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
mg_need perl
unset PERL5OPT PERL5LIB
export PERL_HASH_SEED=0
mg_compare perl perl "$MG_TESTDIR/perl_prog.pl"
mg_finish

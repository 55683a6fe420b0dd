# gcc.sh: gcc (cc1, as, collect2 and ld all preloaded, as LD_PRELOAD is
# inherited) compiles gcc_prog.c to the same binary with and without memgc,
# and that binary runs the same with and without it.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
mg_need gcc
unset GCC_EXEC_PREFIX COMPILER_PATH LIBRARY_PATH CPATH C_INCLUDE_PATH
cd "$MG_TMP" || exit 99
cp "$MG_TESTDIR/gcc_prog.c" prog.c
cc="gcc -O2 -Wall -Wextra -frandom-seed=memgc prog.c"

mg_run_plain gcc-compile $cc -o prog.plain
mg_run_preloaded gcc-compile $cc -o prog.pre
mg_check gcc-compile
if test -s prog.plain && cmp prog.plain prog.pre; then
	mg_pass "gcc-compile: the same binary ($(wc -c <prog.plain) bytes)"
else
	mg_fail "gcc-compile: the binaries differ, or there is none"
fi
# and gcc -S: the assembly text
mg_compare gcc-asm gcc -O2 -frandom-seed=memgc -S -o - prog.c

mg_compare gcc-run ./prog.pre
if test "$(cat gcc-run.plain.rc)" != 7 || ! grep -q '^min ' gcc-run.plain.out; then
	mg_fail "gcc-run: the program did not run as written (status $(cat gcc-run.plain.rc))"
fi
mg_finish

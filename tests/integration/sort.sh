# sort.sh: GNU sort on a 50 MB file made here (deterministically) gives the
# same bytes with and without memgc: lexical with its threads, numeric on a
# key, and unique.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
mg_need sort awk sha256sum
in=$MG_TMP/in.txt
# a 32-bit LCG: ~1.1 million lines of ~46 bytes
awk 'BEGIN {
	x = 12345
	while (n < 50000000) {
		x = (x * 1103515245 + 12345) % 2147483648
		y = (x * 69069 + 1) % 4294967296
		line = sprintf("%08x %d w%s %x", x, y % 100000, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, x % 17 + 1), n)
		print line
		n += length(line) + 1
	}
}' >"$in"
size=$(wc -c <"$in")
test "$size" -ge 50000000 || { echo "made only $size bytes"; exit 99; }
echo "input: $size bytes, $(wc -l <"$in") lines, sha256 $(sha256sum <"$in" | cut -c1-16)"

mg_compare sort-lexical sort --parallel=2 -S 64M -T "$MG_TMP" "$in"
mg_compare sort-numeric-key sort -S 16M -T "$MG_TMP" -t ' ' -k2,2n -k1,1r "$in"
mg_compare sort-unique sort -u -T "$MG_TMP" -k3,3 "$in"
for n in sort-lexical sort-numeric-key sort-unique; do
	echo "$n: $(wc -l <"$MG_TMP/$n.pre.out") lines, sha256 $(sha256sum <"$MG_TMP/$n.pre.out" | cut -c1-16)"
done
# the output is really sorted (so the comparison is not of two empty files)
sort -c "$MG_TMP/sort-lexical.plain.out" && test -s "$MG_TMP/sort-lexical.plain.out" ||
	mg_fail "sort-lexical: the plain output is not sorted"
mg_finish

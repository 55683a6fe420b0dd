#!/bin/sh
# lint.sh: every manual page is clean under `mandoc -Tlint -W warning`.
# Exit 0 when they all are, 1 with mandoc's messages, 77 without mandoc.
set -u
: "${MEMGC_SRCDIR:?}"
mandoc=${MANDOC:-mandoc}
command -v "$mandoc" >/dev/null 2>&1 || { echo "lint.sh: no mandoc: skipped"; exit 77; }

status=0 n=0
for page in "$MEMGC_SRCDIR"/man/*.[1-9]; do
	[ -f "$page" ] || continue
	n=$((n + 1))
	out=$("$mandoc" -Tlint -W warning "$page" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
		printf '%s\n' "$out"
		echo "FAIL: $page (mandoc exit $rc)"
		status=1
	fi
done
[ "$n" -gt 0 ] || { echo "FAIL: no manual pages in $MEMGC_SRCDIR/man"; exit 1; }
echo "lint.sh: $n pages checked"
exit $status

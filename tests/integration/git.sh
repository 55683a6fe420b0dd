# git.sh: git init, add, commit (twice), repack and reads in a scratch
# repository give the same results with and without memgc: the same commit
# ids (the dates are fixed), log, trees and file contents.
. "$MEMGC_SRCDIR/tests/integration/lib.sh"
mg_init
mg_need git
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 HOME="$MG_TMP"
export GIT_AUTHOR_DATE='2024-01-02T03:04:05Z' GIT_COMMITTER_DATE='2024-01-02T03:04:05Z'
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY
cat >"$MG_TMP/script.sh" <<'SH'
set -e
rm -rf repo
mkdir repo
cd repo
g() { git -c user.name=memgc -c user.email=memgc@example.invalid -c gc.auto=0 \
	-c init.defaultBranch=main "$@"; }
g init -q
i=0
while test $i -lt 300; do
	mkdir -p "d$((i % 10))"
	seq $i $((i * 7 + 50)) >"d$((i % 10))/f$i.txt"
	i=$((i + 1))
done
g add .
g commit -q -m "first: 300 files"
seq 1 20000 | sed 's/$/ line/' >d3/big.txt
rm d5/f5.txt
g add -A
g commit -q -m "second: one big, one gone"
g log --format=%s
g cat-file -p 'HEAD^{tree}'
g cat-file -p 'HEAD:d3' | tail -n 3
g rev-parse HEAD 'HEAD^'
g diff --stat 'HEAD^' HEAD
g repack -adq
g cat-file -p 'HEAD:d3/big.txt' | sha256sum
g log --format='%H %s' --name-status | tail -n 5
g fsck --no-progress
g status --porcelain
SH
cd "$MG_TMP" || exit 99
mg_compare git sh script.sh
grep -q '^second: one big, one gone$' git.plain.out || mg_fail "git: the commits were not made"
mg_finish

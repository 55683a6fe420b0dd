#!/bin/sh
# setup.sh: install what memgc needs to build, test and benchmark on
# Debian 12 (run as root, or with sudo).  Safe to run again.  chromium is
# for tests/cli/svg.sh, which renders memgc report --svg's chart.
set -e
PKGS="build-essential autoconf automake libtool pkg-config mandoc \
libjemalloc-dev libunwind-dev libcriterion-dev \
python3 libpython3.11-testsuite sqlite3 perl git g++ clang \
liblsan0 heaptrack libgc-dev valgrind chromium"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "setup: all packages present"

#!/usr/bin/env bash
# The Debian package: built with dpkg-buildpackage (tools/build-deb.sh),
# checked by lintian (no errors), its contents listed, then extracted with
# dpkg-deb -x and the packaged binary run on a scratch root; the packaged
# completion and Ansible collection are exercised too.
#   bash tests/deb.sh
# Exit 0 passed, 1 failed, 77 the Debian tools are missing (K3H_REQUIRE_DEB=1: a failure).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
pass=0 fail=0 n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | head -20 | sed 's/^/#   /'; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
cond() { eval "$1"; }
for t in dpkg-buildpackage dpkg-deb dpkg-parsechangelog lintian dh; do
	if ! command -v "$t" >/dev/null; then
		echo "# SKIP $t not found (apt-get install dpkg-dev debhelper lintian)"
		[ "${K3H_REQUIRE_DEB:-}" = 1 ] && exit 1
		exit 77
	fi
done
T=$(mktemp -d /tmp/k3h-debt.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP

version=$(cd "$top" && dpkg-parsechangelog -S Version)
if ! sh "$top/tools/build-deb.sh" "$T/out" >"$T/build.out" 2>&1; then
	not_ok "dpkg-buildpackage -us -uc -b" "$(tail -20 "$T/build.out")"
	echo "$pass passed, $fail failed"
	exit 1
fi
deb=$(ls "$T"/out/k3s-harden_*.deb)
ok "dpkg-buildpackage -us -uc -b builds $(basename "$deb")"
check "the package's version is debian/changelog's ($version)" [ "$(dpkg-deb -f "$deb" Version)" = "$version" ]

lintian --info --display-info "$T"/out/*.changes >"$T/lintian.out" 2>&1
lrc=$?
sed 's/^/# lintian: /' "$T/lintian.out"
# lintian exits non-zero on an error tag (its default --fail-on error) or when it cannot run
check "lintian: no errors (exit $lrc)" cond '[ $lrc = 0 ] && ! grep -q "^E: " "$T/lintian.out"'

dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|' >"$T/list"
coll=/usr/share/ansible/collections/ansible_collections/k3s_harden/hardening
for f in /usr/sbin/k3s-harden /usr/share/man/man8/k3s-harden.8.gz /usr/share/bash-completion/completions/k3s-harden \
	/usr/share/doc/k3s-harden/copyright /usr/share/doc/k3s-harden/changelog.gz \
	$coll/galaxy.yml $coll/meta/runtime.yml $coll/plugins/modules/k3s_harden.py $coll/roles/harden/tasks/main.yml \
	$coll/playbooks/rollout.yml; do
	check "the package holds $f" grep -qxF "$f" "$T/list"
done
deps=$(dpkg-deb -f "$deb" Depends)
check "Depends comes from shlibs (libc, libyaml, libcyaml, libsystemd): $deps" \
	cond 'for l in libc6 libyaml-0-2 libcyaml libsystemd0; do case $deps in *$l*) ;; *) exit 1 ;; esac; done'

dpkg-deb -x "$deb" "$T/x"
kb=$T/x/usr/sbin/k3s-harden
check "the packaged binary is executable" [ -x "$kb" ]
check "k3s-harden --version agrees with debian/changelog" [ "$("$kb" --version)" = "k3s-harden $version" ]
check "the packaged collection's galaxy.yml version agrees with debian/changelog" \
	[ "$(sed -n 's/^version: *//p' "$T/x$coll/galaxy.yml")" = "$version" ]
mkdir -p "$T/scratch/etc/rancher/k3s"
printf 'token: secret\n' >"$T/scratch/etc/rancher/k3s/config.yaml"
"$kb" --root "$T/scratch" --output json apply >"$T/apply.json" 2>"$T/apply.err"
check "packaged binary: apply on a scratch root exits 0" [ $? = 0 ]
check "packaged binary: the JSON says changed, generation 000001" \
	cond 'grep -q "\"changed\":true" "$T/apply.json" && grep -q "\"generation\":\"000001\"" "$T/apply.json"'
check "packaged binary: the hardened files are there, the user's token kept" \
	cond '[ -f "$T/scratch/var/lib/rancher/k3s/server/psa.yaml" ] && grep -q "^token: secret" "$T/scratch/etc/rancher/k3s/config.yaml"'
"$kb" -q --root "$T/scratch" diff >/dev/null 2>&1
check "packaged binary: diff after apply exits 0 (nothing left)" [ $? = 0 ]

if K3H_BIN=$kb bash "$here/completion.sh" "$T/x/usr/share/bash-completion/completions/k3s-harden" >"$T/comp.out" 2>&1; then
	ok "the packaged completion passes tests/completion.sh with the packaged binary ($(tail -1 "$T/comp.out"))"
else
	not_ok "the packaged completion passes tests/completion.sh" "$(grep -v '^ok' "$T/comp.out")"
fi

if command -v ansible-doc >/dev/null; then
	mkdir -p "$T/ah"
	HOME=$T/ah ANSIBLE_HOME=$T/ah ANSIBLE_LOCAL_TEMP=$T/ah/tmp ANSIBLE_COLLECTIONS_PATH=$T/x/usr/share/ansible/collections \
		ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false ansible-doc k3s_harden.hardening.k3s_harden >"$T/doc.out" 2>&1
	check "ansible-doc reads the packaged collection" grep -q 'fail_on_noncompliance' "$T/doc.out"
else
	echo "# SKIP ansible-doc not found: packaged collection not read"
fi
if command -v man >/dev/null; then
	MANWIDTH=80 man -l "$T/x/usr/share/man/man8/k3s-harden.8.gz" 2>/dev/null >"$T/man.out"
	check "the packaged man page renders" grep -q 'k3s-harden' "$T/man.out"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

# shellcheck shell=bash
# Shared by the Ansible tests: a private Ansible environment under $T (no
# writes to ~/.ansible, no installed copy of the collection), the collection
# from ansible/ copied into $T, and the binary under test first on PATH.
#   T=$(mktemp -d); . tests/ansible/lib.sh; ans_setup "$T" "$bin"
#   ans_play INVENTORY [ARGS...]   -> rc, $T/play.out
#   ans_recap HOST                 -> "ok=N changed=N unreachable=N failed=N ..."
#   ans_count HOST KEY             -> N
ANS_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

ans_setup() {
	local t=$1 bin=$2
	mkdir -p "$t/collections/ansible_collections/k3s_harden" "$t/home" "$t/ltmp" "$t/rtmp" "$t/bin" "$t/cp"
	cp -R "$ANS_REPO/ansible" "$t/collections/ansible_collections/k3s_harden/hardening" || return 1
	cp "$bin" "$t/bin/k3s-harden" || return 1
	cat >"$t/ansible.cfg" <<-CFG
		[defaults]
		collections_path = $t/collections
		collections_scan_sys_path = false
		local_tmp = $t/ltmp
		remote_tmp = $t/rtmp
		retry_files_enabled = false
		nocolor = true
		interpreter_python = /usr/bin/python3
		gathering = explicit
		stdout_callback = default
		deprecation_warnings = false
		host_key_checking = false
		[persistent_connection]
		control_path_dir = $t/cp
	CFG
	export ANSIBLE_CONFIG=$t/ansible.cfg ANSIBLE_HOME=$t/home ANSIBLE_LOCAL_TEMP=$t/ltmp \
		ANSIBLE_REMOTE_TEMP=$t/rtmp ANSIBLE_COLLECTIONS_PATH=$t/collections \
		ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
		ANSIBLE_RETRY_FILES_ENABLED=false ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
		ANSIBLE_PERSISTENT_CONTROL_PATH_DIR=$t/cp ANSIBLE_SSH_CONTROL_PATH_DIR=$t/cp \
		HOME=$t/home PATH=$t/bin:$PATH LC_ALL=C.UTF-8
	unset ANSIBLE_STDOUT_CALLBACK ANSIBLE_INVENTORY DISPLAY
	ANS_T=$t
}

# No terminal: a new session without a controlling tty, stdin from /dev/null.
ans_play() {
	local inv=$1
	shift
	setsid -w ansible-playbook -i "$inv" "$@" </dev/null >"$ANS_T/play.out" 2>&1
	rc=$?
}

ans_recap() { sed -n "s/^$1 *: //p" "$ANS_T/play.out" | tail -1; }
ans_count() { ans_recap "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# A digest of everything under a root: paths, modes, contents.
tree_sum() {
	(cd "$1" && find . -printf '%m %y %p\n' | sort && find . -type f -exec sha256sum {} + | sort) | sha256sum | cut -d' ' -f1
}

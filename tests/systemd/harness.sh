# shellcheck shell=bash
# shellcheck disable=SC2034 # SD_* variables are for the caller
# A private systemd for tests, driven over D-Bus from the host.
# See ../../../shared/TESTING-SYSTEMD.md for why each step is there.
#
#   . tests/systemd/harness.sh
#   T=$(mktemp -d)
#   trap 'sd_stop; rm -rf "$T"' EXIT
#   sd_start "$T" [notify|always]     # 0 ready, 77 cannot run here (skip), 1 error
#   DBUS_SYSTEM_BUS_ADDRESS=$SD_BUS_ADDRESS k3s-harden --root "$SD_ROOT" --live ...
#   sd_prop k3s.service ActiveState
#   sd_stop && sd_check_clean
#
# One instance per shell (the SD_* variables); run several in subshells or
# separate scripts. After sd_start:
#   SD_DIR          the instance directory (DIR)
#   SD_ROOT         the stand-in's K3S_ROOT (DIR/root, or $SD_K3S_ROOT if set);
#                   fake kernel values live in SD_ROOT/proc/sys
#   SD_BUS_ADDRESS  unix:path=DIR/run/dbus/system_bus_socket
#   SD_PID          systemd's PID as the host sees it
#   SD_START_MS / SD_STOP_MS   how long start and stop took
# Everything written goes under DIR; nothing touches the host's /etc, /var,
# /run or /proc/sys. DIR/console.log holds what systemd and the services print.

SD_HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SD_SYSTEMD=${SD_SYSTEMD:-/lib/systemd/systemd}
SD_START_TIMEOUT=${SD_START_TIMEOUT:-15}
SD_STOP_TIMEOUT=${SD_STOP_TIMEOUT:-5}

_sd_msg() { printf 'harness: %s\n' "$*" >&2; }

_sd_now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }

_sd_busctl() { busctl --address="$SD_BUS_ADDRESS" --timeout=10 "$@"; }

# The cgroup2 hierarchy to create the instance's cgroup in: the unified
# part of a hybrid host, or the root of a pure cgroup2 host.
_sd_cgroup_root() {
	local d
	for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
		if [ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] && [ -w "$d" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# How /proc/PID/cgroup names a directory under that mount: the mount's own
# root (not "/" when we run inside a container's cgroup) plus the name.
_sd_cgroup_rel() {
	local mnt=$1 name=$2 root
	root=$(awk -v m="$mnt" '$5 == m && $9 == "cgroup2" { print $4; exit }' /proc/self/mountinfo)
	[ "$root" = / ] && root=
	echo "$root/$name"
}

# Alive and not a zombie.
_sd_alive() {
	local s
	s=$(sed -n "s/^State:[[:space:]]*\\(.\\).*/\\1/p" "/proc/$1/status" 2>/dev/null)
	[ -n "$s" ] && [ "$s" != Z ]
}

_sd_pid_cgroup() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null; }

# True if PID is in the instance's cgroup or below it.
_sd_pid_in_cg() {
	local p
	p=$(_sd_pid_cgroup "$1") || return 1
	[ -n "$p" ] && [ -n "$SD_CG_REL" ] || return 1
	[ "$p" = "$SD_CG_REL" ] || [ "${p#"$SD_CG_REL"/}" != "$p" ]
}

_sd_cg_pids() {
	[ -d "$SD_CG" ] || return 0
	find "$SD_CG" -name cgroup.procs -exec cat {} + 2>/dev/null
}

_sd_cg_populated() {
	[ -d "$SD_CG" ] || return 1
	grep -q '^populated 1' "$SD_CG/cgroup.events" 2>/dev/null
}

# sd_build_standin OUTDIR: compile the stand-in's checker once, export
# SD_STANDIN_CHECK. sd_start calls it when SD_STANDIN_CHECK is unset.
sd_build_standin() {
	local out=$1/standin-check cflags libs
	if ! cflags=$(pkg-config --cflags yaml-0.1) || ! libs=$(pkg-config --libs yaml-0.1); then
		_sd_msg "pkg-config cannot find yaml-0.1 (install libyaml-dev)"
		return 1
	fi
	# shellcheck disable=SC2086
	if ! "${CC:-cc}" -std=c11 -D_GNU_SOURCE -O1 -o "$out" \
		"$SD_HARNESS_DIR/standin-check.c" $cflags $libs; then
		_sd_msg "cannot compile the stand-in's checker"
		return 1
	fi
	SD_STANDIN_CHECK=$out
	export SD_STANDIN_CHECK
}

# sd_fake_kernel ROOT default|k3s: the six values protect-kernel-defaults
# checks, under ROOT/proc/sys. "default" is what a stock kernel has.
sd_fake_kernel() {
	local root=$1 kind=$2 kv
	local -a vals
	if [ "$kind" = k3s ]; then
		vals=(vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1
			kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000)
	else
		vals=(vm/overcommit_memory=0 vm/panic_on_oom=0 kernel/panic=0 kernel/panic_on_oops=0
			kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000)
	fi
	mkdir -p "$root/proc/sys/vm" "$root/proc/sys/kernel/keys" || return 1
	for kv in "${vals[@]}"; do
		echo "${kv#*=}" >"$root/proc/sys/${kv%%=*}" || return 1
	done
}

# sd_fixture_hardened ROOT: what a hardened server has after a good apply
# (the files K3s needs exist, kernel values set), so the stand-in starts.
sd_fixture_hardened() {
	local root=$1 srv=$1/var/lib/rancher/k3s/server
	mkdir -p "$root/etc/rancher/k3s" "$srv/logs" && chmod 0700 "$srv/logs" || return 1
	cat >"$root/etc/rancher/k3s/config.yaml" <<-'EOF' || return 1
		# test fixture
		token: secret
		protect-kernel-defaults: true
		secrets-encryption: true
		kube-apiserver-arg:
		  - enable-admission-plugins=NodeRestriction,EventRateLimit
		  - admission-control-config-file=/var/lib/rancher/k3s/server/psa.yaml
		  - audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log
		  - audit-policy-file=/var/lib/rancher/k3s/server/audit.yaml
		kubelet-arg:
		  - streaming-connection-idle-timeout=5m
	EOF
	cat >"$srv/psa.yaml" <<-'EOF' || return 1
		apiVersion: apiserver.config.k8s.io/v1
		kind: AdmissionConfiguration
		plugins:
		- name: PodSecurity
		  configuration:
		    apiVersion: pod-security.admission.config.k8s.io/v1
		    kind: PodSecurityConfiguration
		    defaults:
		      enforce: restricted
	EOF
	cat >"$srv/audit.yaml" <<-'EOF' || return 1
		apiVersion: audit.k8s.io/v1
		kind: Policy
		rules:
		- level: Metadata
	EOF
	chmod 0600 "$root/etc/rancher/k3s/config.yaml" "$srv/psa.yaml" "$srv/audit.yaml"
	sd_fake_kernel "$root" k3s
}

_SD_VARS="SD_NAME SD_DIR SD_ROOT SD_PID SD_LAUNCH_PID SD_CG SD_CG_REL SD_BUS_ADDRESS SD_START_MS SD_VARIANT"
declare -gA _SD_SAVED=()
_SD_NAMES=

_sd_reset() {
	SD_NAME='' SD_DIR='' SD_ROOT='' SD_PID='' SD_LAUNCH_PID='' SD_CG='' SD_CG_REL=''
	SD_BUS_ADDRESS='' SD_START_MS='' SD_VARIANT=''
}

# Several instances in one shell: sd_save NAME puts the current one aside
# (and clears the SD_* variables), sd_use NAME makes a saved one current
# again, sd_stop_all stops the current and every saved one (for traps).
sd_save() {
	local v
	SD_NAME=$1
	for v in $_SD_VARS; do _SD_SAVED[$1:$v]=${!v}; done
	case " $_SD_NAMES " in *" $1 "*) ;; *) _SD_NAMES="$_SD_NAMES $1" ;; esac
	_sd_reset
}

sd_use() {
	local v
	case " $_SD_NAMES " in
	*" $1 "*) ;;
	*) _sd_msg "no saved instance '$1'"; return 1 ;;
	esac
	for v in $_SD_VARS; do printf -v "$v" %s "${_SD_SAVED[$1:$v]}"; done
	export SD_DIR SD_ROOT SD_BUS_ADDRESS SD_PID
}

_sd_forget() {
	local v n=$1 rest=
	for v in $_SD_VARS; do unset "_SD_SAVED[$n:$v]"; done
	for v in $_SD_NAMES; do [ "$v" = "$n" ] || rest="$rest $v"; done
	_SD_NAMES=$rest
}

sd_stop_all() {
	local n rc=0
	sd_stop || rc=1
	for n in $_SD_NAMES; do
		sd_use "$n" && { sd_stop || rc=1; }
	done
	return "$rc"
}

# sd_start DIR [notify|always]
sd_start() {
	local dir=${1:?usage: sd_start DIR [notify|always]} variant=${2:-notify}
	local cgroot name tool err cmd t0 deadline state unit_in
	if [ -n "${SD_CG:-}" ]; then
		_sd_msg "an instance is already current: sd_stop it or sd_save it first"
		return 1
	fi
	_sd_reset

	if [ "$(id -u)" != 0 ]; then
		_sd_msg "cannot run a test systemd: not root"
		return 77
	fi
	for tool in unshare script busctl systemd-notify mount tty pkg-config; do
		if ! command -v "$tool" >/dev/null; then
			_sd_msg "cannot run a test systemd: '$tool' not found"
			return 77
		fi
	done
	for tool in "$SD_SYSTEMD" /usr/bin/dbus-daemon; do
		if [ ! -x "$tool" ]; then
			_sd_msg "cannot run a test systemd: '$tool' not found"
			return 77
		fi
	done
	case $variant in
	notify) unit_in=k3s.service.in ;;
	always) unit_in=k3s.service.always.in ;;
	*) _sd_msg "unknown variant '$variant' (notify or always)"; return 1 ;;
	esac
	case $dir in
	/*) ;;
	*) _sd_msg "'$dir': the instance directory must be absolute"; return 1 ;;
	esac
	# The path goes into unit files and mount options unquoted.
	if [[ ! $dir =~ ^[A-Za-z0-9/._+-]+$ ]] || [ ! -d "$dir" ]; then
		_sd_msg "'$dir': not a directory with a plain name"
		return 1
	fi
	if ! cgroot=$(_sd_cgroup_root); then
		_sd_msg "cannot run a test systemd: no writable cgroup2 hierarchy"
		return 77
	fi
	if ! err=$(unshare --cgroup --pid --mount --uts --ipc --fork --mount-proc \
		--kill-child true 2>&1); then
		_sd_msg "cannot create namespaces: $err"
		return 77
	fi

	SD_ROOT=${SD_K3S_ROOT:-$dir/root}
	mkdir -p "$dir/run/systemd/system.conf.d" "$dir/run/dbus" "$dir/units" "$dir/empty" \
		"$SD_ROOT" || return 1
	chmod 0755 "$dir/run"
	if [ -z "${SD_STANDIN_CHECK:-}" ] || [ ! -x "$SD_STANDIN_CHECK" ]; then
		sd_build_standin "$dir" || return 1
	fi
	cp "$SD_HARNESS_DIR/k3s-standin.sh" "$dir/k3s-standin.sh" || return 1
	cp "$SD_HARNESS_DIR/units/k3h-test.target" "$SD_HARNESS_DIR/units/dbus.socket" \
		"$SD_HARNESS_DIR/units/dbus.service" "$dir/units/" || return 1
	sed -e "s|@ROOT@|$SD_ROOT|g" -e "s|@CHECK@|$SD_STANDIN_CHECK|g" \
		-e "s|@STANDIN@|$dir/k3s-standin.sh|g" \
		"$SD_HARNESS_DIR/units/$unit_in" >"$dir/units/k3s.service" || return 1
	# In /run so that it survives daemon-reload (command-line options do not).
	cat >"$dir/run/systemd/system.conf.d/50-k3s-harden-test.conf" <<-'EOF' || return 1
		[Manager]
		LogTarget=console
		LogColor=no
		LogTime=yes
		ShowStatus=no
		DefaultStandardOutput=tty
		DefaultStandardError=inherit
		DefaultTimeoutStopSec=3s
	EOF
	tr -d '-' </proc/sys/kernel/random/uuid >"$dir/machine-id" || return 1
	[ -d "$SD_ROOT/proc/sys" ] || sd_fake_kernel "$SD_ROOT" default || return 1
	: >"$dir/console.log"

	# Unique per instance directory, readable in ps and /sys/fs/cgroup.
	name=k3h-sd${dir//\//_}
	if [ ${#name} -gt 200 ]; then
		name=k3h-sd-$(printf %s "$dir" | cksum | tr " " -)
	fi
	SD_CG=$cgroot/$name
	SD_CG_REL=$(_sd_cgroup_rel "$cgroot" "$name")
	if [ -e "$SD_CG" ]; then
		_sd_msg "cgroup '$SD_CG' exists: is another instance running on '$dir'?"
		SD_CG=
		return 1
	fi
	if ! mkdir "$SD_CG"; then
		_sd_msg "cannot run a test systemd: cannot create cgroup '$SD_CG'"
		SD_CG=
		return 77
	fi
	SD_DIR=$dir
	SD_VARIANT=$variant
	SD_BUS_ADDRESS="unix:path=$dir/run/dbus/system_bus_socket"
	export SD_DIR SD_ROOT SD_BUS_ADDRESS

	# The launcher moves itself into the instance's cgroup first, so the new
	# cgroup namespace is rooted there; `script` gives systemd a pty for
	# /dev/console whose output lands in console.log.
	cmd="exec unshare --cgroup --pid --mount --uts --ipc --fork --mount-proc --kill-child"
	cmd="$cmd /bin/sh $(printf %q "$SD_HARNESS_DIR/sd-init.sh") $(printf %q "$dir")"
	t0=$(_sd_now_us)
	(
		echo "$BASHPID" >"$SD_CG/cgroup.procs" || exit 97
		SHELL=/bin/sh SD_SYSTEMD=$SD_SYSTEMD exec script -qfe -c "$cmd" "$dir/console.log"
	) </dev/null >"$dir/launch.log" 2>&1 &
	SD_LAUNCH_PID=$!
	# Reaped by the shell without a job notice ("Killed ...") if we kill it.
	disown "$SD_LAUNCH_PID" 2>/dev/null

	deadline=$((t0 + SD_START_TIMEOUT * 1000000))
	while :; do
		if ! _sd_alive "$SD_LAUNCH_PID"; then
			_sd_msg "systemd exited while starting; console.log:"
			tail -n 20 "$dir/console.log" >&2
			sd_stop
			return 1
		fi
		if [ -S "$dir/run/dbus/system_bus_socket" ] &&
			state=$(busctl --address="$SD_BUS_ADDRESS" --timeout=2 get-property \
				org.freedesktop.systemd1 /org/freedesktop/systemd1 \
				org.freedesktop.systemd1.Manager SystemState 2>/dev/null); then
			case $state in
			*'"running"'* | *'"degraded"'*) break ;;
			esac
		fi
		if [ "$(_sd_now_us)" -gt "$deadline" ]; then
			_sd_msg "systemd not ready after ${SD_START_TIMEOUT}s (state: ${state:-none}); console.log:"
			tail -n 20 "$dir/console.log" >&2
			sd_stop
			return 1
		fi
		sleep 0.005
	done
	SD_START_MS=$((($(_sd_now_us) - t0) / 1000))

	# systemd is the process that is PID 1 in its own namespace.
	local p ns
	for p in $(_sd_cg_pids); do
		ns=$(sed -n 's/^NSpid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)
		case $ns in
		*[[:space:]]1) SD_PID=$p; break ;;
		esac
	done
	if [ -z "$SD_PID" ]; then
		_sd_msg "systemd is ready but its PID was not found in '$SD_CG'"
		sd_stop
		return 1
	fi
	export SD_PID
	return 0
}

# sd_stop: power the instance off, kill what is left, remove its cgroup.
# Safe to call more than once and after a failed sd_start.
sd_stop() {
	[ -n "${SD_CG:-}" ] || return 0
	local t0 deadline rc=0 p
	t0=$(_sd_now_us)
	# Only a PID that is still in our cgroup is ours to signal.
	if [ -n "${SD_PID:-}" ] && _sd_pid_in_cg "$SD_PID"; then
		kill -s RTMIN+14 "$SD_PID" 2>/dev/null
	fi
	deadline=$((t0 + SD_STOP_TIMEOUT * 1000000))
	while _sd_cg_populated && [ "$(_sd_now_us)" -lt "$deadline" ]; do
		sleep 0.005
	done
	if _sd_cg_populated; then
		_sd_msg "instance still running after ${SD_STOP_TIMEOUT}s, killing it"
		rc=1
		if [ -n "${SD_PID:-}" ] && _sd_pid_in_cg "$SD_PID"; then
			kill -s KILL "$SD_PID" 2>/dev/null
		fi
		if [ -e "$SD_CG/cgroup.kill" ]; then
			echo 1 >"$SD_CG/cgroup.kill"
		else
			for p in $(_sd_cg_pids); do
				kill -s KILL "$p" 2>/dev/null
			done
		fi
		deadline=$(($(_sd_now_us) + 5000000))
		while _sd_cg_populated && [ "$(_sd_now_us)" -lt "$deadline" ]; do
			sleep 0.01
		done
	fi
	# Deepest first: a cgroup directory can only go once it has no children.
	if [ -d "$SD_CG" ] && ! find "$SD_CG" -depth -type d -exec rmdir {} + 2>/dev/null; then
		_sd_msg "cannot remove cgroup '$SD_CG'"
		rc=1
	fi
	SD_STOP_MS=$((($(_sd_now_us) - t0) / 1000))
	SD_LAST_DIR=$SD_DIR SD_LAST_CG=$SD_CG SD_LAST_CG_REL=$SD_CG_REL
	if [ -n "${SD_NAME:-}" ]; then
		_sd_forget "$SD_NAME"
		SD_NAME=
	fi
	SD_PID='' SD_LAUNCH_PID='' SD_CG='' SD_CG_REL=''
	return "$rc"
}

# sd_check_clean [DIR]: after sd_stop, assert nothing of the instance is
# left: no cgroup, no process in it, no mount of or under DIR anywhere.
sd_check_clean() {
	local dir=${1:-${SD_LAST_DIR:-}} cg=${SD_LAST_CG:-} rel=${SD_LAST_CG_REL:-} bad=0 p c
	if [ -z "$dir" ] || [ -z "$cg" ]; then
		_sd_msg "sd_check_clean: no stopped instance to check"
		return 1
	fi
	if [ -e "$cg" ]; then
		_sd_msg "cgroup '$cg' is still there"
		bad=1
	fi
	for p in /proc/[0-9]*; do
		c=$(sed -n 's/^0:://p' "$p/cgroup" 2>/dev/null) || continue
		if [ -n "$c" ] && { [ "$c" = "$rel" ] || [ "${c#"$rel"/}" != "$c" ]; }; then
			_sd_msg "process ${p#/proc/} is still in cgroup '$rel'"
			bad=1
		fi
		# A process left in the instance's mount namespace would hold its
		# mounts; the host's own table is covered by our own mountinfo.
		if grep -qsF " $dir/" "$p/mountinfo" || grep -qsF " $dir " "$p/mountinfo"; then
			_sd_msg "process ${p#/proc/} still sees a mount of '$dir'"
			bad=1
		fi
	done
	if grep -F "$dir" /proc/self/mountinfo >&2; then
		_sd_msg "'$dir' is still mounted"
		bad=1
	fi
	if [ -S "$dir/run/dbus/system_bus_socket" ] &&
		busctl --address="unix:path=$dir/run/dbus/system_bus_socket" --timeout=1 \
			status >/dev/null 2>&1; then
		_sd_msg "the instance's bus still answers"
		bad=1
	fi
	return "$bad"
}

# sd_prop UNIT PROP: the property's value, without its D-Bus type.
sd_prop() {
	local unit=$1 prop=$2 path out iface
	out=$(_sd_busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
		org.freedesktop.systemd1.Manager LoadUnit s "$unit") || return 1
	path=${out#o \"}
	path=${path%\"}
	for iface in org.freedesktop.systemd1.Unit org.freedesktop.systemd1.Service; do
		if out=$(_sd_busctl get-property org.freedesktop.systemd1 "$path" "$iface" "$prop" 2>/dev/null); then
			out=${out#* }
			out=${out#\"}
			echo "${out%\"}"
			return 0
		fi
	done
	_sd_msg "no property '$prop' on '$unit'"
	return 1
}

# sd_state UNIT: "ActiveState/SubState/Result", e.g. active/running/success.
sd_state() {
	echo "$(sd_prop "$1" ActiveState)/$(sd_prop "$1" SubState)/$(sd_prop "$1" Result)"
}

_sd_count_lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }

# sd_starts UNIT: how many times the stand-in got as far as "ready".
# sd_attempts UNIT: how many times it was started at all.
sd_starts() { _sd_count_lines "$SD_ROOT/standin-starts"; }
sd_attempts() { _sd_count_lines "$SD_ROOT/standin-attempts"; }

# sd_reload: Manager.Reload; the reply comes once the reload is done.
sd_reload() {
	_sd_busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
		org.freedesktop.systemd1.Manager Reload >/dev/null
}

# sd_restart_unit UNIT [TIMEOUT_S]: RestartUnit(UNIT, "replace") and wait
# until the job is gone. Says nothing about the job's result: look at
# sd_state, or use sd_systemctl, which reports it.
sd_restart_unit() {
	local unit=$1 timeout=${2:-15} out job deadline
	out=$(_sd_busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
		org.freedesktop.systemd1.Manager RestartUnit ss "$unit" replace) || return 1
	job=${out#o \"}
	job=${job%\"}
	deadline=$(($(_sd_now_us) + timeout * 1000000))
	while _sd_busctl get-property org.freedesktop.systemd1 "$job" \
		org.freedesktop.systemd1.Job State >/dev/null 2>&1; do
		if [ "$(_sd_now_us)" -gt "$deadline" ]; then
			_sd_msg "job $job for '$unit' still there after ${timeout}s"
			return 1
		fi
		sleep 0.005
	done
}

# sd_systemctl ARGS...: systemctl inside the instance (the host's refuses).
sd_systemctl() {
	nsenter -t "$SD_PID" -m -p -- systemctl "$@"
}

# sd_wait_state UNIT PATTERN [TIMEOUT_S]: wait until sd_state matches the
# shell PATTERN, e.g. 'active/running/*'.
sd_wait_state() {
	local unit=$1 pat=$2 timeout=${3:-10} deadline s
	deadline=$(($(_sd_now_us) + timeout * 1000000))
	while :; do
		s=$(sd_state "$unit")
		# shellcheck disable=SC2254
		case $s in $pat) return 0 ;; esac
		if [ "$(_sd_now_us)" -gt "$deadline" ]; then
			_sd_msg "'$unit' is $s, not $pat, after ${timeout}s"
			return 1
		fi
		sleep 0.02
	done
}

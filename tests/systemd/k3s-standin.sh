#!/bin/sh
# K3s stand-in for the systemd tests: does at start what K3s does before it
# tells systemd it is ready (see standin-check.c), then idles. Everything it
# reads or writes is under $K3S_ROOT, never the real /.
#   $K3S_ROOT/standin-attempts  one line per start attempt
#   $K3S_ROOT/standin-starts    one line per successful start (ready sent)
#   $K3S_ROOT/standin.log       why the last failed starts failed
#   $K3S_ROOT/standin-delay     if present: seconds to wait before checking
set -u
root=${K3S_ROOT:?K3S_ROOT is not set}
check=${K3S_STANDIN_CHECK:?K3S_STANDIN_CHECK is not set}
case $root in /*) ;; *) echo "k3s-standin: K3S_ROOT must be absolute" >&2; exit 2 ;; esac

echo "$$ $(date +%s.%N)" >>"$root/standin-attempts"
if [ -f "$root/standin-delay" ]; then
	sleep "$(cat "$root/standin-delay")"
fi
if ! why=$("$check" "$root" 2>&1); then
	printf '%s\n' "$why" >&2
	printf '%s\n' "$why" >>"$root/standin.log"
	exit 1
fi
echo "$$ $(date +%s.%N)" >>"$root/standin-starts"
# --pid: the message is credited to this PID, which stays the main PID
# after the exec below; a message credited to the short-lived
# systemd-notify process could be dropped if it exits before systemd
# looks it up.
systemd-notify --ready --pid=$$ || exit 1
exec sleep infinity

/*
 * The only module that talks to systemd: sd-bus calls on
 * org.freedesktop.systemd1 (daemon-reload, restart and wait for the job,
 * unit state). Functions return 0 or -errno and write their out-parameters
 * only on success; nothing here prints.
 */
#ifndef K3H_SYSTEMD_H
#define K3H_SYSTEMD_H

#include <stdbool.h>
#include <systemd/sd-bus.h>

struct sysd_unit_state {
	char active[32];          /* ActiveState: active, activating, failed, ... */
	char sub[32];             /* SubState: running, auto-restart, failed, ... */
	char result[32];          /* service Result: success, exit-code, ...; "" if not a service */
	int exec_main_status;     /* ExecMainStatus of the last main process */
	unsigned long n_restarts; /* NRestarts: automatic restarts; a manual restart does not reset it */
	char job_result[32];      /* sysd_restart: result of our job (done, failed, canceled,
	                           * timeout, dependency, ...); "" from sysd_unit_state */
};

/*
 * Connect to the system manager. With DBUS_SYSTEM_BUS_ADDRESS set, exactly
 * that bus (tests point it at their own systemd). Otherwise, as root, the
 * manager's private socket first, as systemctl does (a host need not run a
 * D-Bus daemon), then the system bus.
 */
int sysd_open(sd_bus **bus);
void sysd_close(sd_bus *bus);

/* Whether systemd knows the unit: LoadState is anything but "not-found". */
int sysd_unit_exists(sd_bus *bus, const char *unit, bool *exists);

/* Manager.Reload; systemd replies once the reload is complete. */
int sysd_daemon_reload(sd_bus *bus);

/*
 * RestartUnit(unit, "replace") and wait up to timeout_ms for that job to
 * finish (-ETIMEDOUT if it does not; the job then keeps running in systemd),
 * then read the unit's state. A failed restart is not an error here: judge
 * st with sysd_restart_ok().
 */
int sysd_restart(sd_bus *bus, const char *unit, unsigned timeout_ms, struct sysd_unit_state *st);

int sysd_unit_state(sd_bus *bus, const char *unit, struct sysd_unit_state *st);

/*
 * The restart worked: job "done", unit Result "success" and ActiveState
 * "active". ActiveState alone misleads: with Restart=always a failed start
 * reads "activating" (auto-restart) (DESIGN.md fact 13).
 */
bool sysd_restart_ok(const struct sysd_unit_state *st);

/*
 * The last lines of the unit's log from the local journal, appended to out
 * as "MESSAGE\n" lines; -ENOENT or another error when it cannot be read.
 */
struct buf;
int sysd_unit_log_tail(const char *unit, unsigned lines, struct buf *out);

#endif

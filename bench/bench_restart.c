/*
 * The bus work of a restarting `k3s-harden apply --live`, without k3s-harden:
 * a baseline for the systemd part of bench/run.sh. It makes the same calls
 * through the same code (src/systemd.c) as `apply` does once its files are
 * written, and nothing else: connect, check that the unit exists, then
 * optionally daemon-reload and RestartUnit + wait for the job.
 *
 * usage: bench_restart [-r] [-s] [-t TIMEOUT_MS] UNIT
 *
 * -r  Manager.Reload (systemd replies once the reload is done)
 * -s  RestartUnit(UNIT, "replace"), wait for its JobRemoved, read the state
 * -t  how long the restart job may take (default 20000 ms)
 *
 * Honours DBUS_SYSTEM_BUS_ADDRESS as k3s-harden does. Prints nothing and
 * exits 0 when everything worked (the restart judged by sysd_restart_ok),
 * else prints why and exits 1; 2 for a usage error.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "systemd.h"

static void usage(void)
{
	fputs("usage: bench_restart [-r] [-s] [-t TIMEOUT_MS] UNIT\n", stderr);
}

int main(int argc, char **argv)
{
	struct sysd_unit_state st;
	sd_bus *bus = NULL;
	bool reload = false, restart = false, exists = false;
	unsigned long timeout_ms = 20000;
	const char *unit;
	char *end;
	int o, r, rc = 1;

	while ((o = getopt(argc, argv, "rst:")) != -1) {
		switch (o) {
		case 'r':
			reload = true;
			break;
		case 's':
			restart = true;
			break;
		case 't':
			errno = 0;
			timeout_ms = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || timeout_ms == 0 || timeout_ms > 3600000) {
				usage();
				return 2;
			}
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage();
		return 2;
	}
	unit = argv[optind];
	r = sysd_open(&bus);
	if (r < 0) {
		fprintf(stderr, "bench_restart: cannot connect to systemd: %s\n", strerror(-r));
		return 1;
	}
	r = sysd_unit_exists(bus, unit, &exists);
	if (r < 0 || !exists) {
		fprintf(stderr, "bench_restart: %s: %s\n", unit,
			r < 0 ? strerror(-r) : "no such unit");
		goto out;
	}
	if (reload && (r = sysd_daemon_reload(bus)) < 0) {
		fprintf(stderr, "bench_restart: daemon-reload failed: %s\n", strerror(-r));
		goto out;
	}
	if (restart) {
		r = sysd_restart(bus, unit, (unsigned)timeout_ms, &st);
		if (r < 0) {
			fprintf(stderr, "bench_restart: %s: restart: %s\n", unit, strerror(-r));
			goto out;
		}
		if (!sysd_restart_ok(&st)) {
			fprintf(stderr, "bench_restart: %s: job %s, state %s/%s, result %s\n", unit,
				st.job_result, st.active, st.sub, st.result);
			goto out;
		}
	}
	rc = 0;
out:
	sysd_close(bus);
	return rc;
}

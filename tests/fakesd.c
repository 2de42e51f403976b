#include "fakesd.h"

#include <stdio.h>
#include <string.h>

struct fakesd F;

void fakesd_reset(void)
{
	memset(&F, 0, sizeof(F));
	F.job_result = "done";
	F.settle_active = "active";
}

static int f_open(sd_bus **bus)
{
	*bus = NULL;
	return 0;
}

static void f_close(sd_bus *bus)
{
	(void)bus;
}

static int f_exists(sd_bus *bus, const char *unit, bool *exists)
{
	(void)bus, (void)unit;
	*exists = !F.unit_missing;
	return 0;
}

static int f_reload(sd_bus *bus)
{
	(void)bus;
	F.reloads++;
	return F.reload_r;
}

static void state(struct sysd_unit_state *st, const char *job, const char *active,
		  unsigned long restarts)
{
	bool ok = strcmp(job, "done") == 0;

	memset(st, 0, sizeof(*st));
	snprintf(st->job_result, sizeof(st->job_result), "%s", job);
	snprintf(st->active, sizeof(st->active), "%s", ok ? active : "activating");
	snprintf(st->sub, sizeof(st->sub), "%s", ok ? "running" : "auto-restart");
	snprintf(st->result, sizeof(st->result), "%s", ok ? "success" : "exit-code");
	st->exec_main_status = ok ? 0 : 1;
	st->n_restarts = restarts;
}

static int f_restart(sd_bus *bus, const char *unit, unsigned timeout_ms, struct sysd_unit_state *st)
{
	const char *job = F.restarts == 0 && F.fail_first_job ? F.fail_first_job : F.job_result;

	(void)bus, (void)unit, (void)timeout_ms;
	F.restarts++;
	state(st, job, "active", 3);
	return 0;
}

static int f_state(sd_bus *bus, const char *unit, struct sysd_unit_state *st)
{
	(void)bus, (void)unit;
	F.states++;
	state(st, "done", F.settle_active, 3 + F.settle_restarts);
	st->job_result[0] = '\0';
	return 0;
}

static long long f_now(void)
{
	return F.clock;
}

static void f_sleep(long long ms)
{
	F.sleeps++;
	F.clock += ms;
}

const struct restart_ops fakesd_ops = {
	f_open, f_close, f_exists, f_reload, f_restart, f_state, f_now, f_sleep,
};

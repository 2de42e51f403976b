/*
 * A fake systemd and clock behind struct restart_ops, for the unit tests of
 * the restart gate and the engine: every call is counted, and the knobs say
 * what the next restarts and state reads see.
 */
#ifndef K3H_TESTS_FAKESD_H
#define K3H_TESTS_FAKESD_H

#include <stdbool.h>

#include "restart.h"

struct fakesd {
	bool unit_missing;              /* the unit does not exist */
	int reload_r;                   /* daemon-reload's result */
	const char *job_result;         /* of every restart ("done") */
	const char *fail_first_job;     /* the first restart's job result, if set */
	const char *settle_active;      /* ActiveState read while settling ("active") */
	unsigned long settle_restarts;  /* NRestarts read while settling */
	long long clock;                /* ms; sleeping advances it */
	unsigned reloads, restarts, states, sleeps;
};

extern struct fakesd F;
extern const struct restart_ops fakesd_ops;

/* Everything healthy, counters and clock at zero. */
void fakesd_reset(void);

#endif

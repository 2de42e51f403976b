/*
 * The restart gate: daemon-reload, restart the unit and wait for our job,
 * the unit must then stay active (and not restart by itself) for a settle
 * period, then the health command must pass within its timeout. Judged by
 * the job result and the unit's Result first (DESIGN.md fact 13).
 *
 * The systemd verbs and the clock go through a function table, so the
 * policy is unit-tested without systemd (tests/test_restart.c); the real
 * table calls systemd.c. Nothing here prints: progress goes to a callback.
 */
#ifndef K3H_RESTART_H
#define K3H_RESTART_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "systemd.h"

struct restart_ops {
	int (*open)(sd_bus **bus);
	void (*close)(sd_bus *bus);
	int (*unit_exists)(sd_bus *bus, const char *unit, bool *exists);
	int (*daemon_reload)(sd_bus *bus);
	int (*restart)(sd_bus *bus, const char *unit, unsigned timeout_ms, struct sysd_unit_state *st);
	int (*unit_state)(sd_bus *bus, const char *unit, struct sysd_unit_state *st);
	long long (*now_ms)(void);              /* a monotonic clock */
	void (*sleep_ms)(long long ms);
};

/* systemd.c's verbs and the monotonic clock. */
extern const struct restart_ops restart_systemd_ops;

/* What the gate waits for, in milliseconds; the texts name them in messages. */
struct restart_policy {
	long long job_ms, settle_ms, health_ms, interval_ms;
	const char *job_text, *health_text;     /* "5m", "2m" as the profile says */
	char *const *health_argv;               /* NULL-terminated, or NULL: no health command */
};

/* Progress for a terminal: text, or NULL when the line should be cleared. */
typedef void (*restart_progress_fn)(void *ctx, const char *text);

/*
 * Run the gate for unit. 0 when healthy; otherwise -errno and why holds the
 * reason in one line. A health command that cannot be started (not found,
 * not executable) fails at once instead of being retried until the timeout.
 */
int restart_gate(const struct restart_ops *ops, sd_bus *bus, const char *unit,
		 const struct restart_policy *pol, restart_progress_fn progress, void *ctx,
		 char *why, size_t why_size);

/*
 * Run argv without a shell, stdin /dev/null, stdout and stderr captured into
 * output (the first 4 KiB). The timeout bounds the whole command, whether or
 * not it closed its output: on expiry its process group is killed and the
 * result is -ETIMEDOUT. 0 when it exits 0, -EPROTO for another exit, the
 * spawn error (-ENOENT, -EACCES, ...) when it cannot be started.
 */
int restart_run_health(char *const *argv, long long timeout_ms, struct buf *output);

#endif

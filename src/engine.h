/*
 * The engine under apply and rollback: build the plan once, open the
 * transaction (undoing an interrupted one first), write, set the live
 * kernel values, restart K3s through the gate, restore files, kernel values
 * and K3s on failure, and record the result in the generation.
 *
 * It prints nothing: messages go to an event sink, and the outcome comes
 * back in struct engine_result for the command to print as text or JSON
 * and to turn into an exit code.
 */
#ifndef K3H_ENGINE_H
#define K3H_ENGINE_H

#include <stdbool.h>

#include "plan.h"
#include "profile.h"
#include "restart.h"
#include "txn.h"

enum engine_event_kind {
	ENGINE_ERROR,           /* a failure, always shown */
	ENGINE_NOTE,            /* what happened on the way; hidden by --quiet */
	ENGINE_DIAG,            /* a formatted diagnostic (FILE:LINE:COL: ...), always shown */
	ENGINE_WARNING,         /* a formatted diagnostic to show as a warning; hidden by --quiet */
	ENGINE_LINE,            /* a line of a list under the last note; hidden by --quiet */
	ENGINE_PROGRESS,        /* a progress line for a terminal; text NULL ends it */
};

struct engine_event {
	enum engine_event_kind kind;
	const char *text;
	const struct diag *diag;        /* ENGINE_DIAG, ENGINE_WARNING: the diagnostic text formats, or NULL */
};

struct engine_sink {
	void (*fn)(void *ctx, const struct engine_event *ev);
	void *ctx;
};

struct engine_opts {
	const char *root;
	const char *templates;          /* template overrides, or NULL */
	const char *role;               /* --role: "server" or "agent"; NULL: the profile's role */
	bool live;                      /* kernel values and systemd: on /, or --live */
	bool no_restart;                /* write only; record the restart as pending */
	bool force;                     /* rollback may turn secrets-encryption off */
	const char *k3s_version;        /* rollback: the K3s version now, or NULL: not known */
	bool ignore_k3s_version;        /* rollback may put back files k3s_version would not start with */
	unsigned lock_timeout_ms;
	const struct restart_ops *restart_ops;  /* NULL: systemd */
	struct engine_sink sink;
};

enum engine_outcome {
	ENGINE_DONE,            /* the change is committed (or only kernel values were set) */
	ENGINE_NOTHING,         /* nothing to do */
	ENGINE_REFUSED,         /* bad input or a precondition failed; nothing was changed */
	ENGINE_RESTORED,        /* failed; the host is as it was */
	ENGINE_BROKEN,          /* failed and could not restore; the messages say what is left */
};

struct engine_result {
	enum engine_outcome outcome;
	struct plan plan;
	char generation[16];    /* the generation made, or "" */
	char target[16];        /* rollback: the generation put back */
	const char *result;     /* ok, failed, rolled-back, broken */
	bool restarted;         /* K3s restarted and passed the gate */
	bool pending;           /* K3s reads changed files at start but was not restarted */
	bool kernel_only;       /* only drifted kernel values were set; no generation */
	struct txn_stats stats;
};

/* Kernel values and systemd are live: on the real root, or under one with --live. */
bool engine_live(const char *root, bool live_flag);

/*
 * The role to harden (host.c): --role, else the profile's role:, else (auto)
 * the role the host shows; a note says which and why (why may be NULL).
 * A role that contradicts the host's K3s unit: an error event, -EINVAL.
 */
int engine_role(const struct profile *p, const struct engine_opts *o, enum profile_role *role,
		char *why, size_t why_size);

/* Undo an interrupted transaction, if a journal is left: 0, or -errno after an error event. */
int engine_recover(const struct engine_opts *o);

/* Recover if needed, then the plan (diff). 0, or -errno after error events. */
int engine_plan(const struct profile *p, const struct engine_opts *o, struct plan *pl);

/* apply: the profile's plan as one transaction. Returns 0 for DONE and NOTHING. */
int engine_apply(const struct profile *p, const struct engine_opts *o, struct engine_result *res);

/*
 * rollback: put back generation id (NULL: the last committed apply) as a
 * transaction of its own; p says where the K3s config is and how to restart.
 */
int engine_rollback(const struct profile *p, const char *id, const struct engine_opts *o,
		    struct engine_result *res);

void engine_result_free(struct engine_result *res);

#endif

/* The command layer: the only code that prints and picks exit codes. */
#ifndef K3H_CLI_H
#define K3H_CLI_H

#include <stdbool.h>

#include "diag.h"
#include "profile.h"

typedef struct sd_bus sd_bus;

enum {
	EXIT_OK = 0,
	EXIT_CHANGES = 1,       /* diff: something would change */
	EXIT_USAGE = 2,         /* usage or input error; nothing changed */
	EXIT_RESTORED = 3,      /* failed, host restored */
	EXIT_BROKEN = 4,        /* failed, could not restore */
};

enum output_format { OUTPUT_TEXT, OUTPUT_JSON };
enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

struct cli {
	const char *profile;
	const char *root;
	const char *templates;
	enum output_format output;
	enum color_mode color;
	int verbose;            /* -1 quiet, 0 normal, 1 verbose */
	const char *out_dir;
	bool dry_run, no_restart, live, force;
	int argc;               /* arguments after the command name */
	char **argv;
};

/* Print every diagnostic to stderr as FILE:LINE:COL: message. */
void cli_print_diags(const struct diags *d);
/* The same as "warning: FILE:LINE:COL: message", unless --quiet. */
void cli_print_warnings(const struct cli *c, const struct diags *d);
/* Load cli->profile (or name), printing problems; EXIT_OK or EXIT_USAGE. */
int cli_load_profile(const struct cli *c, const char *name, struct profile_doc **out);
/* Resolve role auto from the host under --root; prints the choice. */
enum profile_role cli_resolve_role(const struct cli *c, const struct profile *p);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_note(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct plan;
/* Build the plan for the loaded profile, printing errors and warnings. */
int cli_build_plan(const struct cli *c, struct profile_doc *doc, struct plan *pl);

/* "files":[...] of a plan, as CLI.md's JSON describes. */
void cli_json_files(struct buf *b, const struct plan *pl);
/* ,"kernel":[...]: live kernel values that differ from the profile. */
void cli_json_drift(struct buf *b, const struct plan *pl);

struct txn;
/* True when kernel values and systemd are live: --root / or --live. */
bool cli_live(const struct cli *c);
/* Lock the state directory and undo an interrupted transaction. */
int cli_open_txn(const struct cli *c, const char *profile, const char *kind,
		 unsigned retention, struct txn **t);
/* Undo an interrupted transaction, if a journal is left; exit code. */
int cli_recover_if_needed(const struct cli *c);
/* Restarting K3s after a transaction: bus NULL when offline or --no-restart. */
struct restart_ctx {
	sd_bus *bus;
	const char *unit;
	const struct restart_gate *gate;
};

/* Carry out a plan in the open transaction t; exit code. */
int cli_run_plan(struct cli *c, const struct plan *pl, const char *kind, struct txn *t,
		 const struct restart_ctx *rx);
/* When the plan needs a restart that will happen: the unit and the bus. */
int cli_prepare_restart(const struct cli *c, const struct plan *pl, const struct profile *p,
			enum profile_role role, const char *unit, struct restart_ctx *rx);
/* Connect to systemd and check that unit exists; exit code (2 when not). */
int cli_open_unit(const struct cli *c, const char *unit, sd_bus **bus);
/*
 * daemon-reload, restart unit, wait for the job, a settle period, the health
 * command. 0 when healthy; else why holds the reason.
 */
int cli_restart_gate(const struct cli *c, sd_bus *bus, const char *unit,
		     const struct restart_gate *g, char *why, size_t why_size);
/* The last lines of the unit's log, when the host's journal is readable. */
void cli_unit_log(const struct cli *c, const char *unit);

/* What apply/rollback did, as text or JSON. */
void cli_print_result(const struct cli *c, const struct plan *pl, const char *verb,
		      const char *gen, const char *result, bool restarted, bool pending);

int cmd_render(struct cli *c);
int cmd_apply(struct cli *c);
int cmd_rollback(struct cli *c);
int cmd_history(struct cli *c);
int cmd_diff(struct cli *c);
int cmd_profile(struct cli *c);

#endif

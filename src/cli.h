/* The command layer: the only code that prints and picks exit codes. */
#ifndef K3H_CLI_H
#define K3H_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "diag.h"
#include "engine.h"
#include "profile.h"

#define K3H_VERSION "0.1.0"

enum {
	EXIT_OK = 0,
	EXIT_CHANGES = 1,       /* diff: something would change */
	EXIT_USAGE = 2,         /* usage or input error; nothing changed */
	EXIT_RESTORED = 3,      /* failed, host restored */
	EXIT_BROKEN = 4,        /* failed, could not restore */
	EXIT_REPORT = 5,        /* done and committed, but the report could not be written */
};

enum output_format { OUTPUT_TEXT, OUTPUT_JSON, OUTPUT_JUNIT /* check only */ };
enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/* The global options, accepted before or after the command. */
struct cli {
	const char *profile;
	const char *root;
	const char *templates;
	const char *role;       /* --role server|agent, or NULL */
	enum output_format output;
	enum color_mode color;
	int verbose;            /* -1 quiet, 0 normal, 1 verbose */
	bool committed;         /* apply/rollback changed the host: the report must not say otherwise */
	char *root_buf;         /* realpath of --root */
	const char *k3s_version;        /* --k3s-version, or NULL */
	bool live;                      /* apply --live: ask the K3s under --root for its version */
};

/* One option of a command, for getopt_long and for its help. */
struct cli_option {
	const char *name;       /* long name */
	int key;                /* returned to the command's parser: a letter or >= 256 */
	const char *arg;        /* value name, NULL for a flag */
	const char *help;
};

/* A command: git's builtins, one file each (src/cmd-NAME.c). */
struct cli_command {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);  /* argv[0] is the command name */
	const char *synopsis;   /* after "k3s-harden [GLOBAL OPTIONS] " */
	const char *brief;      /* one line for the list of commands */
	const char *summary;
	const struct cli_option *options;   /* ends with a NULL name; NULL: none */
	const char *exit_codes;
};

extern const struct cli_command render_command, diff_command, apply_command, rollback_command,
	history_command, profile_command;
extern const struct cli_command check_command, benchmarks_command;
/* every command (cli.c), in the order help lists them */
extern const struct cli_command *const cli_commands[];
extern const size_t cli_n_commands;

/*
 * Parse a command's argv: its own options and the global ones, in any order
 * (getopt_long permutes). set receives each option of the command's own.
 * The operands are left in (*args)[0..*n). Returns EXIT_OK, an exit code
 * after a message, or -1 after `--help` printed the command's help.
 */
int cli_parse(struct cli *c, const struct cli_command *cmd, int argc, char **argv,
	      int (*set)(void *ctx, int key, const char *arg), void *ctx,
	      int min_args, int max_args, char ***args, int *n);
/* The global options before the command; optind then names the command. */
int cli_parse_globals(struct cli *c, int argc, char **argv);
void cli_usage(FILE *f);
void cli_command_help(const struct cli_command *cmd, FILE *f);
/* Help on stdout: cmd's (NULL: the global usage); with --output json a
 * document {command, usage, summary, options: [{name, short, arg, help}],
 * global_options or commands, exit_codes}. */
void cli_help(const struct cli_command *cmd);

/* Print every diagnostic to stderr as FILE:LINE:COL: message. */
void cli_print_diags(const struct diags *d);
/* The same as warnings ("warning: ..."), hidden by --quiet. */
void cli_print_warnings(const struct cli *c, const struct diags *d);
/* Load cli->profile (or name), printing problems; EXIT_OK or EXIT_USAGE. */
int cli_load_profile(const struct cli *c, const char *name, struct profile_doc **out);
/*
 * A profile whose chain has `extends: cis`: its base is the benchmark
 * profile cis picks for v (NULL: the newest); *doc is loaded again (from
 * name, NULL: cli->profile) when it was read with another, and a note says
 * which. EXIT_OK (also when nothing extends cis) or EXIT_USAGE.
 */
int cli_pick_cis_base(const struct cli *c, const char *name, const char *v, struct profile_doc **doc);
/*
 * Fit the loaded profile to the K3s it hardens: the version (--k3s-version,
 * the profile's k3s_version, or on a live host `k3s --version`), for the
 * built-in `cis` the newest benchmark profile that covers it (reloaded into
 * *doc), the benchmark whose IDs are shown, and the bundled components the
 * host's K3s configuration runs. EXIT_OK or EXIT_USAGE after a message.
 */
int cli_fit_profile(const struct cli *c, struct profile_doc **doc);
/*
 * The K3s version alone, found as cli_fit_profile finds it: --k3s-version,
 * the profile's k3s_version, or on a live host `k3s --version` (a note says
 * which, or why it cannot tell). *v (caller frees) stays NULL when not
 * known. EXIT_OK, or EXIT_USAGE after a message (not a version).
 */
int cli_k3s_version(const struct cli *c, const struct profile *p, char **v);
/* The role to harden (--role, the profile's, or detected under --root); notes the choice. EXIT_OK or EXIT_USAGE. */
int cli_resolve_role(const struct cli *c, const struct profile *p, enum profile_role *role);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_note(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Engine options for this command line; the engine's events go to stderr. */
struct engine_opts cli_engine_opts(const struct cli *c, bool live, bool no_restart, bool force);
/* The exit code of an engine outcome. */
int cli_exit_code(enum engine_outcome outcome);
/* The exit code of an engine_recover / engine_plan error. */
int cli_exit_error(int r);

/*
 * --output json. Every message the command layer prints (cli_error,
 * cli_print_diags, the engine's errors and warnings) is kept as well;
 * cli_json_diagnostics appends them as "diagnostics":[{file, line, column,
 * field, message, severity}]. A command prints its JSON document with
 * cli_json_print; when it prints none and fails (exit 2, 3, 4),
 * cli_json_finish prints {"result":"failed","exit_code":N,"diagnostics":[...]}.
 */
void cli_json_diagnostics(struct buf *b);
/*
 * Close a command's JSON object (b holds it without its final '}'):
 * ,"diagnostics":[...] with the run's warnings (and errors), then "}\n".
 * Every document a command prints on success carries them, as a failure's.
 */
void cli_json_end(struct buf *b);
void cli_json_print(const struct buf *b);
int cli_json_finish(int rc);

/* "files":[...] of a plan, as CLI.md's JSON describes. */
void cli_json_files(struct buf *b, const struct plan *pl);
/* ,"kernel":[...]: live kernel values that differ from the profile. */
void cli_json_drift(struct buf *b, const struct plan *pl);
/* What diff prints for a plan (text or JSON); EXIT_CHANGES, EXIT_OK or EXIT_USAGE. */
int cli_report_plan(const struct cli *c, const struct plan *pl, const struct profile *p);
/* What apply/rollback did, as text or JSON; verb "apply" or "rollback". */
void cli_report_result(const struct cli *c, const struct engine_result *res, const char *verb,
		       const struct profile *p, bool no_restart, bool live);

#endif

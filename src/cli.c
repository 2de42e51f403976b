/* Helpers shared by the commands: options, help, messages, profile loading. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "k3s_version.h"

#define DEFAULT_LOCK_TIMEOUT_MS 30000

/*
 * --output json: every problem is also kept, for the one JSON document
 * standard output carries when a command fails (cli_json_finish).
 */
static struct {
	bool on, printed;
	struct diags errs, warns;
} json_state;

static void json_keep(bool warning, const struct diag *d)
{
	struct diags *to = warning ? &json_state.warns : &json_state.errs;

	if (!json_state.on || !d)
		return;
	/* "k3s-harden" stands for "no file" in our messages */
	if (diags_add(to, d->file, d->line, d->col, "%s", d->msg) == 0 && d->field)
		to->v[to->n - 1].field = strdup(d->field);
}

static void json_keep_text(bool warning, const char *text)
{
	struct diag d = { (char *)"k3s-harden", 0, 0, NULL, (char *)text };

	json_keep(warning, &d);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	fprintf(stderr, "k3s-harden: %s\n", text ? text : "out of memory");
	json_keep_text(false, text ? text : "out of memory");
	free(text);
}

static void json_diag_list(struct buf *b, const struct diags *d, const char *severity, bool *first)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct diag *x = &d->v[i];
		bool nofile = strcmp(x->file, "k3s-harden") == 0;

		buf_adds(b, *first ? "{\"file\":" : ",{\"file\":");
		*first = false;
		if (nofile)
			buf_adds(b, "null");
		else
			json_str(b, x->file);
		if (x->line)
			buf_printf(b, ",\"line\":%u,\"column\":%u", x->line, x->col);
		else
			buf_adds(b, ",\"line\":null,\"column\":null");
		buf_adds(b, ",\"field\":");
		if (x->field)
			json_str(b, x->field);
		else
			buf_adds(b, "null");
		buf_adds(b, ",\"message\":");
		json_str(b, x->msg);
		buf_printf(b, ",\"severity\":\"%s\"}", severity);
	}
}

void cli_json_diagnostics(struct buf *b)
{
	bool first = true;

	buf_adds(b, "\"diagnostics\":[");
	json_diag_list(b, &json_state.errs, "error", &first);
	json_diag_list(b, &json_state.warns, "warning", &first);
	buf_addc(b, ']');
}

void cli_json_print(const struct buf *b)
{
	if (b->len)
		fwrite(b->data, 1, b->len, stdout);
	json_state.printed = true;
}

int cli_json_finish(int rc)
{
	if (json_state.on && !json_state.printed &&
	    (rc == EXIT_USAGE || rc == EXIT_RESTORED || rc == EXIT_BROKEN)) {
		struct buf b = BUF_INIT;

		buf_printf(&b, "{\"result\":\"%s\",\"exit_code\":%d,",
			   rc == EXIT_USAGE ? "failed" : rc == EXIT_RESTORED ? "rolled-back" : "broken", rc);
		cli_json_diagnostics(&b);
		buf_adds(&b, "}\n");
		cli_json_print(&b);
		buf_free(&b);
	}
	diags_free(&json_state.errs);
	diags_free(&json_state.warns);
	return rc;
}

void cli_note(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	if (c->verbose < 0)
		return;
	fputs("k3s-harden: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_print_diags(const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);

		if (s)
			fprintf(stderr, "%s\n", s);
		free(s);
		json_keep(false, &d->v[i]);
	}
}

void cli_print_warnings(const struct cli *c, const struct diags *d)
{
	size_t i;

	for (i = 0; c->verbose >= 0 && i < d->n; i++) {
		char *s = diag_format(&d->v[i]);

		if (s)
			fprintf(stderr, "warning: %s\n", s);
		free(s);
		json_keep(true, &d->v[i]);
	}
}

/* `extends: cis` picks its base for v, as cis does (newest: v unknown, pick the newest) */
static int load_profile_for(const struct cli *c, const char *name, const char *v, bool newest,
			    struct profile_doc **out)
{
	struct profile_load_opts o = { v, newest, k3s_pick_profile };
	struct diags d = { NULL, 0, 0 };
	int r;

	r = profile_load_with(name ? name : c->profile, &o, out, &d);
	cli_print_diags(&d);
	if (r < 0 && d.n == 0)
		cli_error("cannot load profile '%s': %s", name ? name : c->profile, strerror(-r));
	diags_free(&d);
	return r < 0 ? EXIT_USAGE : EXIT_OK;
}

int cli_load_profile(const struct cli *c, const char *name, struct profile_doc **out)
{
	/* offline without --k3s-version nothing detects a version later: the
	 * newest base is the one cli_pick_cis_base would load it again for */
	bool offline = strcmp(c->root, "/") != 0 && !c->live;

	return load_profile_for(c, name, c->k3s_version, !c->k3s_version && offline, out);
}

/*
 * A profile that extends cis gets the base cis would pick for v; loaded
 * with --k3s-version or its own k3s_version: it has it already, else
 * (a detected version, or none) it is loaded again for v.
 */
int cli_pick_cis_base(const struct cli *c, const char *name, const char *v, struct profile_doc **doc)
{
	struct profile_doc *picked = NULL;
	const char *base;

	if (!(*doc)->cis_base)
		return EXIT_OK;
	if (k3s_pick_profile(v, &base) < 0) {
		cli_error("no built-in profile covers K3s %s (k3s-harden profile list shows "
			  "each profile's K3s versions)", v);
		return EXIT_USAGE;
	}
	if (strcmp(base, (*doc)->cis_base) != 0) {
		if (load_profile_for(c, name, v, !v, &picked) != EXIT_OK)
			return EXIT_USAGE;
		profile_doc_free(*doc);
		*doc = picked;
	}
	if (v)
		cli_note(c, "profile %s extends cis: %s, the newest benchmark that covers K3s %s",
			 (*doc)->p->name, (*doc)->cis_base, v);
	else
		cli_note(c, "profile %s extends cis: %s, the newest benchmark", (*doc)->p->name,
			 (*doc)->cis_base);
	return EXIT_OK;
}

static void print_notes(const struct cli *c, const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		if (strncmp(d->v[i].msg, "warning: ", 9) == 0) {
			struct diag w = d->v[i];

			w.msg = d->v[i].msg + 9;
			if (c->verbose >= 0) {
				/* FILE:LINE:COL when it has a place in a file */
				char *s = w.line ? diag_format(&w) : NULL;

				fprintf(stderr, "warning: %s\n", s ? s : w.msg);
				free(s);
			}
			json_keep(true, &w);
		} else {
			cli_note(c, "%s", d->v[i].msg);
		}
	}
}

#define K3S_VERSION_TIMEOUT_MS 10000

int cli_k3s_version(const struct cli *c, const struct profile *p, char **out)
{
	const char *v = c->k3s_version ? c->k3s_version : p->k3s_version;
	char *detected = NULL, why[512];

	*out = NULL;
	if (v && !k3s_version_valid(v)) {
		cli_error("'%s' is not a K3s version (like 1.30 or v1.30.4+k3s1)", v);
		return EXIT_USAGE;
	}
	if (!v && (strcmp(c->root, "/") == 0 || c->live)) {
		if (k3s_version_detect(c->root, K3S_VERSION_TIMEOUT_MS, &detected, why, sizeof(why)) == 0) {
			cli_note(c, "K3s %s (from k3s --version)", detected);
			*out = detected;
		} else {
			cli_note(c, "cannot tell the K3s version: %s; pin it with --k3s-version", why);
		}
		return EXIT_OK;
	}
	if (v && !(*out = strdup(v))) {
		cli_error("out of memory");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cli_fit_profile(const struct cli *c, struct profile_doc **doc)
{
	struct diags notes = { NULL, 0, 0 }, errs = { NULL, 0, 0 };
	struct profile *p = (*doc)->p;
	struct k3s_components comp;
	const char *v;
	char *detected = NULL;
	int rc;

	rc = cli_k3s_version(c, p, &detected);
	if (rc != EXIT_OK)
		return rc;
	v = detected;
	/* the built-in default picks the benchmark profile for the version */
	if (p->benchmark && strcmp(p->benchmark, "auto") == 0 && strcmp(p->name, "cis") == 0 &&
	    strcmp(c->profile, "cis") == 0) {
		struct profile_doc *picked = NULL;
		const char *name;

		if (k3s_pick_profile(v, &name) < 0) {
			cli_error("no built-in profile covers K3s %s (k3s-harden profile list shows "
				  "each profile's K3s versions)", v);
			free(detected);
			return EXIT_USAGE;
		}
		if (cli_load_profile(c, name, &picked) != EXIT_OK) {
			free(detected);
			return EXIT_USAGE;
		}
		if (v)
			cli_note(c, "profile cis: %s, the newest benchmark that covers K3s %s", name, v);
		else
			cli_note(c, "profile cis: %s, the newest benchmark", name);
		profile_doc_free(*doc);
		*doc = picked;
		p = picked->p;
	} else if ((*doc)->cis_base) {
		if (cli_pick_cis_base(c, NULL, v, doc) != EXIT_OK) {
			free(detected);
			return EXIT_USAGE;
		}
		p = (*doc)->p;
	}
	k3s_components_all(&comp);
	if (p->k3s && p->k3s->path) {
		struct diags d = { NULL, 0, 0 };

		/* an unreadable configuration is the plan's to report */
		if (k3s_components_read(c->root, p->k3s->path, &comp, &d) < 0)
			k3s_components_all(&comp);
		diags_free(&d);
	}
	if (k3s_env_apply(p, v, &comp, &notes, &errs) < 0) {
		cli_print_diags(&errs);
		rc = EXIT_USAGE;
	} else {
		print_notes(c, &notes);
	}
	diags_free(&notes);
	diags_free(&errs);
	free(detected);
	return rc;
}

/* ---- the engine's events ---- */

static void event(void *ctx, const struct engine_event *ev)
{
	const struct cli *c = ctx;
	bool tty = isatty(STDERR_FILENO);

	switch (ev->kind) {
	case ENGINE_ERROR:
		cli_error("%s", ev->text);
		break;
	case ENGINE_NOTE:
		cli_note(c, "%s", ev->text);
		break;
	case ENGINE_DIAG:
		fprintf(stderr, "%s\n", ev->text);
		if (ev->diag)
			json_keep(false, ev->diag);
		else
			json_keep_text(false, ev->text);
		break;
	case ENGINE_WARNING:
		if (c->verbose >= 0)
			fprintf(stderr, "warning: %s\n", ev->text);
		if (ev->diag)
			json_keep(true, ev->diag);
		else
			json_keep_text(true, ev->text);
		break;
	case ENGINE_LINE:
		if (c->verbose >= 0)
			fprintf(stderr, "%s\n", ev->text);
		break;
	case ENGINE_PROGRESS:
		/* one line that updates itself, on a terminal only */
		if (c->verbose < 0 || !tty)
			break;
		if (ev->text)
			fprintf(stderr, "\rk3s-harden: %s\033[K", ev->text);
		else
			fputs("\r\033[K", stderr);
		fflush(stderr);
		break;
	}
}

static unsigned lock_timeout_ms(void)
{
	const char *s = getenv("K3S_HARDEN_LOCK_TIMEOUT");
	char *end;
	double v;

	if (!s || !*s)
		return DEFAULT_LOCK_TIMEOUT_MS;
	v = strtod(s, &end);
	if (*end || v < 0 || v > 3600)
		return DEFAULT_LOCK_TIMEOUT_MS;
	return (unsigned)(v * 1000);
}

struct engine_opts cli_engine_opts(const struct cli *c, bool live, bool no_restart, bool force)
{
	struct engine_opts o;

	memset(&o, 0, sizeof(o));
	o.root = c->root;
	o.templates = c->templates;
	o.role = c->role;
	o.live = engine_live(c->root, live);
	o.no_restart = no_restart;
	o.force = force;
	o.lock_timeout_ms = lock_timeout_ms();
	o.sink.fn = event;
	o.sink.ctx = (void *)c;
	return o;
}

int cli_resolve_role(const struct cli *c, const struct profile *p, enum profile_role *role)
{
	/* render prints artifacts, not a host report: the note only with -v */
	struct cli q = *c;
	struct engine_opts o;

	if (q.verbose <= 0)
		q.verbose = -1;
	o = cli_engine_opts(&q, false, false, false);
	return engine_role(p, &o, role, NULL, 0) < 0 ? EXIT_USAGE : EXIT_OK;
}

int cli_exit_code(enum engine_outcome outcome)
{
	switch (outcome) {
	case ENGINE_DONE:
	case ENGINE_NOTHING:
		return EXIT_OK;
	case ENGINE_RESTORED:
		return EXIT_RESTORED;
	case ENGINE_BROKEN:
		return EXIT_BROKEN;
	case ENGINE_REFUSED:
		break;
	}
	return EXIT_USAGE;
}

int cli_exit_error(int r)
{
	return r == -EIO ? EXIT_BROKEN : EXIT_USAGE;
}

/* ---- options and help ---- */

enum { OPT_OUTPUT = 1000, OPT_COLOR, OPT_ROLE, OPT_K3S_VERSION };

static const struct cli_option global_options[] = {
	{ "profile", 'p', "NAME|FILE", "built-in profile or a profile file (default: cis)" },
	{ "root", 'r', "DIR", "operate on the tree under DIR instead of /" },
	{ "templates", 't', "DIR", "templates that override the built-in ones" },
	{ "role", OPT_ROLE, "server|agent", "harden as a server or an agent (default: the profile's role; cis detects it)" },
	{ "k3s-version", OPT_K3S_VERSION, "V", "the K3s version to harden for (default: the "
	  "profile's k3s_version, else k3s --version on a live host)" },
	{ "output", OPT_OUTPUT, "text|json", "format of what the command prints (default text; check also junit)" },
	{ "color", OPT_COLOR, "auto|always|never", "colour the diff (default auto: on a terminal)" },
	{ "quiet", 'q', NULL, "only errors on stderr" },
	{ "verbose", 'v', NULL, "more detail" },
	{ "help", 'h', NULL, "this help; COMMAND --help: that command's" },
	{ "version", 'V', NULL, "the version" },
	{ NULL, 0, NULL, NULL },
};

static const char exit_text[] =
	"Exit codes: 0 success; 1 diff: something would change; 2 usage or input\n"
	"error, nothing was changed; 3 apply/rollback failed and the host was\n"
	"restored; 4 failed and could not restore (the message says what is left);\n"
	"5 apply/rollback done and committed, but the report could not be written.\n";

/* the commands of the list in cli_usage, for --output json help */
/* Every command, in the order help lists them; main dispatches from it. */
const struct cli_command *const cli_commands[] = {
	&render_command, &diff_command, &apply_command, &rollback_command, &history_command,
	&profile_command,
	&check_command, &benchmarks_command,
};
const size_t cli_n_commands = sizeof(cli_commands) / sizeof(cli_commands[0]);

static void print_options(FILE *f, const struct cli_option *v)
{
	for (; v && v->name; v++) {
		char head[64];

		if (v->key < 256)
			snprintf(head, sizeof(head), "-%c, --%s%s%s", v->key, v->name, v->arg ? " " : "",
				 v->arg ? v->arg : "");
		else
			snprintf(head, sizeof(head), "    --%s%s%s", v->name, v->arg ? " " : "",
				 v->arg ? v->arg : "");
		if (strlen(head) > 24)
			fprintf(f, "  %s\n  %-24s  %s\n", head, "", v->help);
		else
			fprintf(f, "  %-24s  %s\n", head, v->help);
	}
}

void cli_usage(FILE *f)
{
	static const struct cli_command *const cmds[] = {
		&render_command, &diff_command, &apply_command, &rollback_command, &history_command,
		&profile_command,
		&check_command, &benchmarks_command,
	};
	size_t i;

	fputs("usage: k3s-harden [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
	      "\n"
	      "Make a K3s host comply with the CIS Kubernetes Benchmark, as the K3s CIS\n"
	      "Hardening Guide configures it.\n"
	      "\n"
	      "Global options (before or after the command):\n", f);
	print_options(f, global_options);
	fputs("\nCommands (k3s-harden help COMMAND, or COMMAND --help, for one):\n", f);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n      %s\n", cmds[i]->synopsis, cmds[i]->brief);
	fputs("  help [COMMAND]\n      usage; with a command, that command's usage, options and exit codes\n\n", f);
	fputs(exit_text, f);
}

void cli_command_help(const struct cli_command *cmd, FILE *f)
{
	fprintf(f, "usage: k3s-harden [GLOBAL OPTIONS] %s\n\n%s\n", cmd->synopsis, cmd->summary);
	if (cmd->options && cmd->options->name) {
		fputs("\nOptions:\n", f);
		print_options(f, cmd->options);
	}
	fputs("\nGlobal options (before or after the command):\n", f);
	print_options(f, global_options);
	fprintf(f, "\n%s", cmd->exit_codes);
}

/* --output json help: the same content as a document */
static void json_options(struct buf *b, const struct cli_option *v)
{
	bool first = true;

	buf_addc(b, '[');
	for (; v && v->name; v++, first = false) {
		buf_adds(b, first ? "{\"name\":" : ",{\"name\":");
		json_str(b, v->name);
		if (v->key < 256)
			buf_printf(b, ",\"short\":\"%c\"", v->key);
		else
			buf_adds(b, ",\"short\":null");
		buf_adds(b, ",\"arg\":");
		if (v->arg)
			json_str(b, v->arg);
		else
			buf_adds(b, "null");
		buf_adds(b, ",\"help\":");
		json_str(b, v->help);
		buf_addc(b, '}');
	}
	buf_addc(b, ']');
}

static void json_command_entry(struct buf *b, const char *name, const char *synopsis, const char *brief)
{
	buf_adds(b, "{\"name\":");
	json_str(b, name);
	buf_adds(b, ",\"usage\":");
	json_str(b, synopsis);
	buf_adds(b, ",\"help\":");
	json_str(b, brief);
	buf_addc(b, '}');
}

static void help_json(const struct cli_command *cmd)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_adds(&b, "{\"command\":");
	if (cmd) {
		char *usage = NULL;

		json_str(&b, cmd->name);
		buf_adds(&b, ",\"usage\":");
		if (asprintf(&usage, "k3s-harden [GLOBAL OPTIONS] %s", cmd->synopsis) < 0)
			usage = NULL;
		json_str(&b, usage ? usage : cmd->synopsis);
		free(usage);
		buf_adds(&b, ",\"summary\":");
		json_str(&b, cmd->summary);
		buf_adds(&b, ",\"options\":");
		json_options(&b, cmd->options);
		buf_adds(&b, ",\"global_options\":");
		json_options(&b, global_options);
		buf_adds(&b, ",\"exit_codes\":");
		json_str(&b, cmd->exit_codes);
	} else {
		buf_adds(&b, "null,\"usage\":\"k3s-harden [GLOBAL OPTIONS] COMMAND [OPTIONS]\"");
		buf_adds(&b, ",\"summary\":\"Make a K3s host comply with the CIS Kubernetes Benchmark, "
			 "as the K3s CIS Hardening Guide configures it.\"");
		buf_adds(&b, ",\"options\":");
		json_options(&b, global_options);
		buf_adds(&b, ",\"commands\":[");
		for (i = 0; i < cli_n_commands; i++) {
			json_command_entry(&b, cli_commands[i]->name, cli_commands[i]->synopsis,
					   cli_commands[i]->brief);
			buf_addc(&b, ',');
		}
		json_command_entry(&b, "help", "help [COMMAND]",
				   "usage; with a command, that command's usage, options and exit codes");
		buf_adds(&b, "],\"exit_codes\":");
		json_str(&b, exit_text);
	}
	buf_adds(&b, "}\n");
	cli_json_print(&b);
	buf_free(&b);
}

void cli_help(const struct cli_command *cmd)
{
	if (json_state.on)
		help_json(cmd);
	else if (cmd)
		cli_command_help(cmd, stdout);
	else
		cli_usage(stdout);
}

/* One option of either table; ':' or '?' from getopt become a message. */
static int global_option(struct cli *c, int o, const char *arg, char **argv)
{
	switch (o) {
	case 'p': c->profile = arg; return 0;
	case 'r': c->root = arg; return 0;
	case 't': c->templates = arg; return 0;
	case OPT_K3S_VERSION:
		if (!k3s_version_valid(arg)) {
			cli_error("--k3s-version takes a K3s version like 1.30 or v1.30.4+k3s1, not '%s'", arg);
			return EXIT_USAGE;
		}
		c->k3s_version = arg;
		return 0;
	case 'q': c->verbose = -1; return 0;
	case 'v': c->verbose = 1; return 0;
	case 'V':
		printf("k3s-harden %s\n", K3H_VERSION);
		return -1;
	case OPT_OUTPUT:
		if (strcmp(arg, "text") == 0) {
			c->output = OUTPUT_TEXT;
		} else if (strcmp(arg, "json") == 0) {
			c->output = OUTPUT_JSON;
			json_state.on = true;
		} else if (strcmp(arg, "junit") == 0) {
			c->output = OUTPUT_JUNIT;       /* check: JUnit XML; other commands print text */
		} else {
			cli_error("--output takes text, json or junit, not '%s'", arg);
			return EXIT_USAGE;
		}
		return 0;
	case OPT_ROLE:
		if (strcmp(arg, "server") != 0 && strcmp(arg, "agent") != 0) {
			cli_error("--role takes server or agent, not '%s'", arg);
			return EXIT_USAGE;
		}
		c->role = arg;
		return 0;
	case OPT_COLOR:
		if (strcmp(arg, "auto") == 0) {
			c->color = COLOR_AUTO;
		} else if (strcmp(arg, "always") == 0) {
			c->color = COLOR_ALWAYS;
		} else if (strcmp(arg, "never") == 0) {
			c->color = COLOR_NEVER;
		} else {
			cli_error("--color takes auto, always or never, not '%s'", arg);
			return EXIT_USAGE;
		}
		return 0;
	case ':':
		cli_error("option '%s' needs a value", argv[optind - 1]);
		return EXIT_USAGE;
	default:
		cli_error("unknown option '%s' (see --help)", argv[optind - 1]);
		return EXIT_USAGE;
	}
}

/* getopt_long's tables from ours: the globals, then the command's. */
static int build_opts(const struct cli_option *own, struct option **lo, char *so, size_t so_size)
{
	size_t n = 0, i, k = 0, s = 0;
	const struct cli_option *v;

	for (v = global_options; v->name; v++)
		n++;
	for (v = own; v && v->name; v++)
		n++;
	*lo = calloc(n + 1, sizeof(**lo));
	if (!*lo)
		return -ENOMEM;
	so[s++] = ':';
	for (i = 0; i < 2; i++)
		for (v = i ? own : global_options; v && v->name; v++) {
			(*lo)[k].name = v->name;
			(*lo)[k].has_arg = v->arg ? required_argument : no_argument;
			(*lo)[k].val = v->key;
			k++;
			if (v->key < 256 && s + 3 < so_size) {
				so[s++] = (char)v->key;
				if (v->arg)
					so[s++] = ':';
			}
		}
	so[s] = '\0';
	return 0;
}

static bool is_own(const struct cli_option *own, int key)
{
	for (; own && own->name; own++)
		if (own->key == key)
			return true;
	return false;
}

/* --root must name a directory; "//" or "/." is the real root too. */
static int check_root(struct cli *c)
{
	struct stat st;

	if (c->root[0] == '\0') {
		cli_error("--root must not be empty");
		return EXIT_USAGE;
	}
	if (stat(c->root, &st) < 0) {
		if (errno == ENOENT)
			cli_error("--root: no such directory: %s", c->root);
		else
			cli_error("--root '%s': %s", c->root, strerror(errno));
		return EXIT_USAGE;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_error("--root '%s' is not a directory", c->root);
		return EXIT_USAGE;
	}
	free(c->root_buf);
	c->root_buf = realpath(c->root, NULL);
	if (!c->root_buf) {
		cli_error("--root '%s': %s", c->root, strerror(errno));
		return EXIT_USAGE;
	}
	c->root = c->root_buf;
	return EXIT_OK;
}

int cli_parse_globals(struct cli *c, int argc, char **argv)
{
	struct option *lo = NULL;
	char so[64];
	bool want_help = false;   /* after every option: --output json may follow */
	int o, r = EXIT_OK;

	if (build_opts(NULL, &lo, so + 1, sizeof(so) - 1) < 0)
		return EXIT_USAGE;
	so[0] = '+';            /* stop at the command */
	opterr = 0;
	while (r == EXIT_OK && (o = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (o == 'h') {
			want_help = true;
		} else {
			r = global_option(c, o, optarg, argv);
		}
	}
	free(lo);
	if (r == EXIT_OK && want_help) {
		cli_help(NULL);
		r = -1;
	}
	return r;
}

int cli_parse(struct cli *c, const struct cli_command *cmd, int argc, char **argv,
	      int (*set)(void *ctx, int key, const char *arg), void *ctx,
	      int min_args, int max_args, char ***args, int *n)
{
	struct option *lo = NULL;
	char so[64];
	bool want_help = false;
	int o, r = EXIT_OK;

	if (build_opts(cmd->options, &lo, so, sizeof(so)) < 0)
		return EXIT_USAGE;
	optind = 0;             /* glibc: start over, with this argv */
	opterr = 0;
	while (r == EXIT_OK && (o = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (o == 'h') {
			want_help = true;
		} else if (is_own(cmd->options, o)) {
			r = set(ctx, o, optarg);
		} else {
			r = global_option(c, o, optarg, argv);
		}
	}
	free(lo);
	if (r == EXIT_OK && want_help) {
		cli_help(cmd);
		r = -1;
	}
	if (r != EXIT_OK)
		return r;
	*args = argv + optind;
	*n = argc - optind;
	if (*n < min_args || *n > max_args) {
		cli_error("%s: wrong number of arguments (see k3s-harden %s --help)", cmd->name, cmd->name);
		return EXIT_USAGE;
	}
	return check_root(c);
}

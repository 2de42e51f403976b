/* k3s-harden: make a K3s host comply with the CIS Kubernetes Benchmark. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ynode.h"

#define VERSION "0.1.0"

enum {
	ALLOW_OUT = 1 << 0,
	ALLOW_APPLY = 1 << 1,   /* --dry-run, --no-restart, --live */
	ALLOW_ROLLBACK = 1 << 2, /* --force */
	ALLOW_DIFF = 1 << 5,    /* --live */
	NO_RESTART_LIVE = 1 << 3,
	DRY_RUN = 1 << 4,
};

struct command {
	const char *name;
	int (*fn)(struct cli *c);
	int min_args, max_args;
	unsigned flags;
};

static const struct command commands[] = {
	{ "render",  cmd_render,  0, 0, ALLOW_OUT },
	{ "diff",    cmd_diff,    0, 0, ALLOW_DIFF },
	{ "apply",   cmd_apply,   0, 0, ALLOW_APPLY },
	{ "rollback", cmd_rollback, 0, 1, ALLOW_ROLLBACK },
	{ "history", cmd_history, 0, 0, 0 },
	{ "profile", cmd_profile, 1, 2, 0 },
};

static const char usage_text[] =
	"usage: k3s-harden [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
	"\n"
	"Make a K3s host comply with the CIS Kubernetes Benchmark, as the K3s CIS\n"
	"Hardening Guide configures it.\n"
	"\n"
	"Global options:\n"
	"  -p, --profile NAME|FILE   built-in profile or a profile file (default: cis)\n"
	"  -r, --root DIR            operate on the tree under DIR instead of /\n"
	"  -t, --templates DIR       templates that override the built-in ones\n"
	"      --output text|json    format of what the command prints (default text)\n"
	"      --color auto|always|never\n"
	"  -q, --quiet / -v, --verbose\n"
	"  -h, --help / -V, --version\n"
	"\n"
	"Commands:\n"
	"  render [--out DIR]        render every artifact; with --out, write them under\n"
	"                            DIR at their host paths, else print each after a\n"
	"                            '==> PATH <==' line\n"
	"  diff [--live]             what apply would change, as a patch -p1 accepts it\n"
	"  apply [--dry-run] [--no-restart] [--live]\n"
	"                            one transaction: backups, atomic writes, live kernel\n"
	"                            parameters, daemon-reload and K3s restart with a\n"
	"                            health gate; automatic restore on failure\n"
	"  rollback [GENERATION] [--force] [--no-restart] [--live]\n"
	"                            put back the files of a generation (default: the\n"
	"                            last committed apply) as a transaction of its own\n"
	"  history                   backup generations: id, time, profile, files, result\n"
	"  profile list              built-in profiles with a one-line description\n"
	"  profile show [NAME|FILE]  the fully resolved profile (extends applied) as YAML\n"
	"  profile validate FILE     check a profile; errors as FILE:LINE:COL: message\n"
	"\n"
	"Exit codes: 0 success; 1 diff: something would change; 2 usage or input\n"
	"error, nothing was changed; 3 apply/rollback failed and the host was\n"
	"restored; 4 failed and could not restore (the message says what is left).\n";

static int parse_args(struct cli *c, int argc, char **argv, const struct command **cmd)
{
	enum { OPT_OUTPUT = 256, OPT_COLOR, OPT_OUT, OPT_DRY_RUN, OPT_NO_RESTART, OPT_LIVE, OPT_FORCE };
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "root", required_argument, NULL, 'r' },
		{ "templates", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "no-restart", no_argument, NULL, OPT_NO_RESTART },
		{ "live", no_argument, NULL, OPT_LIVE },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 },
	};
	unsigned used = 0;
	size_t i;
	int o;

	opterr = 0;
	while ((o = getopt_long(argc, argv, ":p:r:t:qvhV", opts, NULL)) != -1) {
		switch (o) {
		case 'p': c->profile = optarg; break;
		case 'r': c->root = optarg; break;
		case 't': c->templates = optarg; break;
		case 'q': c->verbose = -1; break;
		case 'v': c->verbose = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case 'V':
			printf("k3s-harden %s\n", VERSION);
			return -1;
		case OPT_OUTPUT:
			if (strcmp(optarg, "text") == 0) {
				c->output = OUTPUT_TEXT;
			} else if (strcmp(optarg, "json") == 0) {
				c->output = OUTPUT_JSON;
			} else {
				cli_error("--output takes text or json, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "auto") == 0) {
				c->color = COLOR_AUTO;
			} else if (strcmp(optarg, "always") == 0) {
				c->color = COLOR_ALWAYS;
			} else if (strcmp(optarg, "never") == 0) {
				c->color = COLOR_NEVER;
			} else {
				cli_error("--color takes auto, always or never, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_OUT: c->out_dir = optarg; used |= ALLOW_OUT; break;
		case OPT_DRY_RUN: c->dry_run = true; used |= DRY_RUN; break;
		case OPT_NO_RESTART: c->no_restart = true; used |= NO_RESTART_LIVE; break;
		case OPT_LIVE: c->live = true; used |= NO_RESTART_LIVE; break;
		case OPT_FORCE: c->force = true; used |= ALLOW_ROLLBACK; break;
		case ':':
			cli_error("option '%s' needs a value", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			cli_error("unknown option '%s' (see --help)", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[optind]) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		cli_error("unknown command '%s' (see --help)", argv[optind]);
		return EXIT_USAGE;
	}
	*cmd = &commands[i];
	c->argc = argc - optind - 1;
	c->argv = argv + optind + 1;
	if (c->argc < (*cmd)->min_args || c->argc > (*cmd)->max_args) {
		cli_error("%s: wrong number of arguments (see --help)", (*cmd)->name);
		return EXIT_USAGE;
	}
	/* --no-restart and --live belong to apply and rollback */
	if ((used & NO_RESTART_LIVE) && ((*cmd)->flags & (ALLOW_APPLY | ALLOW_ROLLBACK)))
		used &= ~(unsigned)NO_RESTART_LIVE;
	if ((used & NO_RESTART_LIVE) && ((*cmd)->flags & ALLOW_DIFF) && !c->no_restart)
		used &= ~(unsigned)NO_RESTART_LIVE;
	if ((used & DRY_RUN) && ((*cmd)->flags & ALLOW_APPLY))
		used &= ~(unsigned)DRY_RUN;
	if (used & ~(*cmd)->flags) {
		cli_error("%s: option not valid for this command (see --help)", (*cmd)->name);
		return EXIT_USAGE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c;
	const struct command *cmd = NULL;
	char *root_buf = NULL;
	int r;

	umask(077);
	memset(&c, 0, sizeof(c));
	c.profile = "cis";
	c.root = "/";
	r = parse_args(&c, argc, argv, &cmd);
	if (r == -1)
		return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_USAGE;
	if (r != 0)
		return r;
	if (c.root[0] == '\0') {
		cli_error("--root must not be empty");
		return EXIT_USAGE;
	}
	{
		struct stat st;

		if (stat(c.root, &st) < 0 || !S_ISDIR(st.st_mode)) {
			cli_error("--root '%s' is not a directory", c.root);
			return EXIT_USAGE;
		}
		/* "//" or "/." is the real root too: live, not offline */
		root_buf = realpath(c.root, NULL);
		if (!root_buf) {
			cli_error("--root '%s': %s", c.root, strerror(errno));
			return EXIT_USAGE;
		}
		c.root = root_buf;
	}
	r = cmd->fn(&c);
	ynode_intern_free();
	free(root_buf);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("error writing to standard output: %s", strerror(errno));
		return r > EXIT_USAGE ? r : EXIT_USAGE;
	}
	return r;
}

/* k3s-harden: make a K3s host comply with the CIS Kubernetes Benchmark. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ynode.h"

/* One table of commands; each parses its own options (src/cmd-NAME.c). */
static const struct cli_command *find(const char *name)
{
	size_t i;

	for (i = 0; i < cli_n_commands; i++)
		if (strcmp(cli_commands[i]->name, name) == 0)
			return cli_commands[i];
	return NULL;
}

/* help [COMMAND], with the global options (--output json) anywhere */
static int no_option(void *ctx, int key, const char *arg)
{
	(void)ctx;
	(void)key;
	(void)arg;
	return 0;
}

static const struct cli_command help_command = {
	"help", NULL, "help [COMMAND]",
	"usage; with a command, that command's usage, options and exit codes",
	"Show the usage, or with a command that command's usage, options and exit codes.",
	NULL, "Exit codes: 0 shown; 2 unknown command.\n",
};

static int help(struct cli *c, int argc, char **argv)
{
	const struct cli_command *cmd;
	char **args;
	int n, rc;

	rc = cli_parse(c, &help_command, argc, argv, no_option, NULL, 0, 1, &args, &n);
	if (rc != EXIT_OK)
		return rc == -1 ? EXIT_OK : rc;
	if (n == 0) {
		cli_help(NULL);
		return EXIT_OK;
	}
	if (!(cmd = find(args[0]))) {
		cli_error("help: unknown command '%s' (see k3s-harden --help)", args[0]);
		return EXIT_USAGE;
	}
	cli_help(cmd);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct cli_command *cmd;
	struct cli c;
	int r;

	umask(077);
	memset(&c, 0, sizeof(c));
	c.profile = "cis";
	c.root = "/";
	r = cli_parse_globals(&c, argc, argv);
	if (r == -1)
		return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_USAGE;
	if (r != EXIT_OK)
		return cli_json_finish(r);
	if (optind >= argc) {
		cli_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		r = help(&c, argc - optind, argv + optind);
	} else if (!(cmd = find(argv[optind]))) {
		cli_error("unknown command '%s' (see --help)", argv[optind]);
		return cli_json_finish(EXIT_USAGE);
	} else {
		r = cmd->fn(&c, argc - optind, argv + optind);
		if (r == -1)
			r = EXIT_OK;    /* --help or --version */
	}
	/* --output json: a failure without a document of its own gets one */
	r = cli_json_finish(r);
	ynode_intern_free();
	free(c.root_buf);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("error writing to standard output: %s", strerror(errno));
		/* the host was changed: saying "nothing was changed" (2) would be false */
		if (c.committed && r == EXIT_OK)
			return EXIT_REPORT;
		return r > EXIT_USAGE ? r : EXIT_USAGE;
	}
	return r;
}

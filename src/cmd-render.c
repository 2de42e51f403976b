/* k3s-harden render [--out DIR] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "host.h"
#include "json.h"
#include "benchmark.h"
#include "render.h"
#include "sha256.h"

static int write_out(const char *out_dir, const struct artifacts *arts)
{
	size_t i;
	int r;

	if (mkdir(out_dir, 0755) < 0 && errno != EEXIST) {
		cli_error("cannot create '%s': %s", out_dir, strerror(errno));
		return EXIT_USAGE;
	}
	for (i = 0; i < arts->n; i++) {
		const struct artifact *a = &arts->v[i];
		char *dir = NULL, *base = NULL;
		int dfd;

		if (a->kind == ART_DIR) {
			r = root_open_dir(out_dir, a->path, true, a->mode, &dfd);
			if (r == 0)
				close(dfd);
		} else {
			r = path_split(a->path, &dir, &base);
			if (r == 0)
				r = root_open_dir(out_dir, dir, true, 0755, &dfd);
			if (r == 0) {
				r = write_atomic_at(dfd, base, a->data, a->len, a->mode, 0, 0, false);
				close(dfd);
			}
		}
		free(dir);
		free(base);
		if (r < 0) {
			cli_error("cannot write '%s%s': %s", out_dir, a->path, strerror(-r));
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

static void print_json(const char *out_dir, const struct profile *p, enum profile_role role,
		       const struct artifacts *arts)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_adds(&b, "{\"profile\":");
	json_str(&b, p->name);
	if (p->env.bench) {
		buf_adds(&b, ",\"benchmark\":");
		json_str(&b, p->env.bench->name);
	}
	if (p->env.k3s_version) {
		buf_adds(&b, ",\"k3s_version\":");
		json_str(&b, p->env.k3s_version);
	}
	buf_printf(&b, ",\"role\":\"%s\"", profile_role_name(role));
	if (out_dir) {
		buf_adds(&b, ",\"out\":");
		json_str(&b, out_dir);
	}
	buf_adds(&b, ",\"artifacts\":[");
	for (i = 0; i < arts->n; i++) {
		const struct artifact *a = &arts->v[i];

		buf_adds(&b, i ? ",{\"path\":" : "{\"path\":");
		json_str(&b, a->path);
		buf_printf(&b, ",\"kind\":\"%s\",\"mode\":\"%04o\"",
			   a->kind == ART_DIR ? "directory" : "file", (unsigned)a->mode);
		if (a->kind == ART_FILE) {
			char hex[65];

			sha256_hex(a->data, a->len, hex);
			buf_printf(&b, ",\"sha256\":\"%s\",\"size\":%zu,\"template\":", hex, a->len);
			json_str(&b, a->tmpl);
		}
		buf_printf(&b, ",\"needs_restart\":%s}", a->needs_restart ? "true" : "false");
	}
	buf_adds(&b, "]");
	cli_json_end(&b);
	cli_json_print(&b);
	buf_free(&b);
}

enum { OPT_OUT = 256 };

static const struct cli_option options[] = {
	{ "out", OPT_OUT, "DIR", "write every artifact under DIR at its host path" },
	{ NULL, 0, NULL, NULL },
};

static int set(void *ctx, int key, const char *arg)
{
	if (key == OPT_OUT)
		*(const char **)ctx = arg;
	return 0;
}

static int cmd_render(struct cli *c, int argc, char **argv)
{
	const char *out_dir = NULL;
	char **args;
	int n;
	struct profile_doc *doc = NULL;
	struct artifacts arts = { NULL, 0, 0 };
	struct diags d = { NULL, 0, 0 };
	struct render_opts ro;
	struct host_view view;
	struct diags w = { NULL, 0, 0 };
	char *data_dir = NULL;
	size_t i;
	int rc, r;

	memset(&view, 0, sizeof(view));
	rc = cli_parse(c, &render_command, argc, argv, set, &out_dir, 0, 0, &args, &n);
	if (rc != EXIT_OK)
		return rc;
	rc = cli_load_profile(c, NULL, &doc);
	if (rc != EXIT_OK)
		return rc;
	rc = cli_fit_profile(c, &doc);
	if (rc != EXIT_OK) {
		profile_doc_free(doc);
		return rc;
	}
	memset(&ro, 0, sizeof(ro));
	ro.templates_dir = c->templates;
	rc = cli_resolve_role(c, doc->p, &ro.role);
	if (rc != EXIT_OK)
		goto out;
	/* the paths under K3s's data-dir follow the host's, as diff and apply do */
	r = host_data_dir(c->root, doc->p, &data_dir, &d);
	if (r == 0)
		r = host_view_init(&view, doc->p, data_dir, &w);
	cli_print_warnings(c, &w);
	diags_free(&w);
	if (r == 0)
		r = render_profile(&view.p, &ro, &arts, &d);
	host_view_free(&view);
	free(data_dir);
	cli_print_diags(&d);
	diags_free(&d);
	if (r < 0) {
		if (r == -ENOMEM)
			cli_error("out of memory");
		rc = EXIT_USAGE;
		goto out;
	}
	if (out_dir) {
		rc = write_out(out_dir, &arts);
		if (rc != EXIT_OK)
			goto out;
	}
	if (c->output == OUTPUT_JSON) {
		print_json(out_dir, doc->p, ro.role, &arts);
	} else {
		for (i = 0; i < arts.n; i++) {
			const struct artifact *a = &arts.v[i];

			if (out_dir) {
				if (c->verbose >= 0)
					printf("wrote %s%s%s (%04o)\n", out_dir, a->path,
					       a->kind == ART_DIR ? "/" : "", (unsigned)a->mode);
				continue;
			}
			if (a->kind == ART_DIR) {
				printf("==> %s/ <== directory, mode %04o\n\n", a->path, (unsigned)a->mode);
				continue;
			}
			printf("==> %s <== mode %04o%s\n", a->path, (unsigned)a->mode,
			       a->needs_restart ? ", K3s restart" : "");
			fwrite(a->data, 1, a->len, stdout);
			if (i + 1 < arts.n)
				putchar('\n');
		}
	}
out:
	artifacts_free(&arts);
	profile_doc_free(doc);
	return rc;
}

const struct cli_command render_command = {
	"render", cmd_render, "render [--out DIR]",
	"render every artifact; with --out, write them under DIR",
	"Render every artifact of the profile. With --out, write them under DIR at\n"
	"their host paths (DIR/etc/sysctl.d/90-kubelet.conf, ...); without, print\n"
	"each after a '==> PATH <==' line.",
	options,
	"Exit codes: 0 success; 2 usage or input error (bad profile or template),\n"
	"nothing was written.\n",
};

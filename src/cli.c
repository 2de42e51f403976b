/* Helpers shared by the commands: messages, profile loading, role. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "host.h"
#include "json.h"
#include "plan.h"
#include "sha256.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("k3s-harden: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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

static void print_diags(const struct diags *d, const char *prefix)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);

		if (s)
			fprintf(stderr, "%s%s\n", prefix, s);
		free(s);
	}
}

void cli_print_diags(const struct diags *d)
{
	print_diags(d, "");
}

void cli_print_warnings(const struct cli *c, const struct diags *d)
{
	if (c->verbose >= 0)
		print_diags(d, "warning: ");
}

int cli_load_profile(const struct cli *c, const char *name, struct profile_doc **out)
{
	struct diags d = { NULL, 0, 0 };
	int r;

	r = profile_load(name ? name : c->profile, out, &d);
	cli_print_diags(&d);
	if (r < 0 && d.n == 0)
		cli_error("cannot load profile '%s': %s", name ? name : c->profile, strerror(-r));
	diags_free(&d);
	return r < 0 ? EXIT_USAGE : EXIT_OK;
}

enum profile_role cli_resolve_role(const struct cli *c, const struct profile *p)
{
	const char *why;
	enum profile_role r;

	if (p->role != ROLE_AUTO)
		return p->role;
	r = host_detect_role(c->root, &why);
	cli_note(c, "role auto: %s (%s)", r == ROLE_AGENT ? "agent" : "server", why);
	return r;
}

static const char *const action_names[] = { "unchanged", "create", "update", "remove" };

static void hex_or_null(struct buf *b, const char *key, const char *data, size_t len)
{
	char hex[65];

	if (!data) {
		buf_printf(b, ",\"%s\":null", key);
		return;
	}
	sha256_hex(data, len, hex);
	buf_printf(b, ",\"%s\":\"%s\"", key, hex);
}

void cli_json_files(struct buf *b, const struct plan *pl)
{
	size_t i;

	buf_adds(b, "\"files\":[");
	for (i = 0; i < pl->n; i++) {
		const struct change *ch = &pl->v[i];

		buf_adds(b, i ? ",{\"path\":" : "{\"path\":");
		json_str(b, ch->path);
		buf_printf(b, ",\"kind\":\"%s\",\"action\":\"%s\"",
			   ch->kind == ART_DIR ? "directory" : "file", action_names[ch->action]);
		if (ch->kind == ART_FILE) {
			hex_or_null(b, "old_sha256", ch->old_data, ch->old_len);
			hex_or_null(b, "new_sha256", ch->new_data, ch->new_len);
		}
		if (ch->action == ACT_REMOVE)
			buf_adds(b, ",\"mode\":null");
		else
			buf_printf(b, ",\"mode\":\"%04o\"", (unsigned)ch->mode);
		if (ch->action == ACT_CREATE)
			buf_adds(b, ",\"old_mode\":null");
		else
			buf_printf(b, ",\"old_mode\":\"%04o\"", (unsigned)ch->old_mode);
		buf_printf(b, ",\"needs_restart\":%s}", ch->needs_restart ? "true" : "false");
	}
	buf_adds(b, "]");
}

void cli_json_drift(struct buf *b, const struct plan *pl)
{
	size_t i;

	buf_adds(b, ",\"kernel\":[");
	for (i = 0; i < pl->n_drift; i++) {
		buf_adds(b, i ? ",{\"key\":" : "{\"key\":");
		json_str(b, pl->drift[i].key);
		buf_adds(b, ",\"live\":");
		if (pl->drift[i].live)
			json_str(b, pl->drift[i].live);
		else
			buf_adds(b, "null");
		buf_adds(b, ",\"want\":");
		json_str(b, pl->drift[i].want);
		buf_addc(b, '}');
	}
	buf_addc(b, ']');
}

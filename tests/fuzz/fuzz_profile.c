/*
 * The profile loader on arbitrary bytes: load (parse, extends, schema,
 * validate); a profile that loads renders without error (every YAML artifact
 * parses back), and what `profile show` prints loads again to the same dump.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "diag.h"
#include "profile.h"
#include "render.h"
#include "ynode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static void die(const char *what)
{
	fprintf(stderr, "check failed: %s\n", what);
	abort();
}

static char dir[64], in_path[96], out_path[96];

static void put(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	CHECK(fp);
	CHECK(fwrite(data, 1, len, fp) == len);
	CHECK(fclose(fp) == 0);
}

static void print_diags(const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);

		fprintf(stderr, "%s\n", s ? s : "?");
		free(s);
	}
}

static void setup(void)
{
	char sub[96];

	snprintf(dir, sizeof(dir), "%s/k3h-fuzz-profile-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	CHECK(mkdtemp(dir));
	/* a dump in another directory: inputs cannot extend it by a relative name */
	snprintf(sub, sizeof(sub), "%s/in", dir);
	CHECK(mkdir(sub, 0700) == 0);
	snprintf(sub, sizeof(sub), "%s/out", dir);
	CHECK(mkdir(sub, 0700) == 0);
	snprintf(in_path, sizeof(in_path), "%s/in/p.yaml", dir);
	snprintf(out_path, sizeof(out_path), "%s/out/show.yaml", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = { NULL, 0, 0 };
	struct profile_doc *doc = NULL, *again = NULL;
	struct artifacts arts = { NULL, 0, 0 };
	struct buf dump = BUF_INIT, dump2 = BUF_INIT;
	struct render_opts ro;
	int r;

	if (!dir[0])
		setup();
	put(in_path, data, size);
	r = profile_load(in_path, &doc, &d);
	if (r < 0) {
		/* refused with a reason */
		CHECK(r == -ENOMEM || d.n > 0);
		goto out;
	}
	ro.templates_dir = NULL;
	ro.role = doc->p->role == ROLE_AGENT ? ROLE_AGENT : ROLE_SERVER;
	r = render_profile(doc->p, &ro, &arts, &d);
	if (r < 0 && r != -ENOMEM) {
		print_diags(&d);
		die("a valid profile renders");
	}
	artifacts_free(&arts);
	CHECK(profile_dump(doc, &dump) == 0);
	put(out_path, dump.data ? dump.data : "", dump.len);
	diags_free(&d);
	r = profile_load(out_path, &again, &d);
	if (r < 0) {
		print_diags(&d);
		fprintf(stderr, "--- dump:\n%.*s\n", (int)dump.len, dump.data ? dump.data : "");
		die("profile show output loads again");
	}
	CHECK(profile_dump(again, &dump2) == 0);
	if (dump.len != dump2.len || memcmp(dump.data, dump2.data, dump.len) != 0) {
		fprintf(stderr, "--- first:\n%.*s\n--- again:\n%.*s\n", (int)dump.len, dump.data,
			(int)dump2.len, dump2.data);
		die("the dump reloads to the same dump");
	}
out:
	unlink(out_path);
	profile_doc_free(doc);
	profile_doc_free(again);
	buf_free(&dump);
	buf_free(&dump2);
	diags_free(&d);
	ynode_intern_free();
	return 0;
}

/* Loading the checked, merged tree into struct profile with libcyaml, and freeing it. */
#include "profile_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cyaml/cyaml.h>

#include "benchmark.h"
#include "buf.h"
#include "cylog.h"
#include "profile_schema.h"
#include "yemit.h"

/*
 * Until the K3s version is known (k3s_version.h k3s_env_apply), control keys
 * show as the IDs of the profile's benchmark, or of the newest one.
 */
static void default_benchmark(struct profile *p)
{
	const char *const *names;
	const char *name;
	size_t n;

	names = benchmark_names(&n);
	if (n == 0)
		return;
	name = p->benchmark && strcmp(p->benchmark, "auto") != 0 ? p->benchmark : names[n - 1];
	p->env.bench = benchmark_find(name);    /* NULL: validation names a bad benchmark */
}

int profile_cyaml_load(struct profile_ctx *c, const struct ynode *tree, struct profile **out)
{
	struct buf text = BUF_INIT;
	struct buf log = BUF_INIT;
	cyaml_config_t cfg;
	cyaml_data_t *data = NULL;
	cyaml_err_t e;
	int r;

	cylog_config(&cfg, &log);
	if ((r = yemit(&text, tree)) < 0)
		goto out;
	e = cyaml_load_data((const uint8_t *)text.data, text.len, &cfg, &profile_schema, &data, NULL);
	if (e != CYAML_OK) {
		/* The schema check should have caught it; say what libcyaml said,
		 * unless problems it reported already explain it. */
		if (!c->err)
			pctx_err(c, tree, NULL, "profile: %s%s%s", cyaml_strerror(e),
				 log.len ? ": " : "", log.len ? log.data : "");
		r = e == CYAML_ERR_OOM ? -ENOMEM : -EINVAL;
		goto out;
	}
	default_benchmark(data);
	*out = data;
out:
	buf_free(&text);
	buf_free(&log);
	return r;
}

void profile_cyaml_free(struct profile *p)
{
	struct buf log = BUF_INIT;
	cyaml_config_t cfg;

	if (!p)
		return;
	/* not in the schema: set after loading */
	free(p->env.k3s_version);
	memset(&p->env, 0, sizeof(p->env));
	cylog_config(&cfg, &log);
	cyaml_free(&cfg, &profile_schema, p, 0);
	buf_free(&log);
}

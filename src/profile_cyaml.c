/* Loading the checked, merged tree into struct profile with libcyaml, and freeing it. */
#include "profile_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cyaml/cyaml.h>

#include "benchmark.h"
#include "buf.h"
#include "profile_schema.h"
#include "yemit.h"

struct cylog {
	struct buf msg;
};

static void cyaml_log_capture(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
	__attribute__((format(printf, 3, 0)));

static void cyaml_log_capture(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	struct cylog *cl = ctx;

	if (level >= CYAML_LOG_ERROR)
		buf_vprintf(&cl->msg, fmt, args);
}

/* One configuration per call, so its log context never outlives the caller. */
static void cyaml_cfg_init(cyaml_config_t *cfg, struct cylog *cl)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_fn = cyaml_log_capture;
	cfg->log_ctx = cl;
	cfg->mem_fn = cyaml_mem;
	cfg->log_level = CYAML_LOG_ERROR;
	cfg->flags = CYAML_CFG_NO_ALIAS;
}

/*
 * Until the K3s version is known (k3s_version.h k3s_env_apply), control keys
 * show as the IDs of the profile's benchmark, or of the newest one.
 */
static void default_benchmark(struct profile *p)
{
	struct diags d = { NULL, 0, 0 };
	const char *const *names;
	const char *name;
	size_t n;

	names = benchmark_names(&n);
	if (n == 0)
		return;
	name = p->benchmark && strcmp(p->benchmark, "auto") != 0 ? p->benchmark : names[n - 1];
	if (benchmark_load(name, &p->env.bench, &d) < 0)
		p->env.bench = NULL;    /* validation names a bad benchmark */
	diags_free(&d);
}

int profile_cyaml_load(struct profile_ctx *c, const struct ynode *tree, struct profile **out)
{
	struct buf text = BUF_INIT;
	struct cylog cl = { BUF_INIT };
	cyaml_config_t cfg;
	cyaml_data_t *data = NULL;
	cyaml_err_t e;
	int r;

	cyaml_cfg_init(&cfg, &cl);
	if ((r = yemit(&text, tree)) < 0)
		goto out;
	e = cyaml_load_data((const uint8_t *)text.data, text.len, &cfg, &profile_schema, &data, NULL);
	if (e != CYAML_OK) {
		/* The schema check should have caught it; say what libcyaml said,
		 * unless problems it reported already explain it. */
		if (!c->err)
			pctx_err(c, tree, NULL, "profile: %s%s%s", cyaml_strerror(e),
				 cl.msg.len ? ": " : "", cl.msg.len ? cl.msg.data : "");
		r = e == CYAML_ERR_OOM ? -ENOMEM : -EINVAL;
		goto out;
	}
	default_benchmark(data);
	*out = data;
out:
	buf_free(&text);
	buf_free(&cl.msg);
	return r;
}

void profile_cyaml_free(struct profile *p)
{
	struct cylog cl = { BUF_INIT };
	cyaml_config_t cfg;

	if (!p)
		return;
	/* not in the schema: set after loading */
	free(p->env.k3s_version);
	benchmark_free(p->env.bench);
	memset(&p->env, 0, sizeof(p->env));
	cyaml_cfg_init(&cfg, &cl);
	cyaml_free(&cfg, &profile_schema, p, 0);
	buf_free(&cl.msg);
}

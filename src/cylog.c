#include "cylog.h"

#include <stdarg.h>
#include <string.h>

static void capture(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
	__attribute__((format(printf, 3, 0)));

static void capture(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	if (level >= CYAML_LOG_ERROR)
		buf_vprintf(ctx, fmt, args);
}

void cylog_config(cyaml_config_t *cfg, struct buf *log)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_fn = capture;
	cfg->log_ctx = log;
	cfg->mem_fn = cyaml_mem;
	cfg->log_level = CYAML_LOG_ERROR;
	cfg->flags = CYAML_CFG_NO_ALIAS;
}

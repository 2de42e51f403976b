/*
 * One libcyaml configuration per call, with libcyaml's error log captured
 * into a buffer (STYLE.md: its messages become ours), aliases refused.
 * The configuration points at log: it must not outlive it.
 */
#ifndef K3H_CYLOG_H
#define K3H_CYLOG_H

#include <cyaml/cyaml.h>

#include "buf.h"

void cylog_config(cyaml_config_t *cfg, struct buf *log);

#endif

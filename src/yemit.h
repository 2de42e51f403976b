/* Write a ynode tree as block-style YAML (profile show, cyaml input). */
#ifndef K3H_YEMIT_H
#define K3H_YEMIT_H

#include "buf.h"
#include "ynode.h"

int yemit(struct buf *out, const struct ynode *n);

#endif

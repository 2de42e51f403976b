/* Minimal JSON writing for --output json. */
#ifndef K3H_JSON_H
#define K3H_JSON_H

#include "buf.h"

/* Append s as a JSON string literal (with quotes). */
int json_str(struct buf *out, const char *s);

#endif

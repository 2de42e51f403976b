#include "json.h"

#include <string.h>

#include "ynode.h"

int json_str(struct buf *out, const char *s)
{
	int r = buf_addc(out, '"');

	for (; *s && r == 0; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			r = buf_printf(out, "\\%c", c);
		else if (c == '\n')
			r = buf_adds(out, "\\n");
		else if (c < 0x20 || c == 0x7f)
			r = buf_printf(out, "\\u%04x", c);
		else
			r = buf_addc(out, (char)c);
	}
	return r ? r : buf_addc(out, '"');
}

static bool json_integer(const char *s)
{
	size_t i = s[0] == '-';

	if (!s[i] || (s[i] == '0' && s[i + 1]) || strlen(s + i) > 15)
		return false;
	return strspn(s + i, "0123456789") == strlen(s + i);
}

int json_ynode(struct buf *out, const struct ynode *n)
{
	size_t i;
	int r = 0;

	if (!n)
		return buf_adds(out, "null");
	switch (n->kind) {
	case YN_MAP:
		r = buf_addc(out, '{');
		for (i = 0; i < n->n && r == 0; i++) {
			if (i)
				r = buf_addc(out, ',');
			if (r == 0)
				r = json_str(out, n->keys[i]->value);
			if (r == 0)
				r = buf_addc(out, ':');
			if (r == 0)
				r = json_ynode(out, n->items[i]);
		}
		return r ? r : buf_addc(out, '}');
	case YN_SEQ:
		r = buf_addc(out, '[');
		for (i = 0; i < n->n && r == 0; i++) {
			if (i)
				r = buf_addc(out, ',');
			if (r == 0)
				r = json_ynode(out, n->items[i]);
		}
		return r ? r : buf_addc(out, ']');
	case YN_SCALAR:
		break;
	}
	if (n->plain) {
		const char *v = n->value ? n->value : "";

		if (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0)
			return buf_adds(out, "null");
		if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0 || json_integer(v))
			return buf_adds(out, v);
	}
	return json_str(out, n->value ? n->value : "");
}

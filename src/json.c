#include "json.h"

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

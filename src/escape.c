#include "escape.h"

#include <errno.h>
#include <string.h>

/* Decode one UTF-8 sequence at s (n bytes left): code point, or -1 if invalid. */
static long utf8_decode(const unsigned char *s, size_t n, size_t *used)
{
	unsigned c = s[0];
	size_t need, i;
	unsigned long cp;

	if (c < 0x80) {
		*used = 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
	} else {
		return -1;
	}
	if (n < need + 1)
		return -1;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*used = need + 1;
	return (long)cp;
}

static bool is_word(const char *s, size_t len, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == len && memcmp(*words, s, len) == 0)
			return true;
	return false;
}

bool yaml_plain_safe(const char *s, size_t len)
{
	/* Words YAML 1.1 or 1.2 resolve to booleans or null. */
	static const char *const special[] = {
		"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE",
		"on", "On", "ON", "off", "Off", "OFF",
		"null", "Null", "NULL", "~", NULL
	};
	size_t i;

	if (len == 0 || is_word(s, len, special))
		return false;
	/* Only a letter, '_' or '/' may start it: that rules out numbers
	 * (1.25, 0x1f, .5, -1, +1) and indicators such as @ = ` - ?. */
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      s[0] == '_' || s[0] == '/'))
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' ||
		    c == '-' || c == '=' || c == ',' || c == '+' || c == '@')
			continue;
		return false;
	}
	return true;
}

/* Code points a YAML parser folds or treats as a break inside quotes. */
static bool needs_double(long cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	       cp == 0x2028 || cp == 0x2029 || cp == 0xfeff ||
	       cp == 0xfffe || cp == 0xffff;
}

static int quote(struct buf *out, const char *s, size_t len, bool flow, char style)
{
	const unsigned char *u = (const unsigned char *)s;
	bool dbl = style == '"';
	size_t i, used;
	long cp;
	int r;

	if (!style && yaml_plain_safe(s, len) && !(flow && memchr(s, ',', len)))
		return buf_add(out, s, len);
	for (i = 0; i < len; i += used) {
		cp = utf8_decode(u + i, len - i, &used);
		if (cp < 0)
			return -EILSEQ;
		if (needs_double(cp))
			dbl = true;
	}
	if (!dbl) {
		if ((r = buf_addc(out, '\'')) < 0)
			return r;
		for (i = 0; i < len; i++) {
			if (s[i] == '\'' && (r = buf_addc(out, '\'')) < 0)
				return r;
			if ((r = buf_addc(out, s[i])) < 0)
				return r;
		}
		return buf_addc(out, '\'');
	}
	if ((r = buf_addc(out, '"')) < 0)
		return r;
	for (i = 0; i < len; i += used) {
		cp = utf8_decode(u + i, len - i, &used);
		switch (cp) {
		case '"':  r = buf_adds(out, "\\\""); break;
		case '\\': r = buf_adds(out, "\\\\"); break;
		case '\n': r = buf_adds(out, "\\n"); break;
		case '\t': r = buf_adds(out, "\\t"); break;
		case '\r': r = buf_adds(out, "\\r"); break;
		case 0:    r = buf_adds(out, "\\0"); break;
		default:
			if (needs_double(cp))
				r = cp < 0x100 ? buf_printf(out, "\\x%02lx", (unsigned long)cp)
					       : buf_printf(out, "\\u%04lx", (unsigned long)cp);
			else
				r = buf_add(out, s + i, used);
		}
		if (r < 0)
			return r;
	}
	return buf_addc(out, '"');
}

int yaml_quote(struct buf *out, const char *s, size_t len)
{
	return quote(out, s, len, false, 0);
}

int yaml_quote_flow(struct buf *out, const char *s, size_t len)
{
	return quote(out, s, len, true, 0);
}

int yaml_quote_as(struct buf *out, const char *s, size_t len, bool flow, char style)
{
	return quote(out, s, len, flow, style == '"' || style == '\'' ? style : 0);
}

int esc_yaml(struct buf *out, const char *s, size_t len, void *ctx)
{
	(void)ctx;
	return yaml_quote(out, s, len);
}

int esc_conf(struct buf *out, const char *s, size_t len, void *ctx)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -EINVAL;
	if (len && (s[0] == ' ' || s[len - 1] == ' '))
		return -EINVAL;
	return buf_add(out, s, len);
}

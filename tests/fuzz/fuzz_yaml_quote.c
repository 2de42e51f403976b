/*
 * YAML scalar quoting: for any string yaml_quote accepts, libyaml reads the
 * result back as one scalar holding exactly that string, and a plain result
 * is not one that a YAML 1.1 or 1.2 reader would take for a null, boolean or
 * number. The same for yaml_quote_flow inside a flow sequence.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "escape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* w as written, Capitalized or UPPER: the forms YAML 1.1 resolves. */
static bool word(const char *w, const char *s, size_t n)
{
	size_t i;
	bool lower = true, upper = true, cap = true;

	if (strlen(w) != n)
		return false;
	for (i = 0; i < n; i++) {
		char c = w[i], u = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;

		lower &= s[i] == c;
		upper &= s[i] == u;
		cap &= s[i] == (i == 0 || (i == 1 && w[0] == '.') ? u : c);
	}
	return lower || upper || cap;
}

/* [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)? : YAML 1.1 base 60 */
static bool sexagesimal(const char *s)
{
	const char *p = s + (*s == '-' || *s == '+');
	int groups = 0;

	if (*p < '1' || *p > '9')
		return false;
	while ((*p >= '0' && *p <= '9') || *p == '_')
		p++;
	while (*p == ':') {
		size_t d = strspn(p + 1, "0123456789");

		if (d < 1 || d > 2 || (d == 2 && p[1] > '5'))
			return false;
		p += 1 + d;
		groups++;
	}
	if (*p == '.')
		p += 1 + strspn(p + 1, "0123456789_");
	return groups > 0 && *p == '\0';
}

/* Plain scalars that YAML 1.1 or the 1.2 core schema resolve to non-strings. */
static bool special(const char *s, size_t n)
{
	static const char *const words[] = { "~", "null", "true", "false", "yes", "no", "on",
					     "off", "y", "n", ".inf", "-.inf", "+.inf", ".nan" };
	char tmp[64], *end;
	size_t i, k = 0;

	if (n == 0)
		return true;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (word(words[i], s, n))
			return true;
	if (n >= sizeof(tmp) || memchr(s, '\0', n))
		return false;
	/* numbers: YAML 1.1 digit separators ('_' after the first digit, not in
	 * an exponent) and base prefixes included */
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	{
		const char *d = tmp + (tmp[0] == '-' || tmp[0] == '+'), *e = strpbrk(d, "eE");
		const char *u = strchr(d, '_');

		if (*d == '_' || (u && e && u > e))
			return false;
		if (strncmp(d, "0o", 2) == 0)
			return d[2] && d[2] != '_' && strspn(d + 2, "01234567_") == strlen(d + 2);
		if (strncmp(d, "0b", 2) == 0)
			return d[2] && d[2] != '_' && strspn(d + 2, "01_") == strlen(d + 2);
		if (strncmp(d, "0x", 2) == 0)
			return d[2] && d[2] != '_' && strspn(d + 2, "0123456789abcdefABCDEF_") == strlen(d + 2);
	}
	if (tmp[0] == '-' || tmp[0] == '+' || tmp[0] == '.' || (tmp[0] >= '0' && tmp[0] <= '9')) {
		if (sexagesimal(tmp))
			return true;
		k = 0;
		for (i = 0; i < n; i++)
			if (s[i] != '_')
				tmp[k++] = s[i];
		tmp[k] = '\0';
		if (strpbrk(tmp, "xXpPiInN") || !strpbrk(tmp, "0123456789"))
			return false;
		strtod(tmp, &end);
		if (*end == '\0')
			return true;
	}
	return false;
}

/* Parse text; the one scalar (inside a one-item flow sequence with flow) must be s. */
static void read_back(const char *text, size_t tlen, const char *s, size_t n, bool flow)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int scalars = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_string(&p, (const unsigned char *)text, tlen);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			fprintf(stderr, "libyaml refused %.*s: %s\n", (int)tlen, text,
				p.problem ? p.problem : "?");
			abort();
		}
		switch (ev.type) {
		case YAML_SCALAR_EVENT:
			scalars++;
			if (ev.data.scalar.length != n || memcmp(ev.data.scalar.value, s, n) != 0) {
				fprintf(stderr, "read back differs: %.*s\n", (int)tlen, text);
				abort();
			}
			if (ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && special(s, n)) {
				fprintf(stderr, "plain but not a string: %.*s\n", (int)tlen, text);
				abort();
			}
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_ALIAS_EVENT:
			abort();
		case YAML_SEQUENCE_START_EVENT:
			if (!flow)
				abort();
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (scalars != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct buf b = BUF_INIT;
	int r;

	r = yaml_quote(&b, s, size);
	if (r == 0)
		read_back(b.data, b.len, s, size, false);
	else if (r != -EILSEQ && r != -ENOMEM)
		abort();
	buf_reset(&b);
	if (buf_addc(&b, '[') < 0)
		abort();
	r = yaml_quote_flow(&b, s, size);
	if (r == 0) {
		if (buf_addc(&b, ']') < 0)
			abort();
		read_back(b.data, b.len, s, size, true);
	} else if (r != -EILSEQ && r != -ENOMEM) {
		abort();
	}
	buf_free(&b);
	return 0;
}

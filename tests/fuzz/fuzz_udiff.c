/*
 * Unified diff: for two texts a and b, udiff(a, b) applied to a (by the
 * strict applier below, which checks every context and removed line)
 * reproduces b byte for byte; equal texts give no diff; udiff_stats counts
 * the same '+' and '-' lines. Input: one byte of context length (0-7), then
 * a, a NUL byte, b.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "udiff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

struct line {
	const char *s;
	size_t len;             /* with its '\n', if any */
};

/* Next line of [*p, end): its text with the newline. */
static bool next_line(const char **p, const char *end, struct line *l)
{
	const char *nl;

	if (*p >= end)
		return false;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	l->s = *p;
	l->len = nl ? (size_t)(nl - *p) + 1 : (size_t)(end - *p);
	*p += l->len;
	return true;
}

static unsigned long num(const char **p)
{
	unsigned long v = 0;

	CHECK(**p >= '0' && **p <= '9');
	while (**p >= '0' && **p <= '9')
		v = v * 10 + (unsigned long)(*(*p)++ - '0');
	return v;
}

static void range(const char **p, unsigned long *start, unsigned long *count)
{
	*start = num(p);
	*count = 1;
	if (**p == ',') {
		(*p)++;
		*count = num(p);
	}
}

/* Apply diff d to a into out; abort on anything that does not match. */
static void apply(const char *a, size_t alen, const char *d, size_t dlen, struct buf *out,
		  size_t *plus, size_t *minus, size_t *hunks)
{
	const char *ap = a, *aend = a + alen, *dp = d, *dend = d + dlen;
	unsigned long aline = 0;        /* lines of a consumed */
	struct line l, al;

	CHECK(next_line(&dp, dend, &l) && l.len > 4 && memcmp(l.s, "--- ", 4) == 0);
	CHECK(next_line(&dp, dend, &l) && l.len > 4 && memcmp(l.s, "+++ ", 4) == 0);
	while (next_line(&dp, dend, &l)) {
		unsigned long os, oc, ns, nc, seen_o = 0, seen_n = 0;
		const char *h = l.s;

		CHECK(l.len > 4 && memcmp(h, "@@ -", 4) == 0);
		h += 4;
		range(&h, &os, &oc);
		CHECK(*h++ == ' ' && *h++ == '+');
		range(&h, &ns, &nc);
		CHECK(memcmp(h, " @@\n", 4) == 0);
		(*hunks)++;
		/* an empty old range names the line before it */
		if (oc == 0)
			os++;
		CHECK(os >= aline + 1);
		while (aline + 1 < os) {
			CHECK(next_line(&ap, aend, &al));
			CHECK(buf_add(out, al.s, al.len) == 0);
			aline++;
		}
		while (seen_o < oc || seen_n < nc) {
			struct line t;
			const char *peek;
			size_t body;
			char kind;

			CHECK(next_line(&dp, dend, &l) && l.len >= 2 && l.s[l.len - 1] == '\n');
			kind = l.s[0];
			body = l.len - 1;
			/* "\ No newline at end of file" takes the newline off this line */
			peek = dp;
			if (next_line(&peek, dend, &t) && t.s[0] == '\\') {
				static const char nonl[] = "\\ No newline at end of file\n";

				CHECK(t.len == sizeof(nonl) - 1 && memcmp(t.s, nonl, t.len) == 0);
				dp = peek;
				body--;
			}
			if (kind == ' ' || kind == '-') {
				CHECK(next_line(&ap, aend, &al));
				CHECK(al.len == body && memcmp(al.s, l.s + 1, body) == 0);
				aline++;
				seen_o++;
			}
			if (kind == ' ' || kind == '+') {
				CHECK(buf_add(out, l.s + 1, body) == 0);
				seen_n++;
			}
			*plus += kind == '+';
			*minus += kind == '-';
			CHECK(kind == ' ' || kind == '-' || kind == '+');
		}
		CHECK(seen_o == oc && seen_n == nc);
	}
	CHECK(buf_add(out, ap, (size_t)(aend - ap)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *a, *b, *z;
	size_t alen, blen, plus = 0, minus = 0, hunks = 0;
	struct buf d = BUF_INIT, out = BUF_INIT;
	struct udiff_stats st;
	unsigned context;
	bool changed = false;
	int r;

	if (size < 1)
		return 0;
	context = (unsigned)(data[0] % 8);
	a = s + 1;
	z = memchr(a, '\0', size - 1);
	alen = z ? (size_t)(z - a) : size - 1;
	b = z ? z + 1 : a + alen;
	blen = (size_t)(s + size - b);
	r = udiff(a, alen, b, blen, "a/x", "b/x", context, &d, &changed);
	if (r == -ENOMEM)
		return 0;
	CHECK(r == 0);
	CHECK(changed == !(alen == blen && memcmp(a, b, alen) == 0));
	if (changed) {
		apply(a, alen, d.data, d.len, &out, &plus, &minus, &hunks);
		CHECK(out.len == blen && (blen == 0 || memcmp(out.data, b, blen) == 0));
		CHECK(udiff_stats(a, alen, b, blen, &st) == 0);
		CHECK(st.added == plus && st.removed == minus);
		if (context == 3)
			CHECK(st.hunks == hunks);
	} else {
		CHECK(d.len == 0);
	}
	buf_free(&d);
	buf_free(&out);
	return 0;
}

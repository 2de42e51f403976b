/*
 * Unified diffs: byte-exact diff -u hunks, minimal edit scripts (checked
 * against a dynamic-programming LCS and GNU diff), output that GNU patch
 * applies, and speed on a large file with one change.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "udiff.h"

#define GNU_DIFF "/usr/bin/diff"
#define GNU_PATCH "/usr/bin/patch"
#define TMP_PREFIX "/tmp/k3h-udiff-"

/* Random pairs per run, and how many of them also go through GNU diff. */
#ifndef RANDOM_CASES
#define RANDOM_CASES 2000
#endif
#ifndef GNU_CASES
#define GNU_CASES 200
#endif

/* Tokens at or above NONL are the last line of a file, without '\n'. */
#define NONL 1000
#define MAXTOK 64

/* ---- fixture: one mkdtemp directory per test ---- */

static int setup(void **state)
{
	char *dir = malloc(64);

	if (!dir)
		return -1;
	strcpy(dir, TMP_PREFIX "XXXXXX");
	if (!mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	char *dir = *state;
	int r = 0;

	if (strncmp(dir, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
		r = nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	return r;
}

/* ---- small helpers ---- */

static char *diff_str(const char *a, const char *b, const char *la, const char *lb,
		      unsigned ctx, bool *changed)
{
	struct buf out = BUF_INIT;

	assert_int_equal(udiff(a, strlen(a), b, strlen(b), la, lb, ctx, &out, changed), 0);
	return buf_steal(&out);
}

static void write_file(const char *path, const char *p, size_t n)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	if (n)
		assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static char *read_file(const char *path, size_t *len)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *fp = fopen(path, "r");

	assert_non_null(fp);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		assert_int_equal(buf_add(&b, chunk, n), 0);
	assert_int_equal(ferror(fp), 0);
	assert_int_equal(fclose(fp), 0);
	*len = b.len;
	return buf_steal(&b);
}

static char *read_cmd(const char *cmd, size_t *len, int *status)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *fp = popen(cmd, "r");

	assert_non_null(fp);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		assert_int_equal(buf_add(&b, chunk, n), 0);
	*status = pclose(fp);
	*len = b.len;
	return buf_steal(&b);
}

/* GNU diff of a -> b with the labels udiff gets in these tests. Plain
 * diff -u may skip the minimal script: it discards lines that recur often
 * before searching (1 small random case in ~20,000 came out 2 lines
 * longer), so ask for --minimal, which is otherwise the same output. */
static char *gnu_diff(const char *dir, const char *a, size_t alen, const char *b, size_t blen,
		      unsigned ctx, size_t *len)
{
	char pa[128], pb[128], cmd[512];
	char *out;
	int st;

	snprintf(pa, sizeof(pa), "%s/gnu-a", dir);
	snprintf(pb, sizeof(pb), "%s/gnu-b", dir);
	write_file(pa, a, alen);
	write_file(pb, b, blen);
	snprintf(cmd, sizeof(cmd), GNU_DIFF " --minimal -U%u --label A --label B %s %s", ctx, pa, pb);
	out = read_cmd(cmd, len, &st);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) <= 1);
	return out;
}

/* '+' and '-' lines after the two header lines. */
static size_t count_changed(const char *d, size_t len)
{
	size_t i = 0, line = 0, n = 0;

	while (i < len) {
		if (line >= 2 && (d[i] == '+' || d[i] == '-'))
			n++;
		while (i < len && d[i] != '\n')
			i++;
		i++;
		line++;
	}
	return n;
}

static size_t count_prefix(const char *d, const char *prefix)
{
	size_t n = 0, plen = strlen(prefix);
	const char *p = d;

	while (p && *p) {
		if (strncmp(p, prefix, plen) == 0)
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

/* ---- a strict patch applier that also checks diff -u's hunk shape ---- */

struct lines {
	const char **p;
	size_t *len;
	size_t n;
};

static void split_lines(const char *t, size_t len, struct lines *l)
{
	size_t i, start = 0, cap = 1;

	for (i = 0; i < len; i++)
		cap += t[i] == '\n';
	l->p = calloc(cap, sizeof(*l->p));
	l->len = calloc(cap, sizeof(*l->len));
	assert_non_null(l->p);
	assert_non_null(l->len);
	l->n = 0;
	for (i = 0; i < len; i++) {
		if (t[i] == '\n' || i + 1 == len) {
			l->p[l->n] = t + start;
			l->len[l->n++] = i + 1 - start;
			start = i + 1;
		}
	}
}

static void free_lines(struct lines *l)
{
	free(l->p);
	free(l->len);
}

static bool same(const char *p, size_t n, const char *q, size_t m)
{
	return n == m && (n == 0 || memcmp(p, q, n) == 0);
}

struct hunk_shape {
	size_t lead, trail;     /* context lines before the first, after the last change */
	size_t first, end;      /* old-side lines: first change, end of the last change */
};

static bool parse_range(const char **s, char sign, size_t *start, size_t *count)
{
	char *end;
	unsigned long l, c = 1;

	if (**s != sign)
		return false;
	l = strtoul(*s + 1, &end, 10);
	if (end == *s + 1)
		return false;
	if (*end == ',') {
		const char *q = end + 1;

		c = strtoul(q, &end, 10);
		if (end == q)
			return false;
	}
	*s = end;
	if (c > 0 && l == 0)
		return false;
	*count = c;
	*start = c ? l - 1 : l;
	return true;
}

/*
 * Apply diff text d to a into res, refusing anything GNU patch would fuzz
 * over, and check the hunks are cut as diff -u cuts them for ctx lines of
 * context. Returns NULL or what is wrong.
 */
static const char *apply(const char *a, size_t alen, const char *d, size_t dlen,
			 unsigned ctx, struct buf *res)
{
	static const char nonl[] = "\\ No newline at end of file\n";
	struct lines A, D;
	struct hunk_shape *hs;
	const char *err = NULL;
	size_t di = 2, ai = 0, nres = 0, nh = 0, k;
	const size_t c2 = 2 * (size_t)ctx;

	buf_reset(res);
	split_lines(a, alen, &A);
	split_lines(d, dlen, &D);
	hs = calloc(D.n + 1, sizeof(*hs));
	assert_non_null(hs);
	if (dlen && d[dlen - 1] != '\n') {
		err = "diff does not end with a newline";
		goto out;
	}
	if (D.n < 3 || strncmp(D.p[0], "--- ", 4) || strncmp(D.p[1], "+++ ", 4)) {
		err = "bad header";
		goto out;
	}
	while (di < D.n) {
		const char *s = D.p[di++];
		size_t as, ac, bs, bc, run = 0, first = SIZE_MAX, end = 0, lead = 0;
		char prev = 0;

		if (strncmp(s, "@@ ", 3)) {
			err = "expected a hunk header";
			goto out;
		}
		s += 3;
		if (!parse_range(&s, '-', &as, &ac) || *s++ != ' ' ||
		    !parse_range(&s, '+', &bs, &bc) || strncmp(s, " @@\n", 4)) {
			err = "malformed hunk header";
			goto out;
		}
		if (as < ai || as > A.n || bs != nres + (as - ai)) {
			err = "hunk header points to the wrong lines";
			goto out;
		}
		for (; ai < as; ai++, nres++)
			assert_int_equal(buf_add(res, A.p[ai], A.len[ai]), 0);
		while (ac || bc) {
			const char *p;
			size_t n;
			char tag;

			if (di >= D.n) {
				err = "hunk is cut short";
				goto out;
			}
			tag = D.p[di][0];
			p = D.p[di] + 1;
			n = D.len[di] - 1;
			di++;
			if (di < D.n && same(D.p[di], D.len[di], nonl, sizeof(nonl) - 1)) {
				n--;
				di++;
			}
			if (tag == ' ' || tag == '-') {
				if (!ac || (tag == ' ' && !bc) || ai >= A.n ||
				    !same(p, n, A.p[ai], A.len[ai])) {
					err = "context or removed line does not match";
					goto out;
				}
				ai++;
				ac--;
			}
			if (tag == ' ' || tag == '+') {
				if (!bc) {
					err = "too many new-side lines";
					goto out;
				}
				assert_int_equal(buf_add(res, p, n), 0);
				nres++;
				bc--;
			}
			if (tag != ' ' && tag != '-' && tag != '+') {
				err = "unknown line in hunk";
				goto out;
			}
			if (tag == ' ') {
				run++;
			} else {
				if (tag == '-' && prev == '+') {
					err = "'-' after '+' in one change";
					goto out;
				}
				if (first == SIZE_MAX) {
					first = ai - (tag == '-');
					lead = run;
				} else if (run > c2) {
					err = "more than 2*context lines between changes in a hunk";
					goto out;
				}
				run = 0;
				end = ai;
			}
			prev = tag;
		}
		if (first == SIZE_MAX) {
			err = "hunk without changes";
			goto out;
		}
		hs[nh].lead = lead;
		hs[nh].trail = run;
		hs[nh].first = first;
		hs[nh].end = end;
		nh++;
	}
	for (; ai < A.n; ai++)
		assert_int_equal(buf_add(res, A.p[ai], A.len[ai]), 0);
	for (k = 0; k < nh; k++) {
		size_t before = hs[k].first - (k ? hs[k - 1].end : 0);
		size_t after = (k + 1 < nh ? hs[k + 1].first : A.n) - hs[k].end;

		if (k && before <= c2) {
			err = "hunks closer than 2*context were not merged";
			goto out;
		}
		if (hs[k].lead != (before < ctx ? before : ctx) ||
		    hs[k].trail != (after < ctx ? after : ctx)) {
			err = "wrong amount of context";
			goto out;
		}
	}
out:
	free(hs);
	free_lines(&A);
	free_lines(&D);
	return err;
}

/* ---- minimal edit distance by dynamic programming ---- */

/* Fewest changed lines, and whether exactly one set of kept lines gets
 * there (then the minimal diff is unique up to printing order, which
 * diff -u fixes). Counts wrap for big inputs; only use unique on small. */
static void lcs_info(const int *x, size_t n, const int *y, size_t m, size_t *dist,
		     bool *unique)
{
	size_t w = m + 1, i, j;
	size_t *L = calloc((n + 1) * w, sizeof(*L));
	uint64_t *C = calloc((n + 1) * w, sizeof(*C));

	assert_non_null(L);
	assert_non_null(C);
	for (i = n + 1; i-- > 0;) {
		for (j = m + 1; j-- > 0;) {
			size_t l, *cell = &L[i * w + j];
			uint64_t c = 0;
			bool match;

			if (i == n || j == m) {
				*cell = 0;
				C[i * w + j] = 1;
				continue;
			}
			match = x[i] == y[j];
			l = L[(i + 1) * w + j] > L[i * w + j + 1] ? L[(i + 1) * w + j] : L[i * w + j + 1];
			if (match && L[(i + 1) * w + j + 1] + 1 > l)
				l = L[(i + 1) * w + j + 1] + 1;
			if (match && L[(i + 1) * w + j + 1] + 1 == l)
				c += C[(i + 1) * w + j + 1];
			if (L[(i + 1) * w + j] == l)
				c += C[(i + 1) * w + j];
			if (L[i * w + j + 1] == l)
				c += C[i * w + j + 1];
			if (L[(i + 1) * w + j + 1] == l)
				c -= C[(i + 1) * w + j + 1];
			*cell = l;
			C[i * w + j] = c;
		}
	}
	*dist = n + m - 2 * L[0];
	*unique = C[0] == 1;
	free(L);
	free(C);
}

/* ---- random inputs ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t rndn(size_t n)
{
	return (size_t)(rnd() % n);
}

/* Low tokens are lines that look like diff syntax, to trip up parsers. */
static const char *const words[] = {
	"", "-x", "+y", "\\ z", " ", "@@ -1 +1 @@", "--- a", "+++ b",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void render(const int *t, size_t n, struct buf *out)
{
	size_t i;

	buf_reset(out);
	assert_int_equal(buf_reserve(out, 0), 0);
	for (i = 0; i < n; i++) {
		int v = t[i] >= NONL ? t[i] - NONL : t[i];
		const char *nl = t[i] >= NONL ? "" : "\n";

		if ((size_t)v < NWORDS)
			assert_int_equal(buf_printf(out, "%s%s", words[v], nl), 0);
		else
			assert_int_equal(buf_printf(out, "line %d%s", v, nl), 0);
	}
}

/* Random token sequences: independent, or b an edit of a. */
static void gen_pair(int *ta, size_t *na, int *tb, size_t *nb)
{
	static const size_t alpha[] = { 1, 2, 3, 4, 6, 10, 30 };
	size_t k = alpha[rndn(sizeof(alpha) / sizeof(alpha[0]))];
	int base = rndn(3) == 0 ? 0 : (int)NWORDS;
	size_t i, e, n;

	*na = rndn(20);
	for (i = 0; i < *na; i++)
		ta[i] = base + (int)rndn(k);
	if (rndn(3) == 0) {
		*nb = rndn(20);
		for (i = 0; i < *nb; i++)
			tb[i] = base + (int)rndn(k);
	} else {
		memcpy(tb, ta, *na * sizeof(*ta));
		*nb = *na;
		for (e = 1 + rndn(4); e > 0; e--) {
			n = *nb;
			switch (rndn(3)) {
			case 0:
				if (n < 40) {
					i = rndn(n + 1);
					memmove(tb + i + 1, tb + i, (n - i) * sizeof(*tb));
					tb[i] = base + (int)rndn(k + 2);
					(*nb)++;
				}
				break;
			case 1:
				if (n) {
					i = rndn(n);
					memmove(tb + i, tb + i + 1, (n - i - 1) * sizeof(*tb));
					(*nb)--;
				}
				break;
			default:
				if (n)
					tb[rndn(n)] = base + (int)rndn(k + 2);
				break;
			}
		}
	}
	/* an empty line cannot lose its '\n' */
	if (*na && rndn(5) == 0 && ta[*na - 1] != 0)
		ta[*na - 1] += NONL;
	if (*nb && rndn(5) == 0 && tb[*nb - 1] != 0)
		tb[*nb - 1] += NONL;
}

/* ---- tests ---- */

static void test_udiff_equal(void **state)
{
	struct buf out = BUF_INIT;
	struct udiff_stats st = { 9, 9, 9 };
	bool changed = true;

	(void)state;
	assert_int_equal(buf_adds(&out, "keep"), 0);
	assert_int_equal(udiff("a\nb\n", 4, "a\nb\n", 4, "a/x", "b/x", 3, &out, &changed), 0);
	assert_false(changed);
	assert_string_equal(out.data, "keep");
	changed = true;
	assert_int_equal(udiff(NULL, 0, NULL, 0, "a/x", "b/x", 3, &out, &changed), 0);
	assert_false(changed);
	changed = true;
	assert_int_equal(udiff("", 0, NULL, 0, "a/x", "b/x", 0, &out, &changed), 0);
	assert_false(changed);
	assert_int_equal(out.len, 4);
	assert_int_equal(udiff_stats("x", 1, "x", 1, &st), 0);
	assert_int_equal(st.added + st.removed + st.hunks, 0);
	buf_free(&out);
}

static void test_udiff_golden(void **state)
{
	static const struct {
		const char *a, *b, *la, *lb;
		unsigned ctx;
		const char *want;
	} cases[] = {
		{ "a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nD\ne\nf\ng\nh\n", "a/x", "b/x", 3,
		  "--- a/x\n+++ b/x\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n" },
		{ "", "x\n", "/dev/null", "b/new", 3,
		  "--- /dev/null\n+++ b/new\n@@ -0,0 +1 @@\n+x\n" },
		{ "x\ny\n", "", "a/old", "/dev/null", 3,
		  "--- a/old\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n" },
		{ "a\nb", "a\nc", "a/x", "b/x", 3,
		  "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n"
		  "+c\n\\ No newline at end of file\n" },
		{ "a", "a\n", "a/x", "b/x", 3,
		  "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n" },
		{ "k\na", "k\na\nb", "a/x", "b/x", 3,
		  "--- a/x\n+++ b/x\n@@ -1,2 +1,3 @@\n k\n-a\n\\ No newline at end of file\n"
		  "+a\n+b\n\\ No newline at end of file\n" },
		{ "p\nq\n", "p\nz\nq\n", "a/x", "b/x", 0,
		  "--- a/x\n+++ b/x\n@@ -1,0 +2 @@\n+z\n" },
		{ "p\nq\n", "q\n", "a/x", "b/x", 0,
		  "--- a/x\n+++ b/x\n@@ -1 +0,0 @@\n-p\n" },
		{ "x\nx\n", "x\n", "a/x", "b/x", 3,
		  "--- a/x\n+++ b/x\n@@ -1,2 +1 @@\n x\n-x\n" },
		/* changes 6 lines apart share a hunk, 7 apart do not */
		{ "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n",
		  "1\n2\n3\n4\nV\n6\n7\n8\n9\n10\n11\nW\n13\nX\n15\n", "a/x", "b/x", 3,
		  "--- a/x\n+++ b/x\n@@ -2,14 +2,14 @@\n 2\n 3\n 4\n-5\n+V\n 6\n 7\n 8\n 9\n"
		  " 10\n 11\n-12\n+W\n 13\n-14\n+X\n 15\n" },
		{ "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n",
		  "1\n2\n3\n4\nV\n6\n7\n8\n9\n10\n11\n12\nW\n14\n15\n", "a/x", "b/x", 3,
		  "--- a/x\n+++ b/x\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+V\n 6\n 7\n 8\n"
		  "@@ -10,6 +10,6 @@\n 10\n 11\n 12\n-13\n+W\n 14\n 15\n" },
		/* an added list item slides below its twin, as diff -u puts it */
		{ "a:\n  - x\n  - y\nb: 1\n", "a:\n  - x\n  - y\n  - y\nb: 1\n", "a/x", "b/x", 1,
		  "--- a/x\n+++ b/x\n@@ -3,2 +3,3 @@\n   - y\n+  - y\n b: 1\n" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool changed = false;
		char *got = diff_str(cases[i].a, cases[i].b, cases[i].la, cases[i].lb,
				     cases[i].ctx, &changed);

		if (strcmp(got, cases[i].want)) {
			print_error("case %zu:\n--- want\n%s--- got\n%s", i, cases[i].want, got);
			fail();
		}
		assert_true(changed);
		free(got);
	}
}

static void test_udiff_classic_myers(void **state)
{
	/* Myers' example: ABCABBA -> CBABAC needs 5 edits */
	struct udiff_stats st;
	bool changed;
	char *got = diff_str("A\nB\nC\nA\nB\nB\nA\n", "C\nB\nA\nB\nA\nC\n", "a", "b", 3, &changed);

	(void)state;
	assert_int_equal(count_changed(got, strlen(got)), 5);
	assert_int_equal(udiff_stats("A\nB\nC\nA\nB\nB\nA\n", 14, "C\nB\nA\nB\nA\nC\n", 12, &st), 0);
	assert_int_equal(st.removed, 3);
	assert_int_equal(st.added, 2);
	assert_int_equal(st.hunks, 1);
	free(got);
}

static void test_udiff_errors(void **state)
{
	struct buf out = BUF_INIT;
	struct udiff_stats st = { 7, 7, 7 };
	bool changed = true;

	(void)state;
	assert_int_equal(buf_adds(&out, "keep"), 0);
	assert_int_equal(udiff("a\n", 2, "b\n", 2, NULL, "b", 3, &out, &changed), -EINVAL);
	assert_int_equal(udiff("a\n", 2, "b\n", 2, "a", NULL, 3, &out, &changed), -EINVAL);
	assert_int_equal(udiff("a\n", 2, "b\n", 2, "a\nx", "b", 3, &out, &changed), -EINVAL);
	assert_int_equal(udiff(NULL, 2, "b\n", 2, "a", "b", 3, &out, &changed), -EINVAL);
	assert_int_equal(udiff("a\n", 2, NULL, 2, "a", "b", 3, &out, &changed), -EINVAL);
	assert_int_equal(udiff("a\n", 2, "b\n", 2, "a", "b", 3, NULL, &changed), -EINVAL);
	assert_int_equal(udiff("a\n", 2, "b\n", 2, "a", "b", 3, &out, NULL), -EINVAL);
	assert_int_equal(udiff_stats(NULL, 1, "b", 1, &st), -EINVAL);
	assert_int_equal(udiff_stats("a", 1, "b", 1, NULL), -EINVAL);
	assert_true(changed);
	assert_string_equal(out.data, "keep");
	assert_int_equal(st.added, 7);
	buf_free(&out);
}

/* Output is appended: several files make one patch. */
static void test_udiff_appends(void **state)
{
	struct buf out = BUF_INIT;
	bool changed = false;

	(void)state;
	assert_int_equal(udiff("a\n", 2, "b\n", 2, "a/1", "b/1", 3, &out, &changed), 0);
	assert_int_equal(udiff("c\n", 2, "d\n", 2, "a/2", "b/2", 3, &out, &changed), 0);
	assert_string_equal(out.data, "--- a/1\n+++ b/1\n@@ -1 +1 @@\n-a\n+b\n"
			    "--- a/2\n+++ b/2\n@@ -1 +1 @@\n-c\n+d\n");
	buf_free(&out);
}

static void test_udiff_stats_match_output(void **state)
{
	struct buf a = BUF_INIT, b = BUF_INIT, out = BUF_INIT;
	int ta[MAXTOK], tb[MAXTOK];
	size_t na, nb, i;

	(void)state;
	for (i = 0; i < 300; i++) {
		struct udiff_stats st;
		bool changed = false;

		gen_pair(ta, &na, tb, &nb);
		render(ta, na, &a);
		render(tb, nb, &b);
		buf_reset(&out);
		assert_int_equal(udiff(a.data, a.len, b.data, b.len, "A", "B", 3, &out, &changed), 0);
		assert_int_equal(udiff_stats(a.data, a.len, b.data, b.len, &st), 0);
		if (!changed) {
			assert_int_equal(st.added + st.removed + st.hunks, 0);
			continue;
		}
		assert_int_equal(st.added, count_prefix(out.data, "+") - 1);
		assert_int_equal(st.removed, count_prefix(out.data, "-") - 1);
		assert_int_equal(st.hunks, count_prefix(out.data, "@@ "));
	}
	buf_free(&a);
	buf_free(&b);
	buf_free(&out);
}

/*
 * Random pairs: the diff applies back to b, has diff -u's hunk shape and a
 * minimal number of changed lines; a subset also goes through GNU diff.
 */
static void test_udiff_random(void **state)
{
	static const unsigned ctxs[] = { 3, 3, 3, 0, 1, 2, 5 };
	const char *dir = *state;
	struct buf a = BUF_INIT, b = BUF_INIT, out = BUF_INIT, res = BUF_INIT;
	int ta[MAXTOK], tb[MAXTOK];
	size_t na, nb, i, dist, gnu = 0, gnu_unique = 0, gnu_same = 0;
	bool unique, have_diff = access(GNU_DIFF, X_OK) == 0;

	rng_state = 0x9e3779b97f4a7c15u;
	for (i = 0; i < RANDOM_CASES; i++) {
		unsigned ctx = ctxs[rndn(sizeof(ctxs) / sizeof(ctxs[0]))];
		const char *err;
		bool changed = false;

		gen_pair(ta, &na, tb, &nb);
		render(ta, na, &a);
		render(tb, nb, &b);
		buf_reset(&out);
		assert_int_equal(udiff(a.data, a.len, b.data, b.len, "A", "B", ctx, &out, &changed), 0);
		lcs_info(ta, na, tb, nb, &dist, &unique);
		assert_int_equal(changed, dist != 0);
		if (!changed) {
			assert_int_equal(out.len, 0);
			continue;
		}
		err = apply(a.data, a.len, out.data, out.len, ctx, &res);
		if (err || !same(res.data, res.len, b.data, b.len) ||
		    count_changed(out.data, out.len) != dist) {
			print_error("case %zu ctx %u: %s (minimal %zu)\n--- a\n%s\n--- b\n%s\n--- diff\n%s",
				    i, ctx, err ? err : "wrong result or not minimal", dist,
				    a.data, b.data, out.data);
			fail();
		}
		if (have_diff && i % (RANDOM_CASES / GNU_CASES) == 0) {
			size_t glen;
			char *g = gnu_diff(dir, a.data, a.len, b.data, b.len, ctx, &glen);

			/* the checker itself must accept GNU diff's output */
			err = apply(a.data, a.len, g, glen, ctx, &res);
			assert_null(err);
			assert_true(same(res.data, res.len, b.data, b.len));
			if (count_changed(g, glen) != dist) {
				print_error("case %zu ctx %u: diff changes %zu lines, minimal is %zu\n"
					    "--- diff -u\n%s--- udiff\n%s", i, ctx, count_changed(g, glen),
					    dist, g, out.data);
				fail();
			}
			gnu++;
			if (unique) {
				gnu_unique++;
				if (!same(g, glen, out.data, out.len)) {
					print_error("case %zu ctx %u differs from diff -u\n--- diff -u\n%s"
						    "--- udiff\n%s", i, ctx, g, out.data);
					fail();
				}
			}
			gnu_same += same(g, glen, out.data, out.len);
			free(g);
		}
	}
	if (have_diff) {
		print_message("compared %zu cases with diff --minimal -u: %zu identical, "
			      "%zu unique scripts (all identical)\n", gnu, gnu_same, gnu_unique);
		assert_true(gnu >= GNU_CASES / 2);
		assert_true(gnu_unique >= 20);
	} else {
		print_message("skipped the diff -u comparison: " GNU_DIFF " not found\n");
	}
	buf_free(&a);
	buf_free(&b);
	buf_free(&out);
	buf_free(&res);
}

/* Longer inputs that need several splits of the search, checked for
 * minimality against the LCS. */
static void test_udiff_random_long(void **state)
{
	enum { N = 300 };
	struct buf a = BUF_INIT, b = BUF_INIT, out = BUF_INIT, res = BUF_INIT;
	int *ta = calloc(N, sizeof(int)), *tb = calloc(N, sizeof(int));
	size_t i, j, na, nb, dist;
	bool unique;

	(void)state;
	assert_non_null(ta);
	assert_non_null(tb);
	rng_state = 12345;
	for (i = 0; i < 60; i++) {
		size_t k = 2 + rndn(12);
		struct udiff_stats st;
		bool changed;

		na = 50 + rndn(N - 50);
		nb = 50 + rndn(N - 50);
		for (j = 0; j < na; j++)
			ta[j] = (int)(NWORDS + rndn(k));
		for (j = 0; j < nb; j++)
			tb[j] = i % 2 && j < na ? ta[j] : (int)(NWORDS + rndn(k));
		if (i % 2)
			for (j = 0; j < nb / 10; j++)
				tb[rndn(nb)] = (int)(NWORDS + rndn(k));
		render(ta, na, &a);
		render(tb, nb, &b);
		buf_reset(&out);
		assert_int_equal(udiff(a.data, a.len, b.data, b.len, "A", "B", 3, &out, &changed), 0);
		lcs_info(ta, na, tb, nb, &dist, &unique);
		assert_null(apply(a.data, a.len, out.data, out.len, 3, &res));
		assert_true(same(res.data, res.len, b.data, b.len));
		assert_int_equal(count_changed(out.data, out.len), dist);
		assert_int_equal(udiff_stats(a.data, a.len, b.data, b.len, &st), 0);
		assert_int_equal(st.added + st.removed, dist);
	}
	free(ta);
	free(tb);
	buf_free(&a);
	buf_free(&b);
	buf_free(&out);
	buf_free(&res);
}

/* Hand-picked inputs compared byte for byte with diff -u. */
static void test_udiff_gnu_fixed(void **state)
{
	static const struct {
		const char *a, *b;
	} cases[] = {
		{ "a\nb\nc\n", "a\nB\nc\n" },
		{ "", "a\n" },
		{ "a\n", "" },
		{ "a", "" },
		{ "a", "b" },
		{ "a\nb", "a\nb\n" },
		{ "a\nb\n", "a\nb" },
		{ "x\n", "x\nx\n" },
		{ "x\nx\n", "x\n" },
		{ "x\nx\nx\n", "x\n" },
		{ "\n\n\n", "\n" },
		{ "a\nb\na\nb\n", "a\nb\n" },
		{ "k: 1\nl:\n  - a\n  - b\nm: 2\n", "k: 1\nl:\n  - a\n  - b\n  - c\nm: 2\n" },
		{ "k: 1\nl:\n  - a\n  - b\nm: 2\n", "k: 1\nl:\n  - a\nm: 2\n" },
		{ "}\n\nfn a() {\n}\n", "}\n\nfn b() {\n}\n\nfn a() {\n}\n" },
		{ "--- a\n+++ b\n@@ -1 +1 @@\n", "--- a\n+++ c\n@@ -1 +1 @@\n\\ x\n" },
		{ "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "0\n1\n2\n3\n5\n6\n7\n9\n10\n" },
		{ "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\n", "a\nc\nd\ne\nf\nX\ng\nh\ni\nj\nk\nl\nn\nY" },
	};
	static const unsigned ctxs[] = { 0, 1, 3, 10 };
	const char *dir = *state;
	size_t i, k, glen;

	if (access(GNU_DIFF, X_OK) != 0) {
		print_message("skipped: " GNU_DIFF " not found\n");
		skip();
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (k = 0; k < sizeof(ctxs) / sizeof(ctxs[0]); k++) {
			const char *a = cases[i].a, *b = cases[i].b;
			char *g = gnu_diff(dir, a, strlen(a), b, strlen(b), ctxs[k], &glen);
			bool changed;
			char *got = diff_str(a, b, "A", "B", ctxs[k], &changed);

			if (strcmp(g, got)) {
				print_error("case %zu -U%u\n--- diff -u\n%s--- udiff\n%s", i, ctxs[k],
					    g, got);
				fail();
			}
			free(g);
			free(got);
		}
	}
}

static void mkdirs_for(const char *path)
{
	char tmp[256];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = strchr(tmp + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(tmp, 0700) != 0)
			assert_int_equal(errno, EEXIST);
		*p = '/';
	}
}

static size_t count_files_in;

static int count_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path;
	(void)st;
	(void)ftw;
	count_files_in += type == FTW_F;
	return 0;
}

struct pfile {
	char name[48];
	char *a, *b;        /* NULL: the file does not exist on that side */
};

static void add_file(struct pfile *files, size_t *nf, const char *name, const char *a,
		     const char *b)
{
	struct pfile *f = &files[(*nf)++];

	assert_true(strlen(name) < sizeof(f->name));
	strcpy(f->name, name);
	f->a = a ? strdup(a) : NULL;
	f->b = b ? strdup(b) : NULL;
	assert_true(!a || f->a);
	assert_true(!b || f->b);
}

static void join(char *dst, size_t size, const char *x, const char *y, const char *z)
{
	int n = snprintf(dst, size, "%s%s%s", x, y, z);

	assert_true(n >= 0 && (size_t)n < size);
}

/* GNU patch -p1 applies a multi-file diff made by udiff, byte for byte. */
static void test_udiff_gnu_patch(void **state)
{
	struct pfile files[40];
	struct buf big_a = BUF_INIT, big_b = BUF_INIT, ra = BUF_INIT, rb = BUF_INIT;
	struct buf patch = BUF_INIT;
	const char *dir = *state;
	char path[256], cmd[512];
	size_t nf = 0, i, expect_files = 0;
	int ta[MAXTOK], tb[MAXTOK];
	size_t na, nb;

	if (access(GNU_PATCH, X_OK) != 0) {
		print_message("skipped: " GNU_PATCH " not found (CI installs patch)\n");
		skip();
	}
	add_file(files, &nf, "mod.txt", "one\ntwo\nthree\nfour\nfive\n",
		 "one\n2\nthree\nfour\nfive\nsix\n");
	add_file(files, &nf, "nonl.txt", "one\ntwo\nthree", "one\ntwo\nTHREE");
	add_file(files, &nf, "addnl.txt", "x\ny", "x\ny\n");
	add_file(files, &nf, "rmnl.txt", "x\ny\n", "x\ny");
	add_file(files, &nf, "empty2full.txt", "", "hello\nworld\n");
	add_file(files, &nf, "full2empty.txt", "hello\n", "");
	add_file(files, &nf, "new.txt", NULL, "created\nfile\n");
	add_file(files, &nf, "new-nonl.txt", NULL, "no newline");
	add_file(files, &nf, "gone.txt", "bye\nnow\n", NULL);
	add_file(files, &nf, "gone-nonl.txt", "bye", NULL);
	add_file(files, &nf, "same.txt", "unchanged\n", "unchanged\n");
	add_file(files, &nf, "sub/dir/deep.conf", "k: v\nl: w\n", "k: v\nl: W\nm: x\n");
	add_file(files, &nf, "tags.txt", "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n\\ No newline\n",
	    "--- a/y\n+++ b/x\n@@ -1 +2 @@\n-old\n+new\n\\ No newline\n+++\n");
	for (i = 0; i < 3000; i++) {
		assert_int_equal(buf_printf(&big_a, "line %zu\n", i), 0);
		if (i == 0 || i == 1500 || i == 2999)
			assert_int_equal(buf_printf(&big_b, "changed %zu\n", i), 0);
		else if (i != 700 && i != 704)
			assert_int_equal(buf_printf(&big_b, "line %zu\n", i), 0);
		if (i == 2000)
			assert_int_equal(buf_adds(&big_b, "inserted\n"), 0);
	}
	add_file(files, &nf, "big.txt", big_a.data, big_b.data);
	rng_state = 777;
	while (nf < sizeof(files) / sizeof(files[0])) {
		gen_pair(ta, &na, tb, &nb);
		render(ta, na, &ra);
		render(tb, nb, &rb);
		snprintf(path, sizeof(path), "rand%02zu.txt", nf % 100);
		add_file(files, &nf, path, ra.data, rb.data);
	}

	for (i = 0; i < nf; i++) {
		struct pfile *f = &files[i];
		char la[64], lb[64];
		bool changed;

		join(la, sizeof(la), "a/", f->name, "");
		join(lb, sizeof(lb), "b/", f->name, "");
		if (f->a) {
			join(path, sizeof(path), dir, "/a/", f->name);
			mkdirs_for(path);
			write_file(path, f->a, strlen(f->a));
		}
		if (f->b) {
			join(path, sizeof(path), dir, "/b/", f->name);
			mkdirs_for(path);
			write_file(path, f->b, strlen(f->b));
			expect_files++;
		}
		assert_int_equal(udiff(f->a ? f->a : "", f->a ? strlen(f->a) : 0,
				       f->b ? f->b : "", f->b ? strlen(f->b) : 0,
				       f->a ? la : "/dev/null", f->b ? lb : "/dev/null", 3,
				       &patch, &changed), 0);
		assert_int_equal(changed, !f->a || !f->b || strcmp(f->a, f->b) != 0);
	}
	snprintf(path, sizeof(path), "%s/changes.diff", dir);
	write_file(path, patch.data, patch.len);

	snprintf(cmd, sizeof(cmd), "cd %s/a && " GNU_PATCH " -p1 --batch --dry-run --silent "
		 "< ../changes.diff", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "cd %s/a && " GNU_PATCH " -p1 --batch --silent "
		 "--no-backup-if-mismatch < ../changes.diff", dir);
	assert_int_equal(system(cmd), 0);

	for (i = 0; i < nf; i++) {
		struct pfile *f = &files[i];

		join(path, sizeof(path), dir, "/a/", f->name);
		if (!f->b) {
			assert_int_equal(access(path, F_OK), -1);
		} else {
			size_t len;
			char *got = read_file(path, &len);

			if (!same(got, len, f->b, strlen(f->b))) {
				print_error("%s differs after patch:\n%s\n", f->name, got);
				fail();
			}
			free(got);
		}
		free(f->a);
		free(f->b);
	}
	/* nothing left over: no .orig or .rej files, deleted files gone */
	snprintf(path, sizeof(path), "%s/a", dir);
	count_files_in = 0;
	assert_int_equal(nftw(path, count_entry, 16, FTW_PHYS), 0);
	assert_int_equal(count_files_in, expect_files);
	buf_free(&big_a);
	buf_free(&big_b);
	buf_free(&ra);
	buf_free(&rb);
	buf_free(&patch);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1 MB, 21,000 lines, one line changed: one hunk of 7 lines, fast. */
static void test_udiff_large_one_line(void **state)
{
	enum { LINES = 21000, AT = 10500 };
	struct buf a = BUF_INIT, b = BUF_INIT, out = BUF_INIT, want = BUF_INIT;
	struct udiff_stats st;
	bool changed = false;
	double t0, t1;
	size_t i;

	(void)state;
	for (i = 0; i < LINES; i++) {
		assert_int_equal(buf_printf(&a, "key_%05zu: value-%05zu lorem ipsum dolor sit amet\n",
					    i, i), 0);
		if (i == AT)
			assert_int_equal(buf_adds(&b, "key_10500: changed\n"), 0);
		else
			assert_int_equal(buf_printf(&b, "key_%05zu: value-%05zu lorem ipsum dolor sit "
						    "amet\n", i, i), 0);
	}
	assert_true(a.len >= 1000000);
	t0 = now();
	assert_int_equal(udiff(a.data, a.len, b.data, b.len, "a/big", "b/big", 3, &out, &changed), 0);
	t1 = now();
	print_message("1 MB, %d lines, one line changed: %.2f ms\n", LINES, (t1 - t0) * 1e3);
	assert_true(changed);
	assert_int_equal(buf_adds(&want, "--- a/big\n+++ b/big\n@@ -10498,7 +10498,7 @@\n"), 0);
	for (i = AT - 3; i <= AT + 3; i++) {
		if (i == AT)
			assert_int_equal(buf_printf(&want, "-key_%05zu: value-%05zu lorem ipsum dolor "
						    "sit amet\n+key_10500: changed\n", i, i), 0);
		else
			assert_int_equal(buf_printf(&want, " key_%05zu: value-%05zu lorem ipsum dolor "
						    "sit amet\n", i, i), 0);
	}
	assert_string_equal(out.data, want.data);
	assert_true(t1 - t0 < 0.5);
	assert_int_equal(udiff_stats(a.data, a.len, b.data, b.len, &st), 0);
	assert_int_equal(st.added, 1);
	assert_int_equal(st.removed, 1);
	assert_int_equal(st.hunks, 1);
	buf_free(&a);
	buf_free(&b);
	buf_free(&out);
	buf_free(&want);
}

/*
 * Heavy inputs stay valid and bounded: files with no line in common, and
 * random lines over a few values, whose edit distance passes the cost cap.
 */
static void test_udiff_large_dissimilar(void **state)
{
	struct buf a = BUF_INIT, b = BUF_INIT, out = BUF_INIT, res = BUF_INIT;
	bool changed = false;
	double t0, t1;
	size_t i;

	(void)state;
	for (i = 0; i < 50000; i++) {
		assert_int_equal(buf_printf(&a, "a %zu\n", i), 0);
		assert_int_equal(buf_printf(&b, "b %zu\n", i), 0);
	}
	t0 = now();
	assert_int_equal(udiff(a.data, a.len, b.data, b.len, "A", "B", 3, &out, &changed), 0);
	t1 = now();
	print_message("50,000 lines, none in common: %.2f ms\n", (t1 - t0) * 1e3);
	assert_int_equal(count_changed(out.data, out.len), 100000);
	assert_int_equal(count_prefix(out.data, "@@ "), 1);

	buf_reset(&a);
	buf_reset(&b);
	rng_state = 4242;
	for (i = 0; i < 12000; i++) {
		assert_int_equal(buf_printf(&a, "v%zu\n", rndn(8)), 0);
		assert_int_equal(buf_printf(&b, "v%zu\n", rndn(8)), 0);
	}
	buf_reset(&out);
	t0 = now();
	assert_int_equal(udiff(a.data, a.len, b.data, b.len, "A", "B", 3, &out, &changed), 0);
	t1 = now();
	print_message("12,000 random lines over 8 values: %.2f ms, %zu changed lines\n",
		      (t1 - t0) * 1e3, count_changed(out.data, out.len));
	assert_null(apply(a.data, a.len, out.data, out.len, 3, &res));
	assert_true(same(res.data, res.len, b.data, b.len));
	assert_true(t1 - t0 < 20.0);
	buf_free(&a);
	buf_free(&b);
	buf_free(&out);
	buf_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udiff_equal),
		cmocka_unit_test(test_udiff_golden),
		cmocka_unit_test(test_udiff_classic_myers),
		cmocka_unit_test(test_udiff_errors),
		cmocka_unit_test(test_udiff_appends),
		cmocka_unit_test(test_udiff_stats_match_output),
		cmocka_unit_test_setup_teardown(test_udiff_random, setup, teardown),
		cmocka_unit_test(test_udiff_random_long),
		cmocka_unit_test_setup_teardown(test_udiff_gnu_fixed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udiff_gnu_patch, setup, teardown),
		cmocka_unit_test(test_udiff_large_one_line),
		cmocka_unit_test(test_udiff_large_dissimilar),
	};

	return cmocka_run_group_tests_name("udiff", tests, NULL, NULL);
}

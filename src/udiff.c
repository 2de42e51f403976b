/* Line diff: Myers' O(ND) algorithm with the linear-space middle-snake split
 * (E. W. Myers, "An O(ND) Difference Algorithm and Its Variations", 1986,
 * section 4b), on lines mapped to integer ids, printed as `diff -u` hunks. */
#include "udiff.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Past this many edits in one search, split at the furthest point reached
 * instead of the true middle (GNU diff's cap); never below this floor. */
#define COST_CAP_MIN 4096

struct side {
	const char *text;
	size_t *off;            /* n + 1 entries: line i is text[off[i], off[i + 1]) */
	ptrdiff_t n;
	unsigned char *flag_mem;
	unsigned char *chg;     /* flag_mem + 1, so chg[-1] and chg[n] are 0 */
};

struct change {
	ptrdiff_t a, b;         /* first line of the change on each side */
	ptrdiff_t del, ins;
};

struct diff {
	struct side s[2];
	struct change *ch;
	size_t nch;
};

/* The search runs over the lines that occur on both sides. */
struct search {
	const ptrdiff_t *xv, *yv;       /* line ids */
	const ptrdiff_t *xr, *yr;       /* their line numbers on each side */
	unsigned char *xchg, *ychg;
	ptrdiff_t *fd, *bd;             /* furthest x per diagonal, forward/backward */
	ptrdiff_t cost_cap;
};

struct part {
	ptrdiff_t xmid, ymid;
	bool lo_minimal, hi_minimal;
};

struct hent {
	const char *p;
	size_t len;             /* 0 marks a free slot: a line is never empty */
	uint64_t hash;
	unsigned char seen;     /* bit 0: on side a, bit 1: on side b */
};

static size_t line_len(const struct side *s, ptrdiff_t i)
{
	return s->off[i + 1] - s->off[i];
}

static bool line_eq(const struct side *x, ptrdiff_t i, const struct side *y, ptrdiff_t j)
{
	size_t n = line_len(x, i);

	return n == line_len(y, j) && !memcmp(x->text + x->off[i], y->text + y->off[j], n);
}

static int side_init(struct side *s, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *q;
	size_t nl = 0, k = 1;
	int r = 0;

	s->text = text;
	while (p < end && (q = memchr(p, '\n', (size_t)(end - p)))) {
		nl++;
		p = q + 1;
	}
	if (nl >= (size_t)PTRDIFF_MAX / 8) {
		r = -ENOMEM;
		goto out;
	}
	s->n = (ptrdiff_t)nl + (len && text[len - 1] != '\n');
	s->off = calloc((size_t)s->n + 1, sizeof(*s->off));
	s->flag_mem = calloc((size_t)s->n + 2, 1);
	if (!s->off || !s->flag_mem) {
		r = -ENOMEM;
		goto out;
	}
	s->chg = s->flag_mem + 1;
	for (p = text; p < end && (q = memchr(p, '\n', (size_t)(end - p))); p = q + 1)
		s->off[k++] = (size_t)(q + 1 - text);
	s->off[s->n] = len;
out:
	return r;
}

static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3u;
	}
	return h;
}

/* The slot of the line's text is its id: equal lines, equal ids. */
static ptrdiff_t intern(struct hent *tab, size_t mask, const char *p, size_t len,
			unsigned char bit)
{
	uint64_t h = hash_bytes(p, len);
	size_t i = (size_t)(h ^ (h >> 32)) & mask;

	for (;; i = (i + 1) & mask) {
		struct hent *e = &tab[i];

		if (!e->len) {
			e->p = p;
			e->len = len;
			e->hash = h;
			e->seen = bit;
			return (ptrdiff_t)i;
		}
		if (e->hash == h && e->len == len && !memcmp(e->p, p, len)) {
			e->seen |= bit;
			return (ptrdiff_t)i;
		}
	}
}

/* Find a point on a minimal path from (xoff, yoff) to (xlim, ylim) by
 * running the search from both corners until the paths meet. The ends are
 * known to differ, so the point splits the problem into two smaller ones. */
static void find_split(struct search *s, ptrdiff_t xoff, ptrdiff_t xlim,
		       ptrdiff_t yoff, ptrdiff_t ylim, bool minimal, struct part *pt)
{
	const ptrdiff_t *xv = s->xv, *yv = s->yv;
	ptrdiff_t *fd = s->fd, *bd = s->bd;
	const ptrdiff_t dmin = xoff - ylim, dmax = xlim - yoff;
	const ptrdiff_t fmid = xoff - yoff, bmid = xlim - ylim;
	ptrdiff_t fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
	const bool odd = (fmid - bmid) % 2 != 0;
	ptrdiff_t cost, d, x, y, lo, hi;

	fd[fmid] = xoff;
	bd[bmid] = xlim;
	for (cost = 1;; cost++) {
		/* Widen by one diagonal each way unless at the edge, where the
		 * parity of the covered diagonals still has to flip. */
		if (fmin > dmin)
			fd[--fmin - 1] = -1;
		else
			fmin++;
		if (fmax < dmax)
			fd[++fmax + 1] = -1;
		else
			fmax--;
		for (d = fmax; d >= fmin; d -= 2) {
			lo = fd[d - 1];
			hi = fd[d + 1];
			x = lo < hi ? hi : lo + 1;
			y = x - d;
			while (x < xlim && y < ylim && xv[x] == yv[y]) {
				x++;
				y++;
			}
			fd[d] = x;
			if (odd && bmin <= d && d <= bmax && bd[d] <= x) {
				pt->xmid = x;
				pt->ymid = y;
				pt->lo_minimal = pt->hi_minimal = true;
				return;
			}
		}

		if (bmin > dmin)
			bd[--bmin - 1] = PTRDIFF_MAX;
		else
			bmin++;
		if (bmax < dmax)
			bd[++bmax + 1] = PTRDIFF_MAX;
		else
			bmax--;
		for (d = bmax; d >= bmin; d -= 2) {
			lo = bd[d - 1];
			hi = bd[d + 1];
			x = lo < hi ? lo : hi - 1;
			y = x - d;
			while (x > xoff && y > yoff && xv[x - 1] == yv[y - 1]) {
				x--;
				y--;
			}
			bd[d] = x;
			if (!odd && fmin <= d && d <= fmax && x <= fd[d]) {
				pt->xmid = x;
				pt->ymid = y;
				pt->lo_minimal = pt->hi_minimal = true;
				return;
			}
		}

		if (minimal || cost < s->cost_cap)
			continue;

		/* Too costly: cut at whichever search got further from its
		 * corner. That half of the path is still minimal. */
		{
			ptrdiff_t fbest = -1, fx = xoff, bbest = PTRDIFF_MAX, bx = xlim;

			for (d = fmax; d >= fmin; d -= 2) {
				x = fd[d] < xlim ? fd[d] : xlim;
				y = x - d;
				if (y > ylim) {
					x = ylim + d;
					y = ylim;
				}
				if (x + y > fbest) {
					fbest = x + y;
					fx = x;
				}
			}
			for (d = bmax; d >= bmin; d -= 2) {
				x = bd[d] > xoff ? bd[d] : xoff;
				y = x - d;
				if (y < yoff) {
					x = yoff + d;
					y = yoff;
				}
				if (x + y < bbest) {
					bbest = x + y;
					bx = x;
				}
			}
			if ((xlim + ylim) - bbest < fbest - (xoff + yoff)) {
				pt->xmid = fx;
				pt->ymid = fbest - fx;
				pt->lo_minimal = true;
				pt->hi_minimal = false;
			} else {
				pt->xmid = bx;
				pt->ymid = bbest - bx;
				pt->lo_minimal = false;
				pt->hi_minimal = true;
			}
			return;
		}
	}
}

static void compare(struct search *s, ptrdiff_t xoff, ptrdiff_t xlim,
		    ptrdiff_t yoff, ptrdiff_t ylim, bool minimal)
{
	struct part pt;

	for (;;) {
		while (xoff < xlim && yoff < ylim && s->xv[xoff] == s->yv[yoff]) {
			xoff++;
			yoff++;
		}
		while (xoff < xlim && yoff < ylim && s->xv[xlim - 1] == s->yv[ylim - 1]) {
			xlim--;
			ylim--;
		}
		if (xoff == xlim || yoff == ylim) {
			for (; xoff < xlim; xoff++)
				s->xchg[s->xr[xoff]] = 1;
			for (; yoff < ylim; yoff++)
				s->ychg[s->yr[yoff]] = 1;
			return;
		}
		find_split(s, xoff, xlim, yoff, ylim, minimal, &pt);
		/* Recurse into the smaller half and loop on the other, so the
		 * stack stays logarithmic even when the cost cap cuts unevenly. */
		if ((pt.xmid - xoff) + (pt.ymid - yoff) <= (xlim - pt.xmid) + (ylim - pt.ymid)) {
			compare(s, xoff, pt.xmid, yoff, pt.ymid, pt.lo_minimal);
			xoff = pt.xmid;
			yoff = pt.ymid;
			minimal = pt.hi_minimal;
		} else {
			compare(s, pt.xmid, xlim, pt.ymid, ylim, pt.hi_minimal);
			xlim = pt.xmid;
			ylim = pt.ymid;
			minimal = pt.lo_minimal;
		}
	}
}

/* Diff lines [pre, n - suf) of both sides: intern them, mark the lines
 * without a partner on the other side (no minimal script keeps them),
 * and search the rest. */
static int diff_middle(struct diff *d, ptrdiff_t pre, ptrdiff_t suf)
{
	struct side *A = &d->s[0], *B = &d->s[1];
	const ptrdiff_t ma = A->n - pre - suf, mb = B->n - pre - suf;
	struct hent *tab = NULL;
	ptrdiff_t *xv = NULL, *xr = NULL, *yv = NULL, *yr = NULL, *diag = NULL;
	ptrdiff_t i, nx = 0, ny = 0;
	size_t cap = 16, v;
	struct search s;
	int r = 0;

	while (cap / 2 < (size_t)(ma + mb))
		cap *= 2;
	tab = calloc(cap, sizeof(*tab));
	xv = calloc((size_t)ma + 1, sizeof(*xv));
	xr = calloc((size_t)ma + 1, sizeof(*xr));
	yv = calloc((size_t)mb + 1, sizeof(*yv));
	yr = calloc((size_t)mb + 1, sizeof(*yr));
	if (!tab || !xv || !xr || !yv || !yr) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ma; i++)
		xv[i] = intern(tab, cap - 1, A->text + A->off[pre + i], line_len(A, pre + i), 1);
	for (i = 0; i < mb; i++)
		yv[i] = intern(tab, cap - 1, B->text + B->off[pre + i], line_len(B, pre + i), 2);
	for (i = 0; i < ma; i++) {
		if (tab[xv[i]].seen & 2) {
			xv[nx] = xv[i];
			xr[nx++] = pre + i;
		} else {
			A->chg[pre + i] = 1;
		}
	}
	for (i = 0; i < mb; i++) {
		if (tab[yv[i]].seen & 1) {
			yv[ny] = yv[i];
			yr[ny++] = pre + i;
		} else {
			B->chg[pre + i] = 1;
		}
	}
	free(tab);
	tab = NULL;

	/* Diagonals run from -(ny + 1) to nx + 1, sentinels included. */
	diag = calloc(2 * ((size_t)(nx + ny) + 3), sizeof(*diag));
	if (!diag) {
		r = -ENOMEM;
		goto out;
	}
	s.xv = xv;
	s.yv = yv;
	s.xr = xr;
	s.yr = yr;
	s.xchg = A->chg;
	s.ychg = B->chg;
	s.fd = diag + ny + 1;
	s.bd = s.fd + nx + ny + 3;
	s.cost_cap = 1;
	for (v = (size_t)(nx + ny) + 3; v; v >>= 2)
		s.cost_cap *= 2;
	if (s.cost_cap < COST_CAP_MIN)
		s.cost_cap = COST_CAP_MIN;
	compare(&s, 0, nx, 0, ny, false);
out:
	free(tab);
	free(xv);
	free(xr);
	free(yv);
	free(yr);
	free(diag);
	return r;
}

/* Where several minimal scripts exist, choose like GNU diff: slide each run
 * of changed lines on side x down as far as equal lines allow (merging with
 * runs it meets), then back up to the lowest spot where it faces changes on
 * side y, so that deletions and insertions print as one change. Sliding
 * keeps the unchanged lines of x the same text, so the script stays valid. */
static int slide(struct side *x, const struct side *y)
{
	unsigned char *c = x->chg;
	ptrdiff_t *ypos = NULL;     /* line number of y's k-th unchanged line */
	ptrdiff_t i, k, start, end, len, corr, nu = 0;
	int r = 0;

	ypos = calloc((size_t)y->n + 1, sizeof(*ypos));
	if (!ypos) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < y->n; i++)
		if (!y->chg[i])
			ypos[nu++] = i;
	ypos[nu] = y->n;

	/* k counts the unchanged lines of x before the run: the run sits just
	 * before the k-th pair of unchanged lines, facing a change on y when
	 * the line of y before that pair is changed. */
	i = k = 0;
	for (;;) {
		while (i < x->n && !c[i]) {
			i++;
			k++;
		}
		if (i == x->n)
			break;
		start = i;
		while (c[i])
			i++;
		end = i;
		do {
			len = end - start;
			while (start > 0 && line_eq(x, start - 1, x, end - 1)) {
				c[--start] = 1;
				c[--end] = 0;
				k--;
				while (start > 0 && c[start - 1])
					start--;
			}
			corr = y->chg[ypos[k] - 1] ? end : -1;
			while (end < x->n && line_eq(x, start, x, end)) {
				c[start++] = 0;
				c[end++] = 1;
				k++;
				while (c[end])
					end++;
				if (y->chg[ypos[k] - 1])
					corr = end;
			}
		} while (len != end - start);
		if (corr >= 0) {
			while (end > corr) {
				c[--start] = 1;
				c[--end] = 0;
				k--;
			}
		}
		i = end;
	}
out:
	free(ypos);
	return r;
}

static int collect(struct diff *d)
{
	const unsigned char *ca = d->s[0].chg, *cb = d->s[1].chg;
	const ptrdiff_t na = d->s[0].n, nb = d->s[1].n;
	ptrdiff_t i, j, i0, j0;
	size_t cnt = 0;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		i = j = 0;
		cnt = 0;
		while (i < na || j < nb) {
			if (!ca[i] && !cb[j]) {
				if (i >= na || j >= nb)
					break;
				i++;
				j++;
				continue;
			}
			i0 = i;
			j0 = j;
			while (ca[i])
				i++;
			while (cb[j])
				j++;
			if (pass) {
				d->ch[cnt].a = i0;
				d->ch[cnt].b = j0;
				d->ch[cnt].del = i - i0;
				d->ch[cnt].ins = j - j0;
			}
			cnt++;
		}
		if (!pass) {
			d->ch = calloc(cnt + 1, sizeof(*d->ch));
			if (!d->ch)
				return -ENOMEM;
		}
	}
	d->nch = cnt;
	return 0;
}

static void diff_free(struct diff *d)
{
	int k;

	for (k = 0; k < 2; k++) {
		free(d->s[k].off);
		free(d->s[k].flag_mem);
	}
	free(d->ch);
}

/* a and b are not NULL; the caller frees d whatever this returns. */
static int diff_run(struct diff *d, const char *a, size_t alen, const char *b, size_t blen)
{
	struct side *A = &d->s[0], *B = &d->s[1];
	ptrdiff_t pre = 0, suf = 0;
	int r;

	r = side_init(A, a, alen);
	if (r < 0)
		goto out;
	r = side_init(B, b, blen);
	if (r < 0)
		goto out;
	while (pre < A->n && pre < B->n && line_eq(A, pre, B, pre))
		pre++;
	while (suf < A->n - pre && suf < B->n - pre &&
	       line_eq(A, A->n - 1 - suf, B, B->n - 1 - suf))
		suf++;
	r = diff_middle(d, pre, suf);
	if (r < 0)
		goto out;
	r = slide(A, B);
	if (r < 0)
		goto out;
	r = slide(B, A);
	if (r < 0)
		goto out;
	r = collect(d);
out:
	return r;
}

/* The last change in the hunk that starts with change h: diff -u joins
 * changes at most 2 * ctx unchanged lines apart. */
static size_t hunk_last(const struct diff *d, size_t h, ptrdiff_t ctx)
{
	while (h + 1 < d->nch && d->ch[h + 1].a - (d->ch[h].a + d->ch[h].del) <= 2 * ctx)
		h++;
	return h;
}

static int put_line(struct buf *out, char tag, const struct side *s, ptrdiff_t i)
{
	const char *p = s->text + s->off[i];
	size_t n = line_len(s, i);
	int r;

	r = buf_addc(out, tag);
	if (!r)
		r = buf_add(out, p, n);
	if (!r && p[n - 1] != '\n')
		r = buf_adds(out, "\n\\ No newline at end of file\n");
	return r;
}

/* diff's rules: an empty range names the line before it. */
static int put_range(struct buf *out, ptrdiff_t first, ptrdiff_t count)
{
	if (count == 0)
		return buf_printf(out, "%td,0", first);
	if (count == 1)
		return buf_printf(out, "%td", first + 1);
	return buf_printf(out, "%td,%td", first + 1, count);
}

static int put_hunks(const struct diff *d, ptrdiff_t ctx, struct buf *out)
{
	const struct side *A = &d->s[0], *B = &d->s[1];
	const struct change *f, *l, *c;
	ptrdiff_t before, after, a0, b0, i, j, stop;
	size_t h, e, k;
	int r = 0;

	for (h = 0; h < d->nch; h = e + 1) {
		e = hunk_last(d, h, ctx);
		f = &d->ch[h];
		l = &d->ch[e];
		before = f->a - (h ? d->ch[h - 1].a + d->ch[h - 1].del : 0);
		after = (e + 1 < d->nch ? d->ch[e + 1].a : A->n) - (l->a + l->del);
		if (before > ctx)
			before = ctx;
		if (after > ctx)
			after = ctx;
		a0 = f->a - before;
		b0 = f->b - before;
		stop = l->a + l->del + after;
		r = buf_add(out, "@@ -", 4);
		if (!r)
			r = put_range(out, a0, stop - a0);
		if (!r)
			r = buf_add(out, " +", 2);
		if (!r)
			r = put_range(out, b0, l->b + l->ins + after - b0);
		if (!r)
			r = buf_add(out, " @@\n", 4);
		for (i = a0, k = h; !r && k <= e; k++) {
			c = &d->ch[k];
			for (; !r && i < c->a; i++)
				r = put_line(out, ' ', A, i);
			for (; !r && i < c->a + c->del; i++)
				r = put_line(out, '-', A, i);
			for (j = c->b; !r && j < c->b + c->ins; j++)
				r = put_line(out, '+', B, j);
		}
		for (; !r && i < stop; i++)
			r = put_line(out, ' ', A, i);
		if (r < 0)
			goto out;
	}
out:
	return r;
}

int udiff(const char *a, size_t alen, const char *b, size_t blen,
	  const char *label_a, const char *label_b, unsigned context,
	  struct buf *out, bool *changed)
{
	struct diff d;
	size_t old_len = out ? out->len : 0;
	ptrdiff_t ctx;
	int r = 0;

	memset(&d, 0, sizeof(d));
	if (!out || !changed || !label_a || !label_b || (!a && alen) || (!b && blen) ||
	    strchr(label_a, '\n') || strchr(label_b, '\n')) {
		r = -EINVAL;
		goto out;
	}
	if (alen == blen && (!alen || !memcmp(a, b, alen))) {
		*changed = false;
		goto out;
	}
#if UINT_MAX > PTRDIFF_MAX / 4
	ctx = context > PTRDIFF_MAX / 4 ? PTRDIFF_MAX / 4 : (ptrdiff_t)context;
#else
	ctx = (ptrdiff_t)context;
#endif
	r = diff_run(&d, alen ? a : "", alen, blen ? b : "", blen);
	if (r < 0)
		goto out;
	r = buf_printf(out, "--- %s\n+++ %s\n", label_a, label_b);
	if (r < 0)
		goto out;
	r = put_hunks(&d, ctx, out);
	if (r < 0)
		goto out;
	*changed = true;
out:
	if (r < 0 && out && out->data) {
		out->len = old_len;
		out->data[old_len] = '\0';
	}
	diff_free(&d);
	return r;
}

int udiff_stats(const char *a, size_t alen, const char *b, size_t blen,
		struct udiff_stats *st)
{
	struct diff d;
	struct udiff_stats t = { 0, 0, 0 };
	size_t h;
	int r = 0;

	memset(&d, 0, sizeof(d));
	if (!st || (!a && alen) || (!b && blen)) {
		r = -EINVAL;
		goto out;
	}
	if (alen != blen || (alen && memcmp(a, b, alen))) {
		r = diff_run(&d, alen ? a : "", alen, blen ? b : "", blen);
		if (r < 0)
			goto out;
		for (h = 0; h < d.nch; h++) {
			t.removed += (size_t)d.ch[h].del;
			t.added += (size_t)d.ch[h].ins;
		}
		for (h = 0; h < d.nch; h = hunk_last(&d, h, 3) + 1)
			t.hunks++;
	}
	*st = t;
out:
	diff_free(&d);
	return r;
}

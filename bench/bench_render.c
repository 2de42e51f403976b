/*
 * In-process benchmark of profile_load + render_profile: the work `render`
 * does, without process start-up, dynamic linking or output.
 *
 * usage: bench_render [-n MAX_ITER] [-s SECONDS] [-w WARMUP] [-r server|agent]
 *                     [-t TEMPLATE_DIR] PROFILE
 *
 * Runs WARMUP untimed iterations, then timed ones until MAX_ITER are done or
 * SECONDS of wall time have passed (at least 3). Prints one line of
 * key=value pairs; times are microseconds per iteration, "cpu" is the
 * process's user+sys CPU time (CLOCK_PROCESS_CPUTIME_ID), "wall" is
 * CLOCK_MONOTONIC.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "profile.h"
#include "render.h"
#include "ynode.h"

#define MIN_ITER 3

struct sample {
	double load_cpu, render_cpu, total_cpu, total_wall;
};

static double now_us(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts) < 0)
		return 0.0;
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median and minimum of v[0..n) (sorts v). */
static void stats(double *v, size_t n, double *med, double *min)
{
	qsort(v, n, sizeof(*v), cmp_double);
	*min = v[0];
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static void print_diags(const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);

		if (s)
			fprintf(stderr, "%s\n", s);
		free(s);
	}
}

/* One load + render; on success fill *s and the artifact totals. */
static int run_once(const char *profile, const char *tdir, int role, struct sample *s,
		    size_t *n_arts, size_t *n_bytes)
{
	struct profile_doc *doc = NULL;
	struct artifacts arts = { NULL, 0, 0 };
	struct diags d = { NULL, 0, 0 };
	struct render_opts ro;
	double c0, c1, c2, w0, w2;
	size_t i;
	int r;

	w0 = now_us(CLOCK_MONOTONIC);
	c0 = now_us(CLOCK_PROCESS_CPUTIME_ID);
	r = profile_load(profile, &doc, &d);
	c1 = now_us(CLOCK_PROCESS_CPUTIME_ID);
	if (r < 0)
		goto out;
	memset(&ro, 0, sizeof(ro));
	ro.templates_dir = tdir;
	if (role >= 0)
		ro.role = (enum profile_role)role;
	else
		ro.role = doc->p->role == ROLE_AGENT ? ROLE_AGENT : ROLE_SERVER;
	r = render_profile(doc->p, &ro, &arts, &d);
	if (r < 0)
		goto out;
	*n_arts = arts.n;
	*n_bytes = 0;
	for (i = 0; i < arts.n; i++)
		*n_bytes += arts.v[i].len;
	artifacts_free(&arts);
	profile_doc_free(doc);
	doc = NULL;
	c2 = now_us(CLOCK_PROCESS_CPUTIME_ID);
	w2 = now_us(CLOCK_MONOTONIC);
	s->load_cpu = c1 - c0;
	s->render_cpu = c2 - c1;
	s->total_cpu = c2 - c0;
	s->total_wall = w2 - w0;
out:
	if (r < 0) {
		print_diags(&d);
		fprintf(stderr, "bench_render: '%s': %s\n", profile, strerror(-r));
	}
	diags_free(&d);
	profile_doc_free(doc);
	return r;
}

static int parse_uint(const char *s, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

static void usage(void)
{
	fputs("usage: bench_render [-n MAX_ITER] [-s SECONDS] [-w WARMUP] "
	      "[-r server|agent] [-t TEMPLATE_DIR] PROFILE\n", stderr);
}

int main(int argc, char **argv)
{
	unsigned long max_iter = 1000, warmup = 2, i;
	double budget = 2.0, start, v_med, v_min;
	const char *tdir = NULL, *profile;
	struct sample *s = NULL;
	double *col = NULL;
	size_t n = 0, n_arts = 0, n_bytes = 0;
	int role = -1, o, rc = 1;

	while ((o = getopt(argc, argv, "n:s:w:r:t:")) != -1) {
		switch (o) {
		case 'n':
			if (parse_uint(optarg, &max_iter) < 0 || max_iter == 0) {
				usage();
				return 2;
			}
			break;
		case 's':
			budget = strtod(optarg, NULL);
			break;
		case 'w':
			if (parse_uint(optarg, &warmup) < 0) {
				usage();
				return 2;
			}
			break;
		case 'r':
			if (strcmp(optarg, "server") == 0) {
				role = ROLE_SERVER;
			} else if (strcmp(optarg, "agent") == 0) {
				role = ROLE_AGENT;
			} else {
				usage();
				return 2;
			}
			break;
		case 't':
			tdir = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage();
		return 2;
	}
	profile = argv[optind];
	if (max_iter < MIN_ITER)
		max_iter = MIN_ITER;
	s = calloc(max_iter, sizeof(*s));
	col = calloc(max_iter, sizeof(*col));
	if (!s || !col) {
		fputs("bench_render: out of memory\n", stderr);
		goto out;
	}
	for (i = 0; i < warmup; i++) {
		struct sample w;

		if (run_once(profile, tdir, role, &w, &n_arts, &n_bytes) < 0)
			goto out;
	}
	start = now_us(CLOCK_MONOTONIC);
	while (n < max_iter && (n < MIN_ITER || now_us(CLOCK_MONOTONIC) - start < budget * 1e6)) {
		if (run_once(profile, tdir, role, &s[n], &n_arts, &n_bytes) < 0)
			goto out;
		n++;
	}
	printf("iters=%zu arts=%zu bytes=%zu", n, n_arts, n_bytes);
#define REPORT(field, name)                                     \
	do {                                                    \
		for (i = 0; i < n; i++)                         \
			col[i] = s[i].field;                    \
		stats(col, n, &v_med, &v_min);                  \
		printf(" " name "_med=%.1f " name "_min=%.1f", v_med, v_min); \
	} while (0)
	REPORT(load_cpu, "load_cpu");
	REPORT(render_cpu, "render_cpu");
	REPORT(total_cpu, "cpu");
	REPORT(total_wall, "wall");
#undef REPORT
	putchar('\n');
	rc = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
out:
	free(s);
	free(col);
	ynode_intern_free();
	return rc;
}

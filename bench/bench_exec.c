/*
 * Whole-process benchmark: run a command repeatedly and report the CPU time
 * (user+sys from wait4's rusage) and wall time of each run, with its output
 * thrown away. Needs no hyperfine.
 *
 * usage: bench_exec [-n MAX_ITER] [-s SECONDS] [-w WARMUP] [-x STATUS]
 *                   [-p PREP] [-a AFTER] [-r] -- COMMAND [ARG]...
 *
 * -x STATUS  the exit status every run must have (default 0; `diff` with
 *            changes pending exits 1).
 * -p PREP    run `/bin/sh -c PREP` before every run, warm-up included, and
 *            outside the timing; the first line of its output replaces each
 *            "{}" in COMMAND's arguments. For commands that change what they
 *            work on, e.g. PREP makes a fresh copy of a tree and prints its
 *            path, COMMAND is `k3s-harden --root {} apply`.
 * -a AFTER   run `/bin/sh -c AFTER` after every run, warm-up included, and
 *            outside the timing; with -r the first line of its output goes
 *            on that run's line (e.g. what systemd says the run caused).
 * -r         before the summary, one line per measured run:
 *            "run=I user= sys= cpu= wall= t0= t1=" and, with -a,
 *            " after=" and AFTER's line as it is; t0 and t1 are when the run
 *            was started and reaped, CLOCK_MONOTONIC in microseconds (the
 *            clock of systemd's *TimestampMonotonic properties).
 *
 * Prints one line of key=value pairs; times are microseconds per run,
 * maxrss is the largest peak resident set of any run, in KiB. Exits 1 if
 * the command, PREP or AFTER fails (its stderr is shown).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIN_ITER 3

extern char **environ;

struct sample {
	double user, sys, cpu, wall, t0, t1;
	long maxrss;
};

static double now_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0.0;
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double tv_us(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e6 + (double)tv->tv_usec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void stats(double *v, size_t n, double *med, double *min)
{
	qsort(v, n, sizeof(*v), cmp_double);
	*min = v[0];
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Copy of arg with every "{}" replaced by sub (NULL: out of memory). */
static char *subst(const char *arg, const char *sub)
{
	size_t n = 0, ls = strlen(sub), la = strlen(arg);
	const char *p;
	char *out, *q;

	for (p = arg; (p = strstr(p, "{}")) != NULL; p += 2)
		n++;
	out = malloc(la + n * ls + 1);
	if (!out)
		return NULL;
	for (p = arg, q = out; *p;) {
		if (p[0] == '{' && p[1] == '}') {
			memcpy(q, sub, ls);
			q += ls;
			p += 2;
		} else {
			*q++ = *p++;
		}
	}
	*q = '\0';
	return out;
}

static void free_argv(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/*
 * Run `/bin/sh -c sh`; the first line of its output, without the newline,
 * into line. what names it in messages. Returns 0, or -1 with a message.
 */
static int run_sh(const char *what, const char *sh, char *line, size_t size)
{
	FILE *f;
	int st;

	line[0] = '\0';
	fflush(stdout);
	f = popen(sh, "r");
	if (!f) {
		fprintf(stderr, "bench_exec: cannot run %s '%s': %s\n", what, sh, strerror(errno));
		return -1;
	}
	if (!fgets(line, (int)size, f))
		line[0] = '\0';
	while (getc(f) != EOF) /* drain: it must not die of SIGPIPE */
		;
	st = pclose(f);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench_exec: %s '%s' failed (status 0x%x)\n", what, sh, (unsigned)st);
		return -1;
	}
	line[strcspn(line, "\n")] = '\0';
	return 0;
}

/*
 * Run PREP and build argv for one run in *run (cmd with "{}" replaced by the
 * first line PREP printed). Returns 0, or -1 with a message.
 */
static int prepare(const char *prep, char **cmd, int argc, char ***run)
{
	char line[4096];
	int i;

	*run = NULL;
	if (run_sh("prep", prep, line, sizeof(line)) < 0)
		return -1;
	*run = calloc((size_t)argc + 1, sizeof(**run));
	if (!*run)
		goto oom;
	for (i = 0; i < argc; i++)
		if (!((*run)[i] = subst(cmd[i], line)))
			goto oom;
	return 0;
oom:
	fputs("bench_exec: out of memory\n", stderr);
	free_argv(*run);
	*run = NULL;
	return -1;
}static int run_once(char **cmd, int want, struct sample *s)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	double w0, w1;
	pid_t pid;
	int st, r;

	if ((r = posix_spawn_file_actions_init(&fa)) != 0)
		return -r;
	r = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (r != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	w0 = now_us();
	r = posix_spawnp(&pid, cmd[0], &fa, NULL, cmd, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		fprintf(stderr, "bench_exec: cannot run '%s': %s\n", cmd[0], strerror(r));
		return -r;
	}
	while (wait4(pid, &st, 0, &ru) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	w1 = now_us();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != want) {
		fprintf(stderr, "bench_exec: '%s' failed (status 0x%x, want exit %d)\n", cmd[0],
			(unsigned)st, want);
		return -ECHILD;
	}
	s->user = tv_us(&ru.ru_utime);
	s->sys = tv_us(&ru.ru_stime);
	s->cpu = s->user + s->sys;
	s->wall = w1 - w0;
	s->t0 = w0;
	s->t1 = w1;
	s->maxrss = ru.ru_maxrss;
	return 0;
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
	fputs("usage: bench_exec [-n MAX_ITER] [-s SECONDS] [-w WARMUP] [-x STATUS] [-p PREP]\n"
	      "                  [-a AFTER] [-r] -- COMMAND [ARG]...\n", stderr);
}

int main(int argc, char **argv)
{
	unsigned long max_iter = 200, warmup = 1, want = 0, i;
	const char *prep = NULL, *after = NULL;
	char **run = NULL, aline[4096];
	bool per_run = false;
	double budget = 2.0, spent, v_med, v_min;
	struct sample *s = NULL, w;
	double *col = NULL;
	long maxrss = 0;
	size_t n = 0;
	int o, r, rc = 1;

	while ((o = getopt(argc, argv, "+n:s:w:x:p:a:r")) != -1) {
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
		case 'x':
			if (parse_uint(optarg, &want) < 0 || want > 255) {
				usage();
				return 2;
			}
			break;
		case 'p':
			prep = optarg;
			break;
		case 'a':
			after = optarg;
			break;
		case 'r':
			per_run = true;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	if (max_iter < MIN_ITER)
		max_iter = MIN_ITER;
	s = calloc(max_iter, sizeof(*s));
	col = calloc(max_iter, sizeof(*col));
	if (!s || !col) {
		fputs("bench_exec: out of memory\n", stderr);
		goto out;
	}
	/*
	 * The budget counts the runs only: with PREP, the clock is stopped
	 * while it runs.
	 */
	for (i = 0; i < warmup; i++) {
		if (prep && prepare(prep, argv + optind, argc - optind, &run) < 0)
			goto out;
		r = run_once(run ? run : argv + optind, (int)want, &w);
		free_argv(run);
		run = NULL;
		if (r < 0 || (after && run_sh("after", after, aline, sizeof(aline)) < 0))
			goto out;
	}
	spent = 0.0;
	while (n < max_iter && (n < MIN_ITER || spent < budget * 1e6)) {
		if (prep && prepare(prep, argv + optind, argc - optind, &run) < 0)
			goto out;
		r = run_once(run ? run : argv + optind, (int)want, &s[n]);
		free_argv(run);
		run = NULL;
		if (r < 0 || (after && run_sh("after", after, aline, sizeof(aline)) < 0))
			goto out;
		if (per_run) {
			printf("run=%zu user=%.1f sys=%.1f cpu=%.1f wall=%.1f t0=%.1f t1=%.1f", n + 1,
			       s[n].user, s[n].sys, s[n].cpu, s[n].wall, s[n].t0, s[n].t1);
			if (after)
				printf(" after=%s", aline);
			putchar('\n');
		}
		spent += s[n].wall;
		if (s[n].maxrss > maxrss)
			maxrss = s[n].maxrss;
		n++;
	}
	printf("iters=%zu maxrss=%ld", n, maxrss);
#define REPORT(field, name)                                     \
	do {                                                    \
		for (i = 0; i < n; i++)                         \
			col[i] = s[i].field;                    \
		stats(col, n, &v_med, &v_min);                  \
		printf(" " name "_med=%.1f " name "_min=%.1f", v_med, v_min); \
	} while (0)
	REPORT(user, "user");
	REPORT(sys, "sys");
	REPORT(cpu, "cpu");
	REPORT(wall, "wall");
#undef REPORT
	putchar('\n');
	rc = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
out:
	free(s);
	free(col);
	return rc;
}

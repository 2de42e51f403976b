/*
 * Restarting K3s and judging the result: daemon-reload, restart and wait for
 * our job, the unit must stay active for a settle period, then the health
 * command must pass. Prints progress on a terminal; the bus calls are in
 * systemd.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "systemd.h"

extern char **environ;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void progress(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line that updates itself, on a terminal only. */
static void progress(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	if (c->verbose < 0 || !isatty(STDERR_FILENO))
		return;
	fputs("\rk3s-harden: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\033[K", stderr);
	fflush(stderr);
}

static void progress_end(const struct cli *c)
{
	if (c->verbose >= 0 && isatty(STDERR_FILENO))
		fputs("\r\033[K", stderr);
}

/* Run argv without a shell; 0 when it exits 0 within timeout_ms. */
static int run_health(char **argv, long long timeout_ms, struct buf *output)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2], status = 0, r;
	long long end = now_ms() + timeout_ms;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r != 0) {
		close(pipefd[0]);
		buf_printf(output, "cannot run '%s': %s\n", argv[0], strerror(r));
		return -r;
	}
	buf_reset(output);
	for (;;) {
		struct pollfd pfd = { pipefd[0], POLLIN, 0 };
		long long left = end - now_ms();
		char chunk[512];
		ssize_t k;

		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pipefd[0]);
			return -ETIMEDOUT;
		}
		if (poll(&pfd, 1, (int)(left > 200 ? 200 : left)) > 0) {
			k = read(pipefd[0], chunk, sizeof(chunk));
			if (k > 0 && output->len < 4096)
				buf_add(output, chunk, (size_t)k);
			if (k == 0) {
				waitpid(pid, &status, 0);
				break;
			}
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	close(pipefd[0]);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPROTO;
}

/* Why a unit is not healthy, in one line. */
static void state_why(char *why, size_t n, const char *unit, const struct sysd_unit_state *st)
{
	snprintf(why, n, "%s: job %s, state %s/%s, result %s, main process exit status %d", unit,
		 st->job_result[0] ? st->job_result : "-", st->active, st->sub,
		 st->result[0] ? st->result : "-", st->exec_main_status);
}

int cli_restart_gate(const struct cli *c, sd_bus *bus, const char *unit,
		     const struct restart_gate *g, char *why, size_t why_size)
{
	struct sysd_unit_state st;
	long long job_ms = duration_ms(g->job_timeout), settle_ms = duration_ms(g->settle);
	long long start, elapsed;
	unsigned long restarts;
	int r;

	progress(c, "reloading systemd");
	r = sysd_daemon_reload(bus);
	if (r < 0) {
		progress_end(c);
		snprintf(why, why_size, "daemon-reload failed: %s", strerror(-r));
		return r;
	}
	progress(c, "restarting %s (waiting up to %s)", unit, g->job_timeout);
	r = sysd_restart(bus, unit, (unsigned)(job_ms > 0 ? job_ms : 1), &st);
	if (r < 0) {
		progress_end(c);
		snprintf(why, why_size, "%s: restart job %s", unit,
			 r == -ETIMEDOUT ? "did not finish in time" : strerror(-r));
		return r;
	}
	if (!sysd_restart_ok(&st)) {
		progress_end(c);
		state_why(why, why_size, unit, &st);
		return -EPROTO;
	}
	/* a unit that dies right after start, or restarts by itself, is not healthy */
	restarts = st.n_restarts;
	start = now_ms();
	while ((elapsed = now_ms() - start) < settle_ms) {
		progress(c, "waiting for %s to settle: %llds of %llds", unit, elapsed / 1000,
			 settle_ms / 1000);
		sleep_ms(200);
		r = sysd_unit_state(bus, unit, &st);
		if (r < 0) {
			progress_end(c);
			snprintf(why, why_size, "%s: cannot read its state: %s", unit, strerror(-r));
			return r;
		}
		if (strcmp(st.active, "active") != 0 || st.n_restarts != restarts) {
			progress_end(c);
			state_why(why, why_size, unit, &st);
			return -EPROTO;
		}
	}
	if (g->health_command_count) {
		long long health_ms = duration_ms(g->health_timeout);
		long long every = duration_ms(g->health_interval);
		struct buf out = BUF_INIT;
		char **argv = calloc(g->health_command_count + 1, sizeof(*argv));
		unsigned i;

		if (!argv)
			return -ENOMEM;
		for (i = 0; i < g->health_command_count; i++)
			argv[i] = g->health_command[i];
		start = now_ms();
		for (;;) {
			long long left = health_ms - (now_ms() - start);

			progress(c, "waiting for the health command %s: %llds of %llds", argv[0],
				 (now_ms() - start) / 1000, health_ms / 1000);
			r = run_health(argv, left > 0 ? left : 1, &out);
			if (r == 0 || now_ms() - start + every >= health_ms)
				break;
			sleep_ms(every);
		}
		progress_end(c);
		if (r < 0) {
			while (out.len && out.data[out.len - 1] == '\n')
				out.data[--out.len] = '\0';
			snprintf(why, why_size, "health command '%s' did not pass within %s%s%s", argv[0],
				 g->health_timeout, out.len ? ": " : "", out.len ? out.data : "");
		}
		buf_free(&out);
		free(argv);
		if (r < 0)
			return r;
	}
	progress_end(c);
	return 0;
}

void cli_unit_log(const struct cli *c, const char *unit)
{
	struct buf b = BUF_INIT;

	/* the host's journal only describes the host's own units */
	if (strcmp(c->root, "/") != 0 || c->verbose < 0)
		return;
	if (sysd_unit_log_tail(unit, 10, &b) == 0 && b.len) {
		fprintf(stderr, "k3s-harden: the last lines of %s's log:\n", unit);
		fwrite(b.data, 1, b.len, stderr);
	}
	buf_free(&b);
}

int cli_open_unit(const struct cli *c, const char *unit, sd_bus **bus)
{
	bool exists = false;
	int r;

	r = sysd_open(bus);
	if (r < 0) {
		cli_error("cannot reach systemd to restart %s: %s%s", unit, strerror(-r),
			  c->no_restart ? "" : " (use --no-restart to write the files only)");
		return EXIT_USAGE;
	}
	r = sysd_unit_exists(*bus, unit, &exists);
	if (r < 0 || !exists) {
		cli_error("the unit %s does not exist%s%s; set `unit:` in the profile, or use "
			  "--no-restart to write the files only", unit, r < 0 ? ": " : "",
			  r < 0 ? strerror(-r) : "");
		sysd_close(*bus);
		*bus = NULL;
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

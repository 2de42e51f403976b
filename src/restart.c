#include "restart.h"

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

extern char **environ;

#define HEALTH_OUTPUT_MAX 4096

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mono_sleep(long long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

const struct restart_ops restart_systemd_ops = {
	sysd_open, sysd_close, sysd_unit_exists, sysd_daemon_reload, sysd_restart, sysd_unit_state,
	mono_ms, mono_sleep,
};

/* Reap pid, retrying on EINTR; the status or -1. */
static int reap(pid_t pid, int flags, int *status)
{
	pid_t w;

	do
		w = waitpid(pid, status, flags);
	while (w < 0 && errno == EINTR);
	return w == pid ? 0 : -1;
}

int restart_run_health(char *const *argv, long long timeout_ms, struct buf *output)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int pipefd[2], status = 0, r;
	long long end = mono_ms() + timeout_ms;
	bool open_out = true;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	/* a group of its own, so a timeout kills what it started too */
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&at, 0);
	r = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	buf_reset(output);
	if (r != 0) {
		close(pipefd[0]);
		return -r;
	}
	for (;;) {
		long long left = end - mono_ms();
		int wait_ms = (int)(left > 200 ? 200 : left);

		if (left <= 0) {
			kill(-pid, SIGKILL);
			reap(pid, 0, NULL);
			close(pipefd[0]);
			return -ETIMEDOUT;
		}
		if (open_out) {
			struct pollfd pfd = { pipefd[0], POLLIN, 0 };

			if (poll(&pfd, 1, wait_ms) > 0) {
				char chunk[512];
				ssize_t k = read(pipefd[0], chunk, sizeof(chunk));

				if (k > 0 && output->len < HEALTH_OUTPUT_MAX)
					buf_add(output, chunk, (size_t)k);
				/* EOF is not the end: it may have closed its output and go on */
				if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
					open_out = false;
			}
		} else {
			mono_sleep(wait_ms < 20 ? wait_ms : 20);
		}
		if (reap(pid, WNOHANG, &status) == 0)
			break;
	}
	close(pipefd[0]);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPROTO;
}

static void say(restart_progress_fn fn, void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(restart_progress_fn fn, void *ctx, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fn(ctx, line);
}

static void say_end(restart_progress_fn fn, void *ctx)
{
	if (fn)
		fn(ctx, NULL);
}

/* Why a unit is not healthy, in one line. */
static void state_why(char *why, size_t n, const char *unit, const struct sysd_unit_state *st)
{
	snprintf(why, n, "%s: job %s, state %s/%s, result %s, main process exit status %d", unit,
		 st->job_result[0] ? st->job_result : "-", st->active, st->sub,
		 st->result[0] ? st->result : "-", st->exec_main_status);
}

static int health(const struct restart_ops *ops, const struct restart_policy *pol,
		  restart_progress_fn progress, void *ctx, char *why, size_t why_size)
{
	struct buf out = BUF_INIT;
	long long start = ops->now_ms();
	const char *cmd = pol->health_argv[0];
	int r;

	for (;;) {
		long long left = pol->health_ms - (ops->now_ms() - start);

		say(progress, ctx, "waiting for the health command %s: %llds of %llds", cmd,
		    (ops->now_ms() - start) / 1000, pol->health_ms / 1000);
		r = restart_run_health(pol->health_argv, left > 0 ? left : 1, &out);
		/* a command that cannot start will not start on the next try either */
		if (r == 0 || (r != -EPROTO && r != -ETIMEDOUT))
			break;
		if (ops->now_ms() - start + pol->interval_ms >= pol->health_ms)
			break;
		ops->sleep_ms(pol->interval_ms);
	}
	say_end(progress, ctx);
	while (out.len && out.data[out.len - 1] == '\n')
		out.data[--out.len] = '\0';
	if (r < 0 && r != -EPROTO && r != -ETIMEDOUT)
		snprintf(why, why_size, "health command '%s' cannot be run: %s", cmd, strerror(-r));
	else if (r < 0)
		snprintf(why, why_size, "health command '%s' did not pass within %s%s%s", cmd,
			 pol->health_text, out.len ? ": " : "", out.len ? out.data : "");
	buf_free(&out);
	return r;
}

int restart_gate(const struct restart_ops *ops, sd_bus *bus, const char *unit,
		 const struct restart_policy *pol, restart_progress_fn progress, void *ctx,
		 char *why, size_t why_size)
{
	struct sysd_unit_state st;
	long long start, elapsed;
	unsigned long restarts;
	int r;

	say(progress, ctx, "reloading systemd");
	r = ops->daemon_reload(bus);
	if (r < 0) {
		say_end(progress, ctx);
		snprintf(why, why_size, "daemon-reload failed: %s", strerror(-r));
		return r;
	}
	say(progress, ctx, "restarting %s (waiting up to %s)", unit, pol->job_text);
	r = ops->restart(bus, unit, (unsigned)(pol->job_ms > 0 ? pol->job_ms : 1), &st);
	if (r < 0) {
		say_end(progress, ctx);
		snprintf(why, why_size, "%s: restart job %s", unit,
			 r == -ETIMEDOUT ? "did not finish in time" : strerror(-r));
		return r;
	}
	if (!sysd_restart_ok(&st)) {
		say_end(progress, ctx);
		state_why(why, why_size, unit, &st);
		return -EPROTO;
	}
	/* a unit that dies right after start, or restarts by itself, is not healthy */
	restarts = st.n_restarts;
	start = ops->now_ms();
	while ((elapsed = ops->now_ms() - start) < pol->settle_ms) {
		say(progress, ctx, "waiting for %s to settle: %llds of %llds", unit, elapsed / 1000,
		    pol->settle_ms / 1000);
		ops->sleep_ms(200);
		r = ops->unit_state(bus, unit, &st);
		if (r < 0) {
			say_end(progress, ctx);
			snprintf(why, why_size, "%s: cannot read its state: %s", unit, strerror(-r));
			return r;
		}
		if (strcmp(st.active, "active") != 0 || st.n_restarts != restarts) {
			say_end(progress, ctx);
			state_why(why, why_size, unit, &st);
			return -EPROTO;
		}
	}
	if (pol->health_argv && pol->health_argv[0]) {
		r = health(ops, pol, progress, ctx, why, why_size);
		if (r < 0)
			return r;
	}
	say_end(progress, ctx);
	return 0;
}

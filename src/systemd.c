#include "systemd.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "buf.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_SERVICE "org.freedesktop.systemd1.Service"
#define SD_UNIT_PREFIX "/org/freedesktop/systemd1/unit"

/* systemctl allows a reload this long (DAEMON_RELOAD_TIMEOUT_SEC). */
#define RELOAD_TIMEOUT_USEC (6ULL * 60 * 1000000)

static int open_private(sd_bus **bus)
{
	sd_bus *b = NULL;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int r, fd;

	r = sd_bus_new(&b);
	if (r < 0)
		return r;
	r = sd_bus_set_address(b, "unix:path=/run/systemd/private");
	if (r >= 0)
		r = sd_bus_start(b);
	/* Only root (PID 1) may be behind that socket, as systemctl checks. */
	if (r >= 0) {
		fd = sd_bus_get_fd(b);
		if (fd < 0)
			r = fd;
		else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
			r = -errno;
		else if (cred.uid != 0)
			r = -EPERM;
	}
	if (r < 0) {
		sd_bus_flush_close_unref(b);
		return r;
	}
	*bus = b;
	return 0;
}

int sysd_open(sd_bus **bus)
{
	sd_bus *b = NULL;
	int r;

	if (!bus)
		return -EINVAL;
	if (!getenv("DBUS_SYSTEM_BUS_ADDRESS") && geteuid() == 0 && open_private(&b) == 0) {
		*bus = b;
		return 0;
	}
	r = sd_bus_open_system(&b);
	if (r < 0)
		return r;
	*bus = b;
	return 0;
}

void sysd_close(sd_bus *bus)
{
	sd_bus_flush_close_unref(bus);
}

static bool unit_name_ok(const char *unit)
{
	return unit && *unit && strlen(unit) < 256 && strchr(unit, '.');
}

static int copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		return -ERANGE;
	memcpy(dst, src, n + 1);
	return 0;
}

static int get_string(sd_bus *bus, const char *path, const char *iface, const char *prop,
		      char *dst, size_t size)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	char *v = NULL;
	int r;

	r = sd_bus_get_property_string(bus, SD_DEST, path, iface, prop, &err, &v);
	sd_bus_error_free(&err);
	if (r < 0)
		return r;
	r = copy_str(dst, size, v);
	free(v);
	return r;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int sysd_unit_exists(sd_bus *bus, const char *unit, bool *exists)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path;
	char load[32];
	int r;

	if (!bus || !unit_name_ok(unit) || !exists)
		return -EINVAL;
	r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "LoadUnit", &err, &reply,
			       "s", unit);
	if (r < 0)
		goto out;
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		goto out;
	r = get_string(bus, path, SD_UNIT, "LoadState", load, sizeof(load));
	if (r < 0)
		goto out;
	*exists = strcmp(load, "not-found") != 0;
	r = 0;
out:
	sd_bus_message_unref(reply);
	sd_bus_error_free(&err);
	return r;
}

int sysd_daemon_reload(sd_bus *bus)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	int r;

	if (!bus)
		return -EINVAL;
	r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "Reload");
	if (r < 0)
		goto out;
	r = sd_bus_call(bus, m, RELOAD_TIMEOUT_USEC, &err, &reply);
	if (r > 0)
		r = 0;
out:
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	sd_bus_error_free(&err);
	return r;
}

int sysd_unit_state(sd_bus *bus, const char *unit, struct sysd_unit_state *st)
{
	struct sysd_unit_state s;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	char *path = NULL;
	int32_t status = 0;
	uint32_t restarts = 0;
	int r;

	if (!bus || !unit_name_ok(unit) || !st)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	/* The object path names the unit; systemd loads it on first access. */
	r = sd_bus_path_encode(SD_UNIT_PREFIX, unit, &path);
	if (r < 0)
		return r;
	r = get_string(bus, path, SD_UNIT, "ActiveState", s.active, sizeof(s.active));
	if (r >= 0)
		r = get_string(bus, path, SD_UNIT, "SubState", s.sub, sizeof(s.sub));
	if (r >= 0 && has_suffix(unit, ".service")) {
		r = get_string(bus, path, SD_SERVICE, "Result", s.result, sizeof(s.result));
		if (r >= 0)
			r = sd_bus_get_property_trivial(bus, SD_DEST, path, SD_SERVICE,
							"ExecMainStatus", &err, 'i', &status);
		if (r >= 0)
			r = sd_bus_get_property_trivial(bus, SD_DEST, path, SD_SERVICE,
							"NRestarts", &err, 'u', &restarts);
	}
	sd_bus_error_free(&err);
	free(path);
	if (r < 0)
		return r;
	s.exec_main_status = status;
	s.n_restarts = restarts;
	*st = s;
	return 0;
}

struct job_wait {
	const char *path;       /* the job we wait for; NULL until RestartUnit answered */
	char result[32];
	bool done;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct job_wait *w = userdata;
	const char *path, *unit, *result;
	uint32_t id;

	(void)ret_error;
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (w->path && strcmp(path, w->path) == 0 &&
	    copy_str(w->result, sizeof(w->result), result) == 0)
		w->done = true;
	return 0;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Subscribe so that systemd sends job signals to this connection; a second
 * Subscribe on the same connection is refused, which is fine. */
static int subscribe(sd_bus *bus, bool *subscribed)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int r;

	*subscribed = false;
	r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &err, NULL, "");
	if (r >= 0)
		*subscribed = true;
	else if (sd_bus_error_has_name(&err, "org.freedesktop.systemd1.AlreadySubscribed"))
		r = 0;
	sd_bus_error_free(&err);
	return r < 0 ? r : 0;
}

int sysd_restart(sd_bus *bus, const char *unit, unsigned timeout_ms, struct sysd_unit_state *st)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_slot *slot = NULL;
	struct job_wait w = { NULL, "", false };
	struct sysd_unit_state s;
	uint64_t deadline, now;
	bool subscribed = false;
	int r;

	if (!bus || !unit_name_ok(unit) || !st)
		return -EINVAL;
	deadline = now_usec() + (uint64_t)timeout_ms * 1000;
	r = subscribe(bus, &subscribed);
	if (r < 0)
		goto out;
	/*
	 * The match must be in place before the job exists, or a job that
	 * finishes at once is missed. A direct connection (private socket)
	 * carries no sender name.
	 */
	r = sd_bus_match_signal(bus, &slot, sd_bus_is_bus_client(bus) > 0 ? SD_DEST : NULL,
				SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed, &w);
	if (r < 0)
		goto out;
	r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "RestartUnit");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", unit, "replace");
	if (r < 0)
		goto out;
	now = now_usec();
	if (now >= deadline) {
		r = -ETIMEDOUT;
		goto out;
	}
	/* Signals that arrive meanwhile are queued, not dispatched, so the
	 * job's JobRemoved is seen below even if the job is already over. */
	r = sd_bus_call(bus, m, deadline - now, &err, &reply);
	if (r < 0)
		goto out;
	r = sd_bus_message_read(reply, "o", &w.path);
	if (r < 0)
		goto out;
	for (;;) {
		r = sd_bus_process(bus, NULL);
		if (r < 0)
			goto out;
		if (w.done)
			break;
		if (r > 0)
			continue;
		now = now_usec();
		if (now >= deadline) {
			r = -ETIMEDOUT;
			goto out;
		}
		r = sd_bus_wait(bus, deadline - now);
		if (r < 0 && r != -EINTR)
			goto out;
	}
	r = sysd_unit_state(bus, unit, &s);
	if (r < 0)
		goto out;
	memcpy(s.job_result, w.result, sizeof(s.job_result));
	*st = s;
	r = 0;
out:
	sd_bus_slot_unref(slot);
	if (subscribed)
		sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Unsubscribe", NULL, NULL, "");
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	sd_bus_error_free(&err);
	return r;
}

bool sysd_restart_ok(const struct sysd_unit_state *st)
{
	return st && strcmp(st->job_result, "done") == 0 && strcmp(st->result, "success") == 0 &&
	       strcmp(st->active, "active") == 0;
}

int sysd_unit_log_tail(const char *unit, unsigned lines, struct buf *out)
{
	sd_journal *j = NULL;
	char match[300];
	unsigned n = 0;
	int r;

	if ((size_t)snprintf(match, sizeof(match), "_SYSTEMD_UNIT=%s", unit) >= sizeof(match))
		return -EINVAL;
	r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0)
		return r;
	r = sd_journal_add_match(j, match, 0);
	if (r >= 0)
		r = sd_journal_seek_tail(j);
	while (r >= 0 && n < lines && sd_journal_previous(j) > 0)
		n++;
	while (r >= 0 && n > 0) {
		const void *d;
		size_t l;

		if (sd_journal_get_data(j, "MESSAGE", &d, &l) >= 0 && l > 8)
			r = buf_printf(out, "%.*s\n", (int)(l - 8), (const char *)d + 8);
		n--;
		if (sd_journal_next(j) <= 0)
			break;
	}
	sd_journal_close(j);
	return r < 0 ? r : 0;
}

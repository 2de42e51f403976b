#include "engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "check.h"
#include "fsutil.h"
#include "host.h"
#include "manifest.h"
#include "preflight.h"
#include "rollback.h"
#include "sysctl.h"
#include "systemd.h"

#define DEFAULT_CONFIG "/etc/rancher/k3s/config.yaml"

/* ---- events ---- */

static void emit(const struct engine_opts *o, enum engine_event_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void emit(const struct engine_opts *o, enum engine_event_kind kind, const char *fmt, ...)
{
	struct engine_event ev = { kind, NULL, NULL };
	char *text = NULL;
	va_list ap;

	if (!o->sink.fn)
		return;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	ev.text = text ? text : "out of memory";
	o->sink.fn(o->sink.ctx, &ev);
	free(text);
}

static void emit_diags(const struct engine_opts *o, enum engine_event_kind kind, const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n && o->sink.fn; i++) {
		char *s = diag_format(&d->v[i]);
		struct engine_event ev = { kind, s ? s : "out of memory", &d->v[i] };

		o->sink.fn(o->sink.ctx, &ev);
		free(s);
	}
}

static void progress(void *ctx, const char *text)
{
	const struct engine_opts *o = ctx;
	struct engine_event ev = { ENGINE_PROGRESS, text, NULL };

	if (o->sink.fn)
		o->sink.fn(o->sink.ctx, &ev);
}

static const char *shown_root(const struct engine_opts *o)
{
	return strcmp(o->root, "/") ? o->root : "";
}

/* ---- role, plan, transaction ---- */

bool engine_live(const char *root, bool live_flag)
{
	/* any other root is offline, as with systemctl --root */
	return strcmp(root, "/") == 0 || live_flag;
}

static int resolve_role_warn(const struct profile *p, const struct engine_opts *o, enum profile_role *role,
			     char *why, size_t why_size, char *unit, size_t unit_size, bool leftovers);

static int resolve_role(const struct profile *p, const struct engine_opts *o, enum profile_role *role,
			char *why, size_t why_size, char *unit, size_t unit_size)
{
	return resolve_role_warn(p, o, role, why, why_size, unit, unit_size, false);
}

/*
 * engine_role, and the host's unit for that role (a k3s-NAME.service too), or "";
 * leftovers: on an agent by its unit, warn about the server files an earlier run left
 */
static int resolve_role_warn(const struct profile *p, const struct engine_opts *o, enum profile_role *role,
			     char *why, size_t why_size, char *unit, size_t unit_size, bool leftovers)
{
	struct diags e = { NULL, 0, 0 };
	struct host_role h;
	enum profile_role wanted = p->role;
	char from[160], because[1024];
	int r;

	if (o->role) {
		wanted = strcmp(o->role, "agent") == 0 ? ROLE_AGENT : ROLE_SERVER;
		snprintf(from, sizeof(from), "--role %s", o->role);
	} else {
		snprintf(from, sizeof(from), "profile %s", p->name);
	}
	r = host_detect_role(o->root, p, &h, &e);
	if (r == 0)
		r = host_choose_role(&h, wanted, from, role, because, sizeof(because), &e);
	emit_diags(o, ENGINE_DIAG, &e);
	diags_free(&e);
	if (r < 0)
		return -EINVAL;
	if (wanted == ROLE_AUTO && !o->role)
		emit(o, ENGINE_NOTE, "role auto: %s (%s)", profile_role_name(*role), because);
	else
		emit(o, ENGINE_NOTE, "role %s (%s)", profile_role_name(*role), because);
	if (why)
		snprintf(why, why_size, "%s", because);
	if (unit)
		snprintf(unit, unit_size, "%s", h.role == *role ? h.unit : "");
	if (leftovers && *role == ROLE_AGENT && h.evidence == HOST_EV_UNIT && h.role == ROLE_AGENT) {
		struct diags w = { NULL, 0, 0 };

		if (host_server_leftovers(o->root, p, &w) == 0)
			emit_diags(o, ENGINE_WARNING, &w);
		diags_free(&w);
	}
	return 0;
}

int engine_role(const struct profile *p, const struct engine_opts *o, enum profile_role *role,
		char *why, size_t why_size)
{
	return resolve_role(p, o, role, why, why_size, NULL, 0);
}

static int build_plan(const struct profile *p, const struct engine_opts *o, enum profile_role role,
		      const char *why, struct plan *pl)
{
	struct diags errs = { NULL, 0, 0 }, warns = { NULL, 0, 0 };
	struct host_view view;
	struct plan_opts po;
	char *data_dir = NULL;
	int r;

	memset(&po, 0, sizeof(po));
	memset(&view, 0, sizeof(view));
	po.root = o->root;
	po.templates_dir = o->templates;
	po.role = role;
	po.live = o->live;
	memset(pl, 0, sizeof(*pl));
	/* K3s's data-dir moves the manifests and the default server paths */
	r = host_data_dir(o->root, p, &data_dir, &errs);
	if (r == 0)
		r = host_view_init(&view, p, data_dir, &warns);
	po.data_dir = data_dir;
	if (r == 0 && data_dir)
		emit(o, ENGINE_NOTE, "data-dir %s: manifests go to %s", data_dir, view.p.manifests_dir);
	if (r == 0)
		r = preflight_check(&view.p, &po, &errs);
	if (r == 0)
		r = plan_build(&view.p, &po, pl, &errs, &warns);
	if (r == 0)
		snprintf(pl->role_reason, sizeof(pl->role_reason), "%s", why ? why : "");
	emit_diags(o, ENGINE_DIAG, &errs);
	emit_diags(o, ENGINE_WARNING, &warns);
	if (r < 0 && errs.n == 0)
		emit(o, ENGINE_ERROR, "cannot plan the change: %s", strerror(-r));
	host_view_free(&view);
	free(data_dir);
	diags_free(&errs);
	diags_free(&warns);
	return r;
}

static bool journal_left(const struct engine_opts *o)
{
	struct stat st;

	return root_stat(o->root, TXN_STATE_DIR "/journal", &st) == 0;
}

/* Lock and recover, saying what was undone. */
static int open_txn(const struct engine_opts *o, const char *profile, const char *kind,
		    unsigned retention, struct txn **t, bool *recovered)
{
	struct diags e = { NULL, 0, 0 };
	struct txn_opts to = { o->root, profile, kind, o->lock_timeout_ms, retention };
	int r;

	*recovered = false;
	r = txn_open(&to, t, recovered, &e);
	emit_diags(o, ENGINE_DIAG, &e);
	diags_free(&e);
	if (r < 0)
		return r;
	if (*recovered)
		emit(o, ENGINE_NOTE, "an interrupted transaction (generation %s) was undone first: "
		     "its files are as they were before it; if K3s was restarted while it ran, "
		     "restart K3s again so it reads them", txn_generation(*t));
	return 0;
}

int engine_recover(const struct engine_opts *o)
{
	struct txn *t = NULL;
	bool recovered;
	int r;

	if (!journal_left(o))
		return 0;
	r = open_txn(o, "-", "recover", 0, &t, &recovered);
	txn_close(t);
	return r;
}

int engine_plan(const struct profile *p, const struct engine_opts *o, struct plan *pl)
{
	int r = engine_recover(o);

	memset(pl, 0, sizeof(*pl));
	if (r < 0)
		return r == -EIO ? r : -EINVAL;
	{
		enum profile_role role;
		char why[640];

		if (resolve_role_warn(p, o, &role, why, sizeof(why), NULL, 0, true) < 0)
			return -EINVAL;
		return build_plan(p, o, role, why, pl) < 0 ? -EINVAL : 0;
	}
}

/* ---- restart ---- */

struct restart_rx {
	bool on;                /* the plan needs a restart we will do */
	const struct restart_ops *ops;
	sd_bus *bus;
	char unit[128];
	struct restart_policy pol;
	char **argv;
};

static void restart_close(struct restart_rx *rx)
{
	if (rx->on && rx->ops)
		rx->ops->close(rx->bus);
	free(rx->argv);
	memset(rx, 0, sizeof(*rx));
}

static bool needs_restart(const struct plan *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++)
		if (pl->v[i].action != ACT_UNCHANGED && (pl->v[i].flags & CHANGE_RESTART))
			return true;
	return false;
}

/* Whether the plan needs a restart we will do; then the unit must exist. */
static int prepare_restart(const struct profile *p, const struct engine_opts *o,
			   const struct plan *pl, enum profile_role role, const char *unit,
			   struct restart_rx *rx)
{
	const struct restart_gate *g = p->restart;
	bool exists = false;
	unsigned i;
	int r;

	memset(rx, 0, sizeof(*rx));
	if (!needs_restart(pl) || !o->live || o->no_restart || !g)
		return 0;
	rx->ops = o->restart_ops ? o->restart_ops : &restart_systemd_ops;
	snprintf(rx->unit, sizeof(rx->unit), "%s", unit ? unit : profile_unit(p, role));
	rx->argv = calloc(g->health_command_count + 1, sizeof(*rx->argv));
	if (!rx->argv)
		return -ENOMEM;
	for (i = 0; i < g->health_command_count; i++)
		rx->argv[i] = g->health_command[i];
	rx->pol.job_ms = duration_ms(g->job_timeout);
	rx->pol.settle_ms = duration_ms(g->settle);
	rx->pol.health_ms = duration_ms(g->health_timeout);
	rx->pol.interval_ms = duration_ms(g->health_interval);
	rx->pol.job_text = g->job_timeout;
	rx->pol.health_text = g->health_timeout;
	rx->pol.health_argv = g->health_command_count ? rx->argv : NULL;
	r = rx->ops->open(&rx->bus);
	if (r < 0) {
		emit(o, ENGINE_ERROR, "cannot reach systemd to restart %s: %s%s", rx->unit, strerror(-r),
		     o->no_restart ? "" : " (use --no-restart to write the files only)");
		free(rx->argv);
		rx->argv = NULL;
		return r;
	}
	rx->on = true;
	r = rx->ops->unit_exists(rx->bus, rx->unit, &exists);
	if (r < 0 || !exists) {
		emit(o, ENGINE_ERROR, "the unit %s does not exist%s%s; set `unit:` in the profile, or use "
		     "--no-restart to write the files only", rx->unit, r < 0 ? ": " : "",
		     r < 0 ? strerror(-r) : "");
		restart_close(rx);
		return r < 0 ? r : -ENOENT;
	}
	return 0;
}

/* The last lines of the unit's log, when the host's journal is readable. */
static void unit_log(const struct engine_opts *o, const char *unit)
{
	struct buf b = BUF_INIT;

	/* the host's journal only describes the host's own units */
	if (strcmp(o->root, "/") != 0)
		return;
	if (sysd_unit_log_tail(unit, 10, &b) == 0 && b.len) {
		emit(o, ENGINE_NOTE, "the last lines of %s's log:", unit);
		while (b.len && b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		emit(o, ENGINE_LINE, "%s", b.data);
	}
	buf_free(&b);
}

static int gate(const struct engine_opts *o, struct restart_rx *rx, char *why, size_t size)
{
	return restart_gate(rx->ops, rx->bus, rx->unit, &rx->pol, progress, (void *)o, why, size);
}

/* Clear "restart pending" on generations the restart just took care of. */
static void clear_pending(const char *root)
{
	struct generation *v = NULL;
	size_t n = 0, i;

	if (txn_history(root, &v, &n) < 0)
		return;
	for (i = 0; i < n; i++)
		if (v[i].restart_pending)
			txn_set_restart_pending(root, v[i].id, false);
	free(v);
}

/* ---- live kernel values ---- */

struct kvals {
	size_t n;
	char **keys, **want, **old;     /* old[i] NULL: the kernel had no such key */
	bool *optional;
};

static void kvals_free(struct kvals *kv)
{
	size_t i;

	for (i = 0; i < kv->n; i++) {
		free(kv->keys[i]);
		free(kv->want[i]);
		free(kv->old[i]);
	}
	free(kv->keys);
	free(kv->want);
	free(kv->old);
	free(kv->optional);
	memset(kv, 0, sizeof(*kv));
}

static int kvals_alloc(struct kvals *kv, size_t n)
{
	kv->keys = calloc(n + 1, sizeof(*kv->keys));
	kv->want = calloc(n + 1, sizeof(*kv->want));
	kv->old = calloc(n + 1, sizeof(*kv->old));
	kv->optional = calloc(n + 1, sizeof(*kv->optional));
	return kv->keys && kv->want && kv->old && kv->optional ? 0 : -ENOMEM;
}

/* Every value of the new sysctl file, with the live value now. */
static int kvals_from_file(const struct engine_opts *o, const struct change *c, struct kvals *kv)
{
	struct sysctl_kv *v = NULL;
	size_t n = 0, i;
	int r;

	if ((r = sysctl_parse(c->new_data, c->new_len, &v, &n)) < 0)
		return r;
	r = kvals_alloc(kv, n);
	for (i = 0; i < n && r == 0; i++) {
		kv->keys[i] = v[i].key;
		kv->want[i] = v[i].value;
		v[i].key = v[i].value = NULL;
		kv->optional[i] = v[i].optional;
		kv->n++;
		if (sysctl_get(o->root, kv->keys[i], &kv->old[i]) < 0)
			kv->old[i] = NULL;
	}
	sysctl_free(v, n);
	return r;
}

/* The values that drifted while the sysctl file stayed the same. */
static int kvals_from_drift(const struct plan *pl, struct kvals *kv)
{
	size_t i;
	int r = kvals_alloc(kv, pl->n_drift);

	for (i = 0; i < pl->n_drift && r == 0; i++) {
		kv->keys[i] = strdup(pl->drift[i].key);
		kv->want[i] = strdup(pl->drift[i].want);
		kv->old[i] = pl->drift[i].live ? strdup(pl->drift[i].live) : NULL;
		kv->n++;
		if (!kv->keys[i] || !kv->want[i] || (pl->drift[i].live && !kv->old[i]))
			r = -ENOMEM;
	}
	return r;
}

/* Set each value and read it back: the kernel may keep another one. */
static int kvals_set(const struct engine_opts *o, const struct kvals *kv)
{
	size_t i;
	int r = 0;

	for (i = 0; i < kv->n && r == 0; i++) {
		char *now = NULL;

		r = sysctl_set(o->root, kv->keys[i], kv->want[i]);
		if (r == 0)
			r = sysctl_get(o->root, kv->keys[i], &now);
		if (r == 0 && !sysctl_equal(now, kv->want[i]))
			r = -EINVAL;
		free(now);
		if (r < 0 && !kv->optional[i])
			emit(o, ENGINE_ERROR, "cannot set kernel parameter %s=%s: %s", kv->keys[i], kv->want[i],
			     r == -EINVAL ? "the kernel kept another value" : strerror(-r));
		if (kv->optional[i])
			r = 0;
	}
	return r;
}

static void kvals_restore(const struct engine_opts *o, const struct kvals *kv)
{
	size_t i;

	for (i = 0; i < kv->n; i++)
		if (kv->old[i] && sysctl_set(o->root, kv->keys[i], kv->old[i]) < 0)
			emit(o, ENGINE_ERROR, "could not put kernel parameter %s back to %s", kv->keys[i],
			     kv->old[i]);
}

/* ---- carrying out a plan ---- */

static int fail(struct engine_result *res, enum engine_outcome outcome, const char *result, int r)
{
	res->outcome = outcome;
	res->result = result;
	return r < 0 ? r : -EINVAL;
}

/* Only live kernel values drifted: no file changes, no generation. */
static int run_kernel_only(const struct engine_opts *o, const char *kind, struct engine_result *res)
{
	struct kvals kv;
	int r;

	memset(&kv, 0, sizeof(kv));
	res->kernel_only = true;
	r = kvals_from_drift(&res->plan, &kv);
	if (r == 0)
		r = kvals_set(o, &kv);
	if (r < 0) {
		kvals_restore(o, &kv);
		emit(o, ENGINE_ERROR, "%s failed; the kernel parameters it had set are back to their "
		     "previous values", kind);
		kvals_free(&kv);
		return fail(res, ENGINE_RESTORED, "rolled-back", r);
	}
	kvals_free(&kv);
	res->outcome = ENGINE_DONE;
	res->result = "ok";
	return 0;
}

/*
 * The check result an apply keeps with its generation (evidence.json): made
 * after the files are in place and written with the commit, in its syncs.
 */
struct evidence {
	bool server;
	const struct profile *p;
	const char *k3s_version;        /* judged for it; NULL: p's */
	struct buf json;
	unsigned fails;
	int r;                  /* < 0: not made or not stored */
	struct diags d;
};

static void make_evidence(const struct engine_opts *o, struct txn *t, struct evidence *ev)
{
	ev->r = check_evidence_json(o->root, txn_generation(t), ev->server, o->live, ev->p, ev->k3s_version,
				    &ev->fails, &ev->json, &ev->d);
	if (ev->r == 0)
		txn_commit_file(t, CHECK_EVIDENCE_FILE, ev->json.data, ev->json.len, &ev->r);
}

/* After the commit: say what the evidence found, or that it could not be kept. */
static void keep_evidence(const struct engine_opts *o, const struct engine_result *res, struct evidence *ev)
{
	if (res->outcome != ENGINE_DONE || !res->generation[0] || res->kernel_only)
		return;
	if (ev->r < 0)
		emit(o, ENGINE_NOTE, "the check result of generation %s could not be stored: %s", res->generation,
		     ev->d.n ? ev->d.v[0].msg : strerror(-ev->r));
	else if (ev->fails)
		emit(o, ENGINE_NOTE, "generation %s: %u CIS control%s FAIL (k3s-harden check --generation %s)",
		     res->generation, ev->fails, ev->fails == 1 ? "" : "s", res->generation);
}

static int run_plan(const struct engine_opts *o, const char *kind, struct txn *t,
		    struct restart_rx *rx, struct engine_result *res, struct evidence *ev)
{
	const struct plan *pl = &res->plan;
	struct diags e = { NULL, 0, 0 };
	struct kvals kv;
	bool restart, tried = false;
	char why[1024] = "";
	size_t i, n = 0;
	int r, rc = 0;

	memset(&kv, 0, sizeof(kv));
	for (i = 0; i < pl->n; i++)
		n += pl->v[i].action != ACT_UNCHANGED;
	if (n == 0)
		return run_kernel_only(o, kind, res);
	restart = needs_restart(pl);
	txn_set_unit(t, rx->on ? rx->unit : NULL);
	r = txn_prepare(t, pl->v, pl->n, &e);
	if (r < 0) {
		emit_diags(o, ENGINE_DIAG, &e);
		emit(o, ENGINE_ERROR, "%s failed before changing anything (%s); the host is as it was",
		     kind, strerror(-r));
		diags_free(&e);
		return fail(res, ENGINE_RESTORED, "failed", r);
	}
	snprintf(res->generation, sizeof(res->generation), "%s", txn_generation(t));
	r = txn_write(t, &e);
	/* kernel values go live before anything restarts with protect-kernel-defaults */
	for (i = 0; r == 0 && o->live && i < pl->n; i++)
		if ((pl->v[i].flags & CHANGE_SYSCTL) && pl->v[i].action != ACT_UNCHANGED &&
		    pl->v[i].action != ACT_REMOVE)
			break;
	if (r == 0 && o->live && i < pl->n)
		r = kvals_from_file(o, &pl->v[i], &kv);
	else if (r == 0 && pl->n_drift)
		r = kvals_from_drift(pl, &kv);
	/* the journal holds the old values first: a crash from here puts them back too */
	if (r == 0 && kv.n)
		r = txn_record_kernel(t, kv.keys, kv.old, kv.n, &e);
	if (r == 0 && kv.n)
		r = kvals_set(o, &kv);
	if (r == 0 && restart && rx->on) {
		tried = true;
		r = gate(o, rx, why, sizeof(why));
		if (r < 0) {
			emit(o, ENGINE_ERROR, "%s did not come back healthy with the new files: %s", rx->unit, why);
			unit_log(o, rx->unit);
		}
		res->restarted = r == 0;
	}
	if (r == 0) {
		res->pending = restart && !res->restarted;
		if (ev)
			make_evidence(o, t, ev);
		r = txn_commit(t, res->pending, &e);
	}
	if (r < 0) {
		struct diags re = { NULL, 0, 0 };
		int rr;

		emit_diags(o, ENGINE_DIAG, &e);
		res->restarted = res->pending = false;
		/* files and the kernel values recorded in the journal */
		rr = txn_restore(t, &re);
		if (rr < 0) {
			emit_diags(o, ENGINE_DIAG, &re);
			emit(o, ENGINE_ERROR, "%s failed (%s) and generation %s could not be restored completely; "
			     "finish the steps above by hand, then run 'k3s-harden history'",
			     kind, why[0] ? "K3s is not healthy" : strerror(-r), txn_generation(t));
			rc = fail(res, ENGINE_BROKEN, "broken", r);
		} else {
			char why2[1024] = "";

			emit_diags(o, ENGINE_DIAG, &re);
			/* the old files are back: K3s must come back with them too */
			rr = tried ? gate(o, rx, why2, sizeof(why2)) : 0;
			if (rr < 0) {
				unit_log(o, rx->unit);
				emit(o, ENGINE_ERROR, "%s failed, the previous files were restored from generation %s, "
				     "but %s did not come back with them either: %s. Check it with "
				     "'journalctl -u %s' and 'systemctl status %s'; the backups stay in "
				     "%s/backups/%s", kind, txn_generation(t), rx->unit, why2, rx->unit,
				     rx->unit, TXN_STATE_DIR, txn_generation(t));
				rc = fail(res, ENGINE_BROKEN, "broken", rr);
			} else if (tried) {
				emit(o, ENGINE_ERROR, "%s failed (%s); the previous files are back from generation %s "
				     "and %s is active again with them", kind, why[0] ? why : strerror(-r),
				     txn_generation(t), rx->unit);
				rc = fail(res, ENGINE_RESTORED, "rolled-back", r);
			} else {
				emit(o, ENGINE_ERROR, "%s failed (%s); every file was restored from generation %s",
				     kind, strerror(-r), txn_generation(t));
				rc = fail(res, ENGINE_RESTORED, "rolled-back", r);
			}
		}
		diags_free(&re);
		goto out;
	}
	if (res->restarted)
		clear_pending(o->root);
	res->outcome = ENGINE_DONE;
	res->result = "ok";
	res->stats = *txn_stats(t);
out:
	kvals_free(&kv);
	diags_free(&e);
	return rc;
}

/* ---- apply ---- */

/* The evidence kept with a committed generation (check.h): a failure to keep it is only noted. */
static int nothing(struct engine_result *res)
{
	res->outcome = ENGINE_NOTHING;
	res->result = "ok";
	return 0;
}

static void note_manifest_objects(const struct engine_opts *o, const struct plan *pl);

int engine_apply(const struct profile *p, const struct engine_opts *o, struct engine_result *res)
{
	struct restart_rx rx;
	struct txn *t = NULL;
	struct evidence ev;
	enum profile_role role;
	char why[640], unit[128];
	const char *host_unit;
	bool planned = false, recovered = false, have_role = false;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&rx, 0, sizeof(rx));
	memset(&ev, 0, sizeof(ev));
	res->result = "failed";
	host_unit = NULL;
	/* a no-op touches nothing: plan before taking the lock, unless a
	 * journal says an earlier run was interrupted: then its half-new
	 * files are undone first and the role is detected from the host as
	 * it is after that */
	if (!journal_left(o)) {
		if (resolve_role_warn(p, o, &role, why, sizeof(why), unit, sizeof(unit), true) < 0)
			return fail(res, ENGINE_REFUSED, "failed", -EINVAL);
		have_role = true;
		/* the profile's unit:, else the host's K3s unit for that role */
		host_unit = !p->unit && unit[0] ? unit : NULL;
		if ((r = build_plan(p, o, role, why, &res->plan)) < 0)
			return fail(res, ENGINE_REFUSED, "failed", r);
		planned = true;
		if (!plan_changes(&res->plan))
			return nothing(res);
		/* a missing unit is an error before anything is written */
		if ((r = prepare_restart(p, o, &res->plan, role, host_unit, &rx)) < 0)
			return fail(res, ENGINE_REFUSED, "failed", r);
	}
	r = open_txn(o, p->name, "apply", p->retention, &t, &recovered);
	if (r < 0) {
		r = fail(res, r == -EIO ? ENGINE_BROKEN : ENGINE_REFUSED, "failed", r);
		goto out;
	}
	/* the role from the recovered host (also when a run was interrupted
	 * while we waited for the lock) */
	if (!have_role || recovered) {
		if (resolve_role_warn(p, o, &role, why, sizeof(why), unit, sizeof(unit), true) < 0) {
			r = fail(res, ENGINE_REFUSED, "failed", -EINVAL);
			goto out;
		}
		host_unit = !p->unit && unit[0] ? unit : NULL;
		restart_close(&rx);
	}
	txn_set_role(t, role == ROLE_AGENT ? "agent" : "server");
	txn_set_k3s(t, p->env.k3s_version, p->env.bench ? p->env.bench->name : NULL);
	/* while we waited for the lock, another run may have changed the host */
	if (planned && (recovered || !plan_still_current(o->root, &res->plan))) {
		plan_free(&res->plan);
		planned = false;
	}
	if (!planned) {
		if ((r = build_plan(p, o, role, why, &res->plan)) < 0) {
			r = fail(res, ENGINE_REFUSED, "failed", r);
			goto out;
		}
		if (!plan_changes(&res->plan)) {
			r = nothing(res);
			goto out;
		}
	}
	if (!rx.on && (r = prepare_restart(p, o, &res->plan, role, host_unit, &rx)) < 0) {
		r = fail(res, ENGINE_REFUSED, "failed", r);
		goto out;
	}
	ev.server = role != ROLE_AGENT;
	ev.p = p;
	r = run_plan(o, "apply", t, &rx, res, &ev);
	if (r == 0)
		keep_evidence(o, res, &ev);
	if (res->outcome == ENGINE_DONE)
		note_manifest_objects(o, &res->plan);
out:
	buf_free(&ev.json);
	diags_free(&ev.d);
	restart_close(&rx);
	txn_close(t);
	return r;
}

/* ---- rollback ---- */

/* The effective secrets-encryption value, now and after the plan. */
static bool encryption_on(const struct engine_opts *o, const char *config, const struct plan *pl,
			  bool after)
{
	char *value = NULL;
	bool on = plan_effective_value(o->root, config, pl, after, "secrets-encryption", &value) == 0 &&
		  value && strcmp(value, "true") == 0;

	free(value);
	return on;
}

/* K3s does not delete the objects of a manifest that goes away: say which stay. */
static void note_manifest_objects(const struct engine_opts *o, const struct plan *pl)
{
	size_t i;
	bool header = false;

	for (i = 0; i < pl->n; i++) {
		const struct change *ch = &pl->v[i];
		struct k8s_object *objs = NULL;
		size_t n = 0, k;

		if (!(ch->flags & CHANGE_MANIFEST) || ch->action == ACT_UNCHANGED || !ch->old_data)
			continue;
		if (manifest_objects(ch->old_data, ch->old_len, &objs, &n) < 0)
			continue;
		for (k = 0; k < n; k++) {
			/* an object the restored file still declares is not left behind */
			if (ch->new_data && manifest_declares(ch->new_data, ch->new_len, &objs[k]))
				continue;
			/* the default ServiceAccounts belong to Kubernetes: only our patch stays */
			if (strcmp(objs[k].kind, "ServiceAccount") == 0 && strcmp(objs[k].name, "default") == 0) {
				emit(o, ENGINE_NOTE, "ServiceAccount %s/default keeps "
				     "automountServiceAccountToken: false until patched back (kubectl patch)",
				     objs[k].ns ? objs[k].ns : "");
				continue;
			}
			if (!header) {
				emit(o, ENGINE_NOTE, "K3s does not delete objects when their manifest goes away; "
				     "these stay in the cluster until you delete them (kubectl delete ...):");
				header = true;
			}
			emit(o, ENGINE_LINE, "  %s %s%s%s (from %s)", objs[k].kind, objs[k].ns ? objs[k].ns : "",
			     objs[k].ns ? "/" : "", objs[k].name, ch->path);
		}
		manifest_objects_free(objs, n);
	}
}

/*
 * The role generation g's files were for: as it records it; one from before
 * the role was recorded says it only through the unit it restarted (a name
 * with "agent" in it), else fallback.
 */
static enum profile_role generation_role(const struct generation *g, enum profile_role fallback)
{
	if (strcmp(g->role, "agent") == 0)
		return ROLE_AGENT;
	if (strcmp(g->role, "server") == 0)
		return ROLE_SERVER;
	if (g->unit[0] && strcmp(g->unit, "-"))
		return strstr(g->unit, "agent") ? ROLE_AGENT : ROLE_SERVER;
	return fallback;
}

int engine_rollback(const struct profile *p, const char *id_arg, const struct engine_opts *o,
		    struct engine_result *res)
{
	struct diags e = { NULL, 0, 0 };
	struct restart_rx rx;
	struct txn *t = NULL;
	struct generation g, made;
	struct gen_entry *gv = NULL;
	struct evidence ev;
	size_t gn = 0;
	int n_plugins;
	const char *config = p->k3s && p->k3s->path ? p->k3s->path : DEFAULT_CONFIG;
	char *id = res->target;
	enum profile_role role = ROLE_SERVER;
	char unit[128];
	bool recovered, have_gen;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&rx, 0, sizeof(rx));
	memset(&ev, 0, sizeof(ev));
	res->result = "failed";
	r = open_txn(o, "-", "rollback", 0, &t, &recovered);
	if (r < 0)
		return fail(res, r == -EIO ? ENGINE_BROKEN : ENGINE_REFUSED, "failed", r);
	if (id_arg) {
		rollback_normalize_id(id_arg, id, sizeof(res->target));
	} else if (rollback_pick_generation(o->root, id, sizeof(res->target)) < 0) {
		emit(o, ENGINE_ERROR, "nothing to roll back: no committed generation under %s%s",
		     shown_root(o), TXN_STATE_DIR);
		r = fail(res, ENGINE_REFUSED, "failed", -ENOENT);
		goto out;
	}
	r = plan_rollback(o->root, id, &res->plan, &e);
	emit_diags(o, ENGINE_DIAG, &e);
	if (r < 0) {
		r = fail(res, ENGINE_REFUSED, "failed", r);
		goto out;
	}
	if (!plan_changes(&res->plan)) {
		r = nothing(res);
		goto out;
	}
	/* files made for another K3s: an admission plugin this one does not know stops it */
	diags_free(&e);
	rollback_made_for(o->root, id, &made);
	n_plugins = rollback_check_plugins(o->root, config, id, &made, &res->plan, o->k3s_version, &e);
	if (n_plugins && (!o->k3s_version || o->ignore_k3s_version)) {
		emit_diags(o, ENGINE_WARNING, &e);
	} else if (n_plugins) {
		emit_diags(o, ENGINE_DIAG, &e);
		r = fail(res, ENGINE_REFUSED, "failed", -EPERM);
		goto out;
	}
	diags_free(&e);
	if (encryption_on(o, config, &res->plan, false) && !encryption_on(o, config, &res->plan, true) &&
	    !o->force) {
		emit(o, ENGINE_ERROR, "rolling back generation %s (putting back the files from before %s) would turn "
		     "secrets-encryption off. Secrets "
		     "written since it was turned on are stored encrypted, and K3s without the encryption "
		     "config cannot read them back (k3s-io/k3s issue 7195); decrypt them first "
		     "(k3s secrets-encrypt disable, then rotate), or pass --force if you know "
		     "there are none", id, id);
		r = fail(res, ENGINE_REFUSED, "failed", -EPERM);
		goto out;
	}
	/* restart the unit the generation's apply restarted; record its profile */
	have_gen = txn_read_generation(o->root, id, &g, &gv, &gn) == 0;
	gen_entries_free(gv, gn);
	/* the unit the generation restarted; without one, the profile's for this role */
	if (have_gen && g.unit[0] && strcmp(g.unit, "-")) {
		role = generation_role(&g, ROLE_SERVER);
		r = prepare_restart(p, o, &res->plan, ROLE_SERVER, g.unit, &rx);
	} else if ((r = resolve_role(p, o, &role, NULL, 0, unit, sizeof(unit))) == 0) {
		r = prepare_restart(p, o, &res->plan, role, !p->unit && unit[0] ? unit : NULL, &rx);
		if (have_gen)
			role = generation_role(&g, role);
	}
	if (r < 0) {
		r = fail(res, ENGINE_REFUSED, "failed", r);
		goto out;
	}
	txn_set_role(t, role == ROLE_AGENT ? "agent" : "server");
	note_manifest_objects(o, &res->plan);
	/* what the files it puts back were made for (by the generation before id);
	 * else id's profile and the K3s they go back to */
	if (made.id[0] && made.profile[0])
		txn_set_profile(t, made.profile);
	else if (have_gen)
		txn_set_profile(t, g.profile);
	if (made.k3s_version[0])
		txn_set_k3s(t, made.k3s_version, made.benchmark);
	else
		txn_set_k3s(t, o->k3s_version, NULL);
	ev.server = role != ROLE_AGENT;
	ev.p = p;
	/* judged for the K3s they go back to, else for the one they were made for */
	ev.k3s_version = o->k3s_version ? o->k3s_version : made.k3s_version[0] ? made.k3s_version : NULL;
	r = run_plan(o, "rollback", t, &rx, res, &ev);
	if (r == 0)
		keep_evidence(o, res, &ev);
out:
	buf_free(&ev.json);
	diags_free(&ev.d);
	restart_close(&rx);
	diags_free(&e);
	txn_close(t);
	return r;
}

void engine_result_free(struct engine_result *res)
{
	plan_free(&res->plan);
}

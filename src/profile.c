#include "profile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cyaml/cyaml.h>

#include "embedded.h"
#include "fsutil.h"
#include "k3s_keys.h"
#include "profile_schema.h"
#include "yemit.h"

#define MAX_EXTENDS 16
#define PROFILE_MAX_SIZE (1024 * 1024)

struct ident {
	dev_t dev;
	ino_t ino;
	const char *builtin;
};

struct loader {
	struct diags *d;
	struct ident stack[MAX_EXTENDS];
	unsigned depth;
	int err;
};

/* ---- validators ---- */

bool is_dns1123_label(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static bool is_dns1123_subdomain(const char *s)
{
	char buf[254], *part, *save = NULL;
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return false;
	memcpy(buf, s, n + 1);
	for (part = strtok_r(buf, ".", &save); part; part = strtok_r(NULL, ".", &save))
		if (!is_dns1123_label(part))
			return false;
	return true;
}

bool is_sysctl_key(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 255 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

bool is_abs_path(const char *s)
{
	const char *p;
	size_t n = strlen(s);

	if (n < 2 || n >= PATH_MAX || s[0] != '/' || s[n - 1] == '/' || strstr(s, "//"))
		return false;
	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	for (p = s; (p = strchr(p, '/')); p++)
		if ((p[1] == '.' && (p[2] == '/' || p[2] == '\0')) ||
		    (p[1] == '.' && p[2] == '.' && (p[3] == '/' || p[3] == '\0')))
			return false;
	return true;
}

static bool is_file_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 200 || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

/* Go's time.ParseDuration syntax, as the kubelet and API server read it. */
bool is_duration(const char *s)
{
	static const char *const units[] = { "ns", "us", "µs", "ms", "s", "m", "h", NULL };
	const char *p = s;

	if (strcmp(s, "0") == 0)
		return true;
	if (*p == '\0')
		return false;
	while (*p) {
		const char *const *u;
		int digits = 0;

		while (isdigit((unsigned char)*p)) {
			p++;
			digits++;
		}
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p)) {
				p++;
				digits++;
			}
		}
		if (!digits)
			return false;
		for (u = units; *u; u++) {
			size_t l = strlen(*u);

			/* "m" must not swallow the "m" of "ms" */
			if (strncmp(p, *u, l) == 0 && !(l == 1 && **u == 'm' && p[1] == 's')) {
				p += l;
				break;
			}
		}
		if (!*u)
			return false;
	}
	return true;
}

/* "1.2.16", or with a benchmark prefix: "k3s-cis-1.24:4.2.6". */
bool is_control_id(const char *s)
{
	const char *colon = strchr(s, ':'), *p;
	bool dot_ok = false;

	if (colon) {
		if (colon == s)
			return false;
		for (p = s; p < colon; p++)
			if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
			      *p == '-' || *p == '.'))
				return false;
		s = colon + 1;
	}
	if (!isdigit((unsigned char)*s))
		return false;
	for (p = s; *p; p++) {
		if (isdigit((unsigned char)*p)) {
			dot_ok = true;
		} else if (*p == '.' && dot_ok) {
			dot_ok = false;
		} else {
			return false;
		}
	}
	return dot_ok;
}

long long duration_ms(const char *s)
{
	static const struct { const char *u; double ms; } units[] = {
		{ "ns", 1e-6 }, { "us", 1e-3 }, { "µs", 1e-3 }, { "ms", 1 }, { "s", 1000 },
		{ "m", 60000 }, { "h", 3600000 },
	};
	const char *p = s;
	double total = 0;

	if (!is_duration(s))
		return -EINVAL;
	if (strcmp(s, "0") == 0)
		return 0;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		size_t i, best = 0, bl = 0;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].u);

			if (strncmp(end, units[i].u, l) == 0 && l > bl) {
				best = i;
				bl = l;
			}
		}
		total += v * units[best].ms;
		p = end + bl;
	}
	return total > 1e15 ? -EINVAL : (long long)total;
}

const char *profile_unit(const struct profile *p, enum profile_role role)
{
	if (p->unit)
		return p->unit;
	return role == ROLE_AGENT ? "k3s-agent.service" : "k3s.service";
}

static bool is_flag_name(const char *s)
{
	size_t i;

	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; s[i]; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return i <= 128;
}

static bool has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool is_bool_word(const char *s)
{
	return strcmp(s, "true") == 0 || strcmp(s, "false") == 0;
}

/* Decimal only: libcyaml would read 010 as octal 8. */
static bool is_uint_word(const char *s)
{
	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* ---- reading sources ---- */

static void lerr(struct loader *L, const struct ynode *n, const char *file,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void lerr(struct loader *L, const struct ynode *n, const char *file,
		 const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (k >= 0) {
		char *p;

		/* a value with a newline must not split the message */
		for (p = msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		diags_add(L->d, n ? n->file : file, n ? n->start.line : 0,
			  n ? n->start.col : 0, "%s", msg);
	}
	free(msg);
	L->err = -EINVAL;
}

static bool looks_like_path(const char *ref)
{
	size_t n = strlen(ref);

	return strchr(ref, '/') ||
	       (n > 5 && strcmp(ref + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(ref + n - 4, ".yml") == 0);
}

static char *builtin_list(void)
{
	const struct embedded_file *f;
	struct buf b = BUF_INIT;

	for (f = embedded_profiles; f->name; f++)
		buf_printf(&b, "%s%s", b.len ? ", " : "", f->name);
	return buf_steal(&b);
}

static int load_tree(struct loader *L, const char *ref, const char *rel_dir,
		     const struct ynode *from, struct ynode **out);

static int merge_into(struct loader *L, struct ynode *dst, const struct ynode *src,
		      const char *path);

/* Copy src, turning `key+:` into `key:` inside maps that have no parent. */
static struct ynode *copy_plain(struct loader *L, const struct ynode *src, const char *path)
{
	struct ynode *c;

	if (src->kind != YN_MAP)
		return ynode_copy(src);
	c = ynode_new(YN_MAP, src->file);
	if (!c)
		return NULL;
	c->start = src->start;
	c->end = src->end;
	if (merge_into(L, c, src, path) < 0) {
		ynode_free(c);
		return NULL;
	}
	return c;
}

/* Key name without a trailing '+'. */
static size_t base_len(const struct ynode *k)
{
	return k->len > 1 && k->value[k->len - 1] == '+' ? k->len - 1 : k->len;
}

static int merge_into(struct loader *L, struct ynode *dst, const struct ynode *src,
		      const char *path)
{
	size_t i, j;

	for (i = 0; i < src->n; i++) {
		const struct ynode *k = src->keys[i], *v = src->items[i];
		size_t kl = k->len;
		bool append = kl > 1 && k->value[kl - 1] == '+';
		struct ynode *key, *val;
		char name[512], full[1024];
		long at;

		if (kl >= sizeof(name)) {
			lerr(L, k, NULL, "key too long");
			continue;
		}
		memcpy(name, k->value, kl + 1);
		if (append)
			name[kl - 1] = '\0';
		snprintf(full, sizeof(full), "%s%s%s", path, *path ? "." : "", name);
		/* `key+:` and `key:` in one mapping: the second would silently win */
		for (j = 0; j < i; j++)
			if (base_len(src->keys[j]) == strlen(name) &&
			    strncmp(src->keys[j]->value, name, strlen(name)) == 0)
				break;
		if (j < i) {
			lerr(L, k, NULL, "%s: duplicate key (also set on line %u)", full,
			     src->keys[j]->start.line);
			continue;
		}
		at = ynode_find(dst, name);
		if (append && at >= 0) {
			struct ynode *d = dst->items[at];

			if (d->kind != YN_SEQ || v->kind != YN_SEQ) {
				lerr(L, k, NULL, "%s: '+' appends to a list, and this is not a list", full);
				continue;
			}
			for (j = 0; j < v->n; j++) {
				struct ynode *c = copy_plain(L, v->items[j], full);

				if (!c || ynode_append(d, NULL, c) < 0) {
					ynode_free(c);
					return -ENOMEM;
				}
			}
			continue;
		}
		if (append && v->kind != YN_SEQ) {
			lerr(L, k, NULL, "%s: '+' appends to a list, and this is not a list", full);
			continue;
		}
		if (at >= 0 && dst->items[at]->kind == YN_MAP && v->kind == YN_MAP) {
			int r = merge_into(L, dst->items[at], v, full);

			if (r < 0)
				return r;
			continue;
		}
		key = ynode_copy(k);
		val = copy_plain(L, v, full);
		if (!key || !val) {
			ynode_free(key);
			ynode_free(val);
			return -ENOMEM;
		}
		key->value[strlen(name)] = '\0';
		key->len = strlen(name);
		if (at >= 0) {
			ynode_free(dst->keys[at]);
			ynode_free(dst->items[at]);
			dst->keys[at] = key;
			dst->items[at] = val;
		} else if (ynode_append(dst, key, val) < 0) {
			ynode_free(key);
			ynode_free(val);
			return -ENOMEM;
		}
	}
	return 0;
}

static int read_profile_file(struct loader *L, const char *path, const struct ynode *from,
			     char **data, size_t *len, struct stat *st)
{
	int fd, r;

	const char *pre = from ? "extends: " : "";
	char name[PATH_MAX + 8] = "";

	/* at the extends: line, name the file; for the file itself the label does */
	if (from)
		snprintf(name, sizeof(name), " '%s'", path);
	/* O_NONBLOCK: a FIFO must not hang us before fstat can refuse it */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			lerr(L, from, path, "%srefusing to read profile%s through a symbolic link", pre, name);
		else
			lerr(L, from, path, "%scannot open profile%s: %s", pre, name, strerror(-r));
		return r;
	}
	r = read_fd_all(fd, PROFILE_MAX_SIZE, data, len, st);
	close(fd);
	if (r == -EFBIG)
		lerr(L, from, path, "%sprofile%s is larger than 1 MiB", pre, name);
	else if (r == -EISDIR || r == -EINVAL)
		lerr(L, from, path, "%sprofile%s is not a regular file", pre, name);
	else if (r < 0)
		lerr(L, from, path, "%scannot read profile%s: %s", pre, name, strerror(-r));
	return r;
}

static int push_ident(struct loader *L, const struct ynode *from, const char *label,
		      struct ident id)
{
	unsigned i;

	for (i = 0; i < L->depth; i++) {
		bool same = id.builtin ? (L->stack[i].builtin && strcmp(L->stack[i].builtin, id.builtin) == 0)
				       : (!L->stack[i].builtin && L->stack[i].dev == id.dev &&
					  L->stack[i].ino == id.ino);

		if (same) {
			lerr(L, from, label, "extends: cycle: '%s' extends itself", label);
			return -ELOOP;
		}
	}
	if (L->depth == MAX_EXTENDS) {
		lerr(L, from, label, "extends: more than %d levels", MAX_EXTENDS);
		return -ELOOP;
	}
	L->stack[L->depth++] = id;
	return 0;
}

static int load_tree(struct loader *L, const char *ref, const char *rel_dir,
		     const struct ynode *from, struct ynode **out)
{
	const struct embedded_file *bf = NULL;
	struct ynode *tree = NULL, *merged = NULL, *ext;
	struct ident id = { 0, 0, NULL };
	char *data = NULL, *path = NULL, *label = NULL, *dir = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	if (!looks_like_path(ref))
		bf = embedded_find(embedded_profiles, ref);
	if (!bf) {
		if (ref[0] != '/' && rel_dir)
			r = asprintf(&path, "%s/%s", rel_dir, ref);
		else
			r = asprintf(&path, "%s", ref);
		if (r < 0)
			return -ENOMEM;
	}
	if (bf) {
		id.builtin = bf->name;
		if (asprintf(&label, "builtin:%s", bf->name) < 0)
			return -ENOMEM;
	} else if (!looks_like_path(ref) && access(path, F_OK) != 0) {
		char *names = builtin_list();

		lerr(L, from, ref, "%sunknown profile '%s' (built-in: %s)", from ? "extends: " : "",
		     ref, names ? names : "");
		free(names);
		free(path);
		return -ENOENT;
	} else {
		r = read_profile_file(L, path, from, &data, &len, &st);
		if (r < 0)
			goto out;
		id.dev = st.st_dev;
		id.ino = st.st_ino;
		label = strdup(path);
		dir = strdup(path);
		if (!label || !dir) {
			r = -ENOMEM;
			goto out;
		}
		if (strrchr(dir, '/'))
			*strrchr(dir, '/') = '\0';
		else
			strcpy(dir, ".");
	}
	if ((r = push_ident(L, from, label, id)) < 0)
		goto out;
	r = ynode_parse(label, bf ? bf->data : data, bf ? bf->len : len, 0, &tree, L->d);
	if (r < 0) {
		L->err = r;
		goto pop;
	}
	if (tree->kind != YN_MAP) {
		lerr(L, tree, NULL, "a profile is a mapping of settings");
		r = -EINVAL;
		goto pop;
	}
	ext = ynode_get(tree, "extends");
	if (ext && (ext->kind != YN_SCALAR || ext->len == 0)) {
		lerr(L, ext, NULL, "extends: expected a profile name or file");
		r = -EINVAL;
		goto pop;
	}
	if (ext || !bf || strcmp(bf->name, "base") != 0) {
		r = load_tree(L, ext ? ext->value : "base", bf ? NULL : dir,
			      ext ? ext : tree, &merged);
		if (r < 0)
			goto pop;
	} else {
		merged = ynode_new(YN_MAP, tree->file);
		if (!merged) {
			r = -ENOMEM;
			goto pop;
		}
	}
	r = merge_into(L, merged, tree, "");
	if (r == 0 && L->err)
		r = L->err;
	if (r == 0 && !ynode_get(tree, "name")) {
		/* A profile without a name is called after its file. */
		const char *b = strrchr(label, '/') ? strrchr(label, '/') + 1 : label;
		size_t bl = strcspn(b, ".");
		struct ynode *k = ynode_scalar(tree->file, "name"), *v;
		long at = ynode_find(merged, "name");

		v = ynode_new(YN_SCALAR, tree->file);
		if (!k || !v || !(v->value = strndup(b, bl))) {
			ynode_free(k);
			ynode_free(v);
			r = -ENOMEM;
			goto pop;
		}
		v->len = bl;
		v->plain = false;
		if (at >= 0) {
			ynode_free(k);
			ynode_free(merged->items[at]);
			merged->items[at] = v;
		} else if ((r = ynode_append(merged, k, v)) < 0) {
			ynode_free(k);
			ynode_free(v);
		}
	}
pop:
	L->depth--;
out:
	if (r == 0) {
		*out = merged;
		merged = NULL;
	}
	ynode_free(merged);
	ynode_free(tree);
	free(data);
	free(path);
	free(label);
	free(dir);
	return r;
}

/* ---- schema check over the merged tree, reporting every problem ---- */

struct chk {
	struct loader *L;
	char path[512];
};

static const char *kind_name(enum ynode_kind k)
{
	return k == YN_MAP ? "a mapping" : k == YN_SEQ ? "a list" : "a scalar";
}

static void check_value(struct chk *c, const struct ynode *n, const cyaml_schema_value_t *s);

static size_t path_push(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t path_push(struct chk *c, const char *fmt, ...)
{
	size_t old = strlen(c->path);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->path + old, sizeof(c->path) - old, fmt, ap);
	va_end(ap);
	return old;
}

static void check_mapping(struct chk *c, const struct ynode *n, const cyaml_schema_value_t *s)
{
	const cyaml_schema_field_t *f;
	size_t i;

	for (i = 0; i < n->n; i++) {
		const struct ynode *k = n->keys[i];
		size_t old;

		for (f = s->mapping.fields; f->key; f++)
			if (strcmp(f->key, k->value) == 0)
				break;
		if (!f->key) {
			lerr(c->L, k, NULL, "%s%s%s: unknown key", c->path,
			     c->path[0] ? "." : "", k->value);
			continue;
		}
		old = path_push(c, "%s%s", c->path[0] ? "." : "", f->key);
		check_value(c, n->items[i], &f->value);
		c->path[old] = '\0';
	}
	for (f = s->mapping.fields; f->key; f++)
		if (!(f->value.flags & CYAML_FLAG_OPTIONAL) && ynode_find(n, f->key) < 0)
			lerr(c->L, n, NULL, "%s%s%s: missing required key", c->path,
			     c->path[0] ? "." : "", f->key);
}

static void check_value(struct chk *c, const struct ynode *n, const cyaml_schema_value_t *s)
{
	const char *want = NULL;
	unsigned i;

	switch (s->type) {
	case CYAML_MAPPING:
		if (n->kind != YN_MAP) {
			want = "a mapping";
			break;
		}
		check_mapping(c, n, s);
		return;
	case CYAML_SEQUENCE:
		if (n->kind != YN_SEQ) {
			want = "a list";
			break;
		}
		if (n->n < s->sequence.min || n->n > s->sequence.max) {
			lerr(c->L, n, NULL, "%s: expected %u to %u entries, found %zu", c->path,
			     s->sequence.min, s->sequence.max, n->n);
			return;
		}
		for (i = 0; i < n->n; i++) {
			size_t old = path_push(c, "[%u]", i);

			check_value(c, n->items[i], s->sequence.entry);
			c->path[old] = '\0';
		}
		return;
	default:
		break;
	}
	if (want || n->kind != YN_SCALAR) {
		lerr(c->L, n, NULL, "%s: expected %s, found %s", c->path,
		     want ? want : "a scalar", kind_name(n->kind));
		return;
	}
	switch (s->type) {
	case CYAML_STRING:
		if (n->plain && n->len == 0)
			lerr(c->L, n, NULL, "%s: expected a string, found nothing", c->path);
		else if (n->len < s->string.min || n->len > s->string.max)
			lerr(c->L, n, NULL, "%s: expected %u to %u characters, found %zu",
			     c->path, s->string.min, s->string.max, n->len);
		return;
	case CYAML_BOOL:
		if (!is_bool_word(n->value))
			lerr(c->L, n, NULL, "%s: expected true or false, found '%s'", c->path, n->value);
		return;
	case CYAML_UINT:
		if (!is_uint_word(n->value) || strlen(n->value) > 10 ||
		    strtoull(n->value, NULL, 10) > UINT32_MAX)
			lerr(c->L, n, NULL, "%s: expected a whole number from 0 to %u, found '%s'",
			     c->path, UINT32_MAX, n->value);
		return;
	case CYAML_ENUM: {
		struct buf b = BUF_INIT;

		for (i = 0; i < s->enumeration.count; i++)
			if (strcmp(s->enumeration.strings[i].str, n->value) == 0)
				return;
		for (i = 0; i < s->enumeration.count; i++)
			buf_printf(&b, "%s%s", i ? "|" : "", s->enumeration.strings[i].str);
		lerr(c->L, n, NULL, "%s: expected one of %s, found '%s'", c->path,
		     b.data ? b.data : "", n->value);
		buf_free(&b);
		return;
	}
	default:
		lerr(c->L, n, NULL, "%s: unsupported schema type", c->path);
	}
}

/* ---- typed load with libcyaml ---- */

struct cylog {
	struct buf msg;
};

static void cyaml_log_capture(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
	__attribute__((format(printf, 3, 0)));

static void cyaml_log_capture(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	struct cylog *cl = ctx;

	if (level >= CYAML_LOG_ERROR)
		buf_vprintf(&cl->msg, fmt, args);
}

static const cyaml_config_t *cyaml_cfg(struct cylog *cl)
{
	static cyaml_config_t cfg;

	cfg.log_fn = cyaml_log_capture;
	cfg.log_ctx = cl;
	cfg.mem_fn = cyaml_mem;
	cfg.log_level = CYAML_LOG_ERROR;
	cfg.flags = CYAML_CFG_NO_ALIAS;
	return &cfg;
}

static int cyaml_load_tree(struct loader *L, const struct ynode *tree, struct profile **out)
{
	struct buf text = BUF_INIT;
	struct cylog cl = { BUF_INIT };
	cyaml_data_t *data = NULL;
	cyaml_err_t e;
	int r;

	if ((r = yemit(&text, tree)) < 0)
		goto out;
	e = cyaml_load_data((const uint8_t *)text.data, text.len, cyaml_cfg(&cl),
			    &profile_schema, &data, NULL);
	if (e != CYAML_OK) {
		/* The schema check above should have caught it; say what libcyaml said. */
		lerr(L, tree, NULL, "profile: %s%s%s", cyaml_strerror(e),
		     cl.msg.len ? ": " : "", cl.msg.len ? cl.msg.data : "");
		r = -EINVAL;
		goto out;
	}
	*out = data;
out:
	buf_free(&text);
	buf_free(&cl.msg);
	return r;
}

/* ---- meaning ---- */

struct vctx {
	struct loader *L;
	const struct ynode *tree;
};

/* The node at a dotted path like "audit.log_dir" or "kernel.parameters.3.key";
 * the deepest existing node when the path does not exist. */
static const struct ynode *node_at(const struct vctx *v, const char *path)
{
	const struct ynode *n = v->tree;
	char buf[256], *part, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part && n; part = strtok_r(NULL, ".", &save)) {
		const struct ynode *next = NULL;

		if (n->kind == YN_MAP) {
			next = ynode_get(n, part);
		} else if (n->kind == YN_SEQ && isdigit((unsigned char)part[0])) {
			unsigned long i = strtoul(part, NULL, 10);

			if (i < n->n)
				next = n->items[i];
		}
		if (!next)
			break;
		n = next;
	}
	return n;
}

static void verr(struct vctx *v, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void verr(struct vctx *v, const char *path, const char *fmt, ...)
{
	char shown[256], *msg = NULL, *o;
	const char *p;
	va_list ap;
	int k;

	/* internal paths use ".3." for list items; show them as "[3]" */
	for (p = path, o = shown; *p && o < shown + sizeof(shown) - 8; p++) {
		if (*p == '.' && isdigit((unsigned char)p[1])) {
			*o++ = '[';
			for (p++; isdigit((unsigned char)*p); p++)
				*o++ = *p;
			*o++ = ']';
			p--;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	va_start(ap, fmt);
	k = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (k >= 0)
		lerr(v->L, node_at(v, path), NULL, "%s: %s", shown, msg);
	free(msg);
}

static void v_controls(struct vctx *v, const char *base, char **ids, unsigned n)
{
	char path[256];
	unsigned i;

	for (i = 0; i < n; i++) {
		if (is_control_id(ids[i]))
			continue;
		snprintf(path, sizeof(path), "%s.controls.%u", base, i);
		verr(v, path, "'%s' is not a CIS control ID (like 1.2.16)", ids[i]);
	}
}

static void v_path(struct vctx *v, const char *path, const char *value)
{
	if (!value)
		verr(v, path, "missing");
	else if (!is_abs_path(value))
		verr(v, path, "'%s' is not a clean absolute path (no '.', '..', '//' or trailing '/')", value);
}

static int cmp_index_by_name(const void *a, const void *b, void *names)
{
	char **v = names;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(v[x], v[y]);

	return c ? c : (x > y) - (x < y);
}

static void v_names(struct vctx *v, const char *base, char **names, unsigned n,
		    bool (*ok)(const char *), const char *what)
{
	char path[256];
	size_t *order;
	unsigned i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s.%u", base, i);
		if (!ok(names[i]))
			verr(v, path, "'%s' is not %s", names[i], what);
	}
	/* duplicates by sorting, so 10,000 namespaces stay cheap */
	order = malloc((n + 1) * sizeof(*order));
	if (!order)
		return;
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_index_by_name, names);
	for (i = 1; i < n; i++) {
		if (strcmp(names[order[i]], names[order[i - 1]]) != 0)
			continue;
		snprintf(path, sizeof(path), "%s.%zu", base, order[i]);
		verr(v, path, "'%s' is listed twice", names[order[i]]);
	}
	free(order);
}

static bool ok_username(const char *s)
{
	return *s && !has_control_chars(s);
}

static bool ok_psa_version(const char *s)
{
	return strcmp(s, "latest") == 0 ||
	       (strncmp(s, "v1.", 3) == 0 && is_uint_word(s + 3) && strlen(s) < 8);
}

static void v_pod_security(struct vctx *v, const struct profile *p)
{
	const struct pod_security *ps = p->pod_security;
	const struct psa_defaults *d;

	if (!ps)
		return;
	v_path(v, "pod_security.path", ps->path);
	v_controls(v, "pod_security", ps->controls, ps->controls_count);
	d = &ps->defaults;
	if (d->enforce_version && !ok_psa_version(d->enforce_version))
		verr(v, "pod_security.defaults.enforce_version", "'%s' is not 'latest' or v1.N", d->enforce_version);
	if (d->audit_version && !ok_psa_version(d->audit_version))
		verr(v, "pod_security.defaults.audit_version", "'%s' is not 'latest' or v1.N", d->audit_version);
	if (d->warn_version && !ok_psa_version(d->warn_version))
		verr(v, "pod_security.defaults.warn_version", "'%s' is not 'latest' or v1.N", d->warn_version);
	v_names(v, "pod_security.exemptions.namespaces", ps->exemptions.namespaces,
		ps->exemptions.namespaces_count, is_dns1123_label, "a namespace name (DNS-1123 label)");
	v_names(v, "pod_security.exemptions.runtime_classes", ps->exemptions.runtime_classes,
		ps->exemptions.runtime_classes_count, is_dns1123_subdomain,
		"a RuntimeClass name (DNS-1123 subdomain)");
	v_names(v, "pod_security.exemptions.usernames", ps->exemptions.usernames,
		ps->exemptions.usernames_count, ok_username, "a user name");
}

static void v_event_rate_limit(struct vctx *v, const struct profile *p)
{
	const struct event_rate_limit *e = p->event_rate_limit;
	char path[128];
	unsigned i, j;

	if (!e)
		return;
	v_controls(v, "event_rate_limit", e->controls, e->controls_count);
	if (e->enabled && e->limits_count == 0)
		verr(v, "event_rate_limit.limits", "EventRateLimit needs at least one limit");
	for (i = 0; i < e->limits_count; i++) {
		snprintf(path, sizeof(path), "event_rate_limit.limits.%u.qps", i);
		if (e->limits[i].qps == 0)
			verr(v, path, "must be at least 1");
		snprintf(path, sizeof(path), "event_rate_limit.limits.%u.burst", i);
		if (e->limits[i].burst == 0)
			verr(v, path, "must be at least 1");
		for (j = 0; j < i; j++) {
			if (e->limits[j].type != e->limits[i].type)
				continue;
			snprintf(path, sizeof(path), "event_rate_limit.limits.%u.type", i);
			verr(v, path, "a limit of type %s is already set", erl_type_name(e->limits[i].type));
		}
	}
}

static void v_audit(struct vctx *v, const struct profile *p)
{
	const struct audit *a = p->audit;

	if (!a)
		return;
	v_controls(v, "audit", a->controls, a->controls_count);
	v_path(v, "audit.policy_path", a->policy_path);
	v_path(v, "audit.log_dir", a->log_dir);
	if (!a->log_file || !is_file_name(a->log_file))
		verr(v, "audit.log_file", "'%s' is not a file name", a->log_file ? a->log_file : "");
	if (a->enabled) {
		if (a->max_age < 1 || a->max_age > 3650)
			verr(v, "audit.max_age", "%u days is outside 1 to 3650", a->max_age);
		if (a->max_backup < 1 || a->max_backup > 1000)
			verr(v, "audit.max_backup", "%u files is outside 1 to 1000", a->max_backup);
		if (a->max_size < 1 || a->max_size > 102400)
			verr(v, "audit.max_size", "%u MB is outside 1 to 102400", a->max_size);
	}
}

/* The values the kubelet insists on with protect-kernel-defaults. */
static const struct { const char *key, *value; } kubelet_kernel[] = {
	{ "vm.overcommit_memory", "1" },
	{ "vm.panic_on_oom", "0" },
	{ "kernel.panic", "10" },
	{ "kernel.panic_on_oops", "1" },
	{ "kernel.keys.root_maxkeys", "1000000" },
	{ "kernel.keys.root_maxbytes", "25000000" },
};

static void v_kernel(struct vctx *v, const struct profile *p)
{
	const struct kernel *k = p->kernel;
	char path[128];
	unsigned i, j;

	if (!k)
		return;
	v_path(v, "kernel.path", k->path);
	v_controls(v, "kernel", k->controls, k->controls_count);
	for (i = 0; i < k->parameters_count; i++) {
		const struct sysctl_param *sp = &k->parameters[i];

		snprintf(path, sizeof(path), "kernel.parameters.%u", i);
		v_controls(v, path, sp->controls, sp->controls_count);
		snprintf(path, sizeof(path), "kernel.parameters.%u.key", i);
		if (!is_sysctl_key(sp->key))
			verr(v, path, "'%s' is not a sysctl key (a-z, 0-9, '_' and '.', no '..' or '/')", sp->key);
		for (j = 0; j < i; j++)
			if (strcmp(k->parameters[j].key, sp->key) == 0)
				verr(v, path, "'%s' is set twice", sp->key);
		snprintf(path, sizeof(path), "kernel.parameters.%u.value", i);
		if (!*sp->value || has_control_chars(sp->value) || sp->value[0] == ' ' ||
		    sp->value[strlen(sp->value) - 1] == ' ')
			verr(v, path, "a sysctl value must be one line without control characters "
			     "or surrounding spaces");
	}
	if (!k->protect_kernel_defaults)
		return;
	for (i = 0; i < sizeof(kubelet_kernel) / sizeof(kubelet_kernel[0]); i++) {
		for (j = 0; j < k->parameters_count; j++)
			if (strcmp(k->parameters[j].key, kubelet_kernel[i].key) == 0)
				break;
		if (j == k->parameters_count) {
			verr(v, "kernel.parameters", "protect_kernel_defaults needs %s=%s, or the "
			     "kubelet will not start", kubelet_kernel[i].key, kubelet_kernel[i].value);
		} else if (strcmp(k->parameters[j].value, kubelet_kernel[i].value) != 0) {
			snprintf(path, sizeof(path), "kernel.parameters.%u.value", j);
			verr(v, path, "protect_kernel_defaults needs %s=%s, not %s",
			     kubelet_kernel[i].key, kubelet_kernel[i].value, k->parameters[j].value);
		}
	}
}

static bool ok_prefix(const char *s)
{
	return is_dns1123_label(s);
}

static void v_network_policies(struct vctx *v, const struct profile *p)
{
	const struct network_policies *np = p->network_policies;

	if (!np)
		return;
	v_controls(v, "network_policies", np->controls, np->controls_count);
	v_names(v, "network_policies.namespaces", np->namespaces, np->namespaces_count,
		is_dns1123_label, "a namespace name (DNS-1123 label)");
	if (np->enabled && np->namespaces_count == 0)
		verr(v, "network_policies.namespaces", "no namespace to protect");
	if (!np->manifest_prefix || !ok_prefix(np->manifest_prefix))
		verr(v, "network_policies.manifest_prefix", "'%s' is not a DNS-1123 label",
		     np->manifest_prefix ? np->manifest_prefix : "");
}

static bool ok_manifest_name(const char *s)
{
	size_t n = strlen(s);

	return is_file_name(s) && n > 5 && strcmp(s + n - 5, ".yaml") == 0;
}

static void v_service_accounts(struct vctx *v, const struct profile *p)
{
	const struct service_accounts *sa = p->service_accounts;

	if (!sa)
		return;
	v_controls(v, "service_accounts", sa->controls, sa->controls_count);
	v_names(v, "service_accounts.namespaces", sa->namespaces, sa->namespaces_count,
		is_dns1123_label, "a namespace name (DNS-1123 label)");
	if (!sa->manifest || !ok_manifest_name(sa->manifest))
		verr(v, "service_accounts.manifest", "'%s' is not a file name ending in .yaml",
		     sa->manifest ? sa->manifest : "");
}

/* K3s list options that take `flag=value` entries; where they run is k3s_keys.c's. */
static const struct { const char *name; } arg_lists[] = {
	{ "kube-apiserver-arg" },
	{ "kube-controller-manager-arg" },
	{ "kube-scheduler-arg" },
	{ "kube-cloud-controller-manager-arg" },
	{ "etcd-arg" },
	{ "kubelet-arg" },
	{ "kube-proxy-arg" },
};

enum flag_type { FT_ANY, FT_BOOL, FT_UINT, FT_DURATION, FT_OWNED };

/* Flags whose values we can check, and flags other profile sections own. */
static const struct { const char *flag; enum flag_type type; const char *owner; } known_flags[] = {
	{ "request-timeout", FT_DURATION, NULL },
	{ "streaming-connection-idle-timeout", FT_DURATION, NULL },
	{ "min-request-timeout", FT_UINT, NULL },
	{ "service-account-lookup", FT_BOOL, NULL },
	{ "use-service-account-credentials", FT_BOOL, NULL },
	{ "make-iptables-util-chains", FT_BOOL, NULL },
	{ "profiling", FT_BOOL, NULL },
	{ "anonymous-auth", FT_BOOL, NULL },
	{ "rotate-certificates", FT_BOOL, NULL },
	{ "terminated-pod-gc-threshold", FT_UINT, NULL },
	{ "event-qps", FT_UINT, NULL },
	{ "pod-max-pids", FT_UINT, NULL },
	{ "audit-log-path", FT_OWNED, "audit.log_dir and audit.log_file" },
	{ "audit-policy-file", FT_OWNED, "audit.policy_path" },
	{ "audit-log-maxage", FT_OWNED, "audit.max_age" },
	{ "audit-log-maxbackup", FT_OWNED, "audit.max_backup" },
	{ "audit-log-maxsize", FT_OWNED, "audit.max_size" },
	{ "admission-control-config-file", FT_OWNED, "pod_security.path" },
	{ "enable-admission-plugins", FT_OWNED, "k3s.admission_plugins" },
	{ "protect-kernel-defaults", FT_OWNED, "kernel.protect_kernel_defaults" },
};

static void v_arg(struct vctx *v, const struct profile *p, unsigned i)
{
	const struct k3s_arg *a = &p->k3s->args[i];
	char path[128];
	unsigned j;

	snprintf(path, sizeof(path), "k3s.args.%u", i);
	v_controls(v, path, a->controls, a->controls_count);
	snprintf(path, sizeof(path), "k3s.args.%u.list", i);
	for (j = 0; j < sizeof(arg_lists) / sizeof(arg_lists[0]); j++)
		if (strcmp(arg_lists[j].name, a->list) == 0)
			break;
	if (j == sizeof(arg_lists) / sizeof(arg_lists[0]))
		verr(v, path, "'%s' is not a K3s argument list (kube-apiserver-arg, kubelet-arg, ...)", a->list);
	else if (p->role == ROLE_AGENT && !k3s_key_agent(a->list))
		verr(v, path, "'%s' is for servers; an agent runs only the kubelet and kube-proxy", a->list);
	snprintf(path, sizeof(path), "k3s.args.%u.flag", i);
	if (a->flag[0] == '-') {
		verr(v, path, "write the flag without leading dashes ('%s')", a->flag + strspn(a->flag, "-"));
		return;
	}
	if (!is_flag_name(a->flag)) {
		verr(v, path, "'%s' is not a flag name (a-z, 0-9 and '-')", a->flag);
		return;
	}
	for (j = 0; j < i; j++)
		if (strcmp(p->k3s->args[j].list, a->list) == 0 && strcmp(p->k3s->args[j].flag, a->flag) == 0)
			verr(v, path, "%s %s is set twice", a->list, a->flag);
	snprintf(path, sizeof(path), "k3s.args.%u.value", i);
	if (has_control_chars(a->value)) {
		verr(v, path, "newlines and control characters are not allowed");
		return;
	}
	for (j = 0; j < sizeof(known_flags) / sizeof(known_flags[0]); j++) {
		if (strcmp(known_flags[j].flag, a->flag) != 0)
			continue;
		switch (known_flags[j].type) {
		case FT_OWNED:
			snprintf(path, sizeof(path), "k3s.args.%u.flag", i);
			verr(v, path, "%s is set from %s; set it there", a->flag, known_flags[j].owner);
			break;
		case FT_BOOL:
			if (!is_bool_word(a->value))
				verr(v, path, "%s takes true or false, not '%s'", a->flag, a->value);
			break;
		case FT_UINT:
			if (!is_uint_word(a->value) || strlen(a->value) > 9)
				verr(v, path, "%s takes a whole number, not '%s'", a->flag, a->value);
			break;
		case FT_DURATION:
			if (!is_duration(a->value))
				verr(v, path, "%s takes a duration such as 5m or 300s, not '%s'", a->flag, a->value);
			else if (strcmp(a->flag, "streaming-connection-idle-timeout") == 0 &&
				 strspn(a->value, "0.nsuµmh") == strlen(a->value))
				verr(v, path, "0 disables the idle timeout (CIS 4.2.5)");
			break;
		case FT_ANY:
			break;
		}
	}
}

static void v_k3s(struct vctx *v, const struct profile *p)
{
	const struct k3s_config *k = p->k3s;
	char path[128];
	unsigned i, j;

	if (!k)
		return;
	v_path(v, "k3s.path", k->path);
	if (!k->dropin || !ok_manifest_name(k->dropin))
		verr(v, "k3s.dropin", "'%s' is not a file name ending in .yaml", k->dropin ? k->dropin : "");
	v_controls(v, "k3s.admission", k->admission_controls, k->admission_controls_count);
	for (i = 0; i < k->admission_plugins_count; i++) {
		const char *s = k->admission_plugins[i];

		snprintf(path, sizeof(path), "k3s.admission_plugins.%u", i);
		if (!*s || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != strlen(s))
			verr(v, path, "'%s' is not an admission plugin name", s);
		else if (strcmp(s, "AlwaysAdmit") == 0)
			verr(v, path, "AlwaysAdmit admits every request (CIS 1.2.10)");
		for (j = 0; j < i; j++)
			if (strcmp(k->admission_plugins[j], s) == 0)
				verr(v, path, "'%s' is listed twice", s);
	}
	for (i = 0; i < k->settings_count; i++) {
		const struct k3s_setting *s = &k->settings[i];

		snprintf(path, sizeof(path), "k3s.settings.%u", i);
		v_controls(v, path, s->controls, s->controls_count);
		snprintf(path, sizeof(path), "k3s.settings.%u.key", i);
		if (!is_flag_name(s->key)) {
			verr(v, path, "'%s' is not a K3s option name", s->key);
			continue;
		}
		for (j = 0; j < sizeof(arg_lists) / sizeof(arg_lists[0]); j++)
			if (strcmp(arg_lists[j].name, s->key) == 0)
				verr(v, path, "%s is a list; put its flags under k3s.args", s->key);
		if (strcmp(s->key, "protect-kernel-defaults") == 0)
			verr(v, path, "protect-kernel-defaults is set from kernel.protect_kernel_defaults; set it there");
		for (j = 0; j < i; j++)
			if (strcmp(k->settings[j].key, s->key) == 0)
				verr(v, path, "'%s' is set twice", s->key);
		snprintf(path, sizeof(path), "k3s.settings.%u.value", i);
		if (has_control_chars(s->value))
			verr(v, path, "newlines and control characters are not allowed");
	}
	for (i = 0; i < k->args_count; i++)
		v_arg(v, p, i);
}

static void v_top(struct vctx *v, const struct profile *p)
{
	size_t n;

	if (!p->name || !is_dns1123_label(p->name))
		verr(v, "name", "'%s' is not a profile name (a-z, 0-9 and '-')", p->name ? p->name : "");
	n = p->unit ? strlen(p->unit) : 0;
	if (p->unit && (n < 9 || strcmp(p->unit + n - 8, ".service") != 0 ||
			strspn(p->unit, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.@\\") != n))
		verr(v, "unit", "'%s' is not a systemd service name", p->unit);
	v_path(v, "manifests_dir", p->manifests_dir);
	if (p->retention < 1 || p->retention > 1000)
		verr(v, "retention", "%u generations is outside 1 to 1000", p->retention);
	if (p->role == ROLE_AGENT) {
		static const char *const server_only[] = {
			"pod_security", "event_rate_limit", "audit", "network_policies", "service_accounts",
		};
		const bool on[] = {
			p->pod_security && p->pod_security->enabled,
			p->event_rate_limit && p->event_rate_limit->enabled,
			p->audit && p->audit->enabled,
			p->network_policies && p->network_policies->enabled,
			p->service_accounts && p->service_accounts->enabled,
		};
		char path[64];
		size_t i;

		for (i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
			const struct ynode *at;

			if (!on[i])
				continue;
			snprintf(path, sizeof(path), "%s.enabled", server_only[i]);
			at = node_at(v, path);
			/* a built-in parent's line is no help: point at role: agent */
			if (at && strncmp(at->file, "builtin:", 8) == 0)
				lerr(v->L, node_at(v, "role"), NULL, "%s: %s belongs on servers; "
				     "an agent profile sets %s: {enabled: false}", path, server_only[i],
				     server_only[i]);
			else
				verr(v, path, "%s belongs on servers; set enabled: false for an agent",
				     server_only[i]);
		}
	}
}

static void v_restart(struct vctx *v, const struct profile *p)
{
	const struct restart_gate *g = p->restart;
	static const char *const keys[] = { "job_timeout", "settle", "health_timeout", "health_interval" };
	const char *vals[4];
	char path[64];
	size_t i;

	if (!g)
		return;
	vals[0] = g->job_timeout;
	vals[1] = g->settle;
	vals[2] = g->health_timeout;
	vals[3] = g->health_interval;
	for (i = 0; i < 4; i++) {
		long long ms;

		snprintf(path, sizeof(path), "restart.%s", keys[i]);
		if (!vals[i]) {
			verr(v, path, "missing");
			continue;
		}
		ms = duration_ms(vals[i]);
		if (ms < 0)
			verr(v, path, "'%s' is not a duration such as 30s or 5m", vals[i]);
		else if (ms > 3600000LL)
			verr(v, path, "%s is longer than an hour", vals[i]);
		else if (ms == 0 && i != 1)
			verr(v, path, "must be longer than 0");
	}
	for (i = 0; i < g->health_command_count; i++) {
		snprintf(path, sizeof(path), "restart.health_command.%zu", i);
		if (!*g->health_command[i] || has_control_chars(g->health_command[i]))
			verr(v, path, "an argument must be non-empty, without control characters");
	}
}

static void validate(struct vctx *v, const struct profile *p)
{
	v_restart(v, p);
	v_top(v, p);
	v_pod_security(v, p);
	v_event_rate_limit(v, p);
	v_audit(v, p);
	v_kernel(v, p);
	v_network_policies(v, p);
	v_service_accounts(v, p);
	v_k3s(v, p);
}

/* ---- entry points ---- */

int profile_load(const char *name_or_path, struct profile_doc **out, struct diags *d)
{
	struct loader L;
	struct chk c;
	struct vctx v;
	struct profile_doc *doc;
	struct ynode *tree = NULL;
	struct profile *p = NULL;
	int r;

	memset(&L, 0, sizeof(L));
	L.d = d;
	r = load_tree(&L, name_or_path, NULL, NULL, &tree);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	memset(&c, 0, sizeof(c));
	c.L = &L;
	check_value(&c, tree, &profile_schema);
	if (L.err) {
		ynode_free(tree);
		return -EINVAL;
	}
	if ((r = cyaml_load_tree(&L, tree, &p)) < 0) {
		ynode_free(tree);
		return r;
	}
	v.L = &L;
	v.tree = tree;
	validate(&v, p);
	doc = calloc(1, sizeof(*doc));
	if (L.err || !doc) {
		struct cylog cl = { BUF_INIT };

		cyaml_free(cyaml_cfg(&cl), &profile_schema, p, 0);
		ynode_free(tree);
		if (doc)
			free(doc);
		return L.err ? -EINVAL : -ENOMEM;
	}
	doc->p = p;
	doc->tree = tree;
	*out = doc;
	return 0;
}

void profile_doc_free(struct profile_doc *doc)
{
	struct cylog cl = { BUF_INIT };

	if (!doc)
		return;
	cyaml_free(cyaml_cfg(&cl), &profile_schema, doc->p, 0);
	ynode_free(doc->tree);
	free(doc);
}

int profile_dump(const struct profile_doc *doc, struct buf *out)
{
	struct ynode *copy = ynode_copy(doc->tree);
	long at;
	int r;

	if (!copy)
		return -ENOMEM;
	/* resolved: what it extended is already merged in */
	at = ynode_find(copy, "extends");
	if (at >= 0)
		ynode_remove(copy, (size_t)at);
	r = yemit(out, copy);
	ynode_free(copy);
	return r;
}

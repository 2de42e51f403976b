#include "k3s_unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"

#define UNIT_MAX (1u << 20)

/* systemd's search path for system units, highest precedence first. */
static const char *const unit_dirs[] = {
	"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
	"/lib/systemd/system", "/usr/lib/systemd/system",
};
#define N_DIRS (sizeof(unit_dirs) / sizeof(unit_dirs[0]))

static bool k3s_unit_name(const char *n)
{
	size_t l = strlen(n);

	if (l < 8 || strcmp(n + l - 8, ".service") != 0)
		return false;
	return strcmp(n, "k3s.service") == 0 || strncmp(n, "k3s-", 4) == 0;
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int strv_push(char ***v, size_t *n, char *s)
{
	char **x;

	if (!s)
		return -ENOMEM;
	x = realloc(*v, (*n + 1) * sizeof(*x));
	if (!x) {
		free(s);
		return -ENOMEM;
	}
	*v = x;
	x[(*n)++] = s;
	return 0;
}

/*
 * Split a command line as systemd does for ExecStart: words separated by
 * blanks, single and double quotes group, a backslash escapes the next
 * character (outside single quotes).
 */
static int split_words(const char *s, char ***argv, size_t *argc)
{
	struct buf w = BUF_INIT;
	int r = 0;

	while (*s && r == 0) {
		bool any = false;

		s += strspn(s, " \t");
		if (!*s)
			break;
		buf_reset(&w);
		while (*s && *s != ' ' && *s != '\t' && r == 0) {
			if (*s == '\'' || *s == '"') {
				char q = *s++;

				while (*s && *s != q && r == 0) {
					if (q == '"' && *s == '\\' && s[1])
						s++;
					r = buf_add(&w, s++, 1);
				}
				if (*s == q)
					s++;
			} else {
				if (*s == '\\' && s[1])
					s++;
				r = buf_add(&w, s++, 1);
			}
			any = true;
		}
		if (r == 0 && any)
			r = strv_push(argv, argc, strdup(w.len ? w.data : ""));
	}
	buf_free(&w);
	return r;
}

/* Apply the [Service] lines of one unit file or drop-in (path) to u. */
static int parse_unit(struct k3s_unit *u, const char *path, const char *text)
{
	bool service = false;
	const char *p = text;
	unsigned lineno = 0;
	struct buf line = BUF_INIT;
	int r = 0;

	while (*p && r == 0) {
		unsigned first = lineno + 1;

		buf_reset(&line);
		/* a line ending in a backslash continues on the next */
		for (;;) {
			size_t l = strcspn(p, "\n");
			bool cont = l > 0 && p[l - 1] == '\\';

			lineno++;
			if ((r = buf_add(&line, p, cont ? l - 1 : l)) < 0)
				break;
			p += l + (p[l] == '\n');
			if (!cont || !*p)
				break;
			if ((r = buf_add(&line, " ", 1)) < 0)
				break;
		}
		if (r < 0 || !line.len)
			continue;
		{
			char *s = line.data + strspn(line.data, " \t");

			if (*s == '#' || *s == ';' || !*s)
				continue;
			if (*s == '[') {
				service = strncmp(s, "[Service]", 9) == 0;
				continue;
			}
			if (!service)
				continue;
			if (strncmp(s, "ExecStart=", 10) == 0) {
				s += 10;
				s += strspn(s, " \t");
				strv_free(u->argv, u->argc);
				u->argv = NULL;
				u->argc = 0;
				u->line = 0;
				if (!*s)
					continue;       /* an empty assignment resets */
				s += strspn(s, "-@:+!");
				r = split_words(s, &u->argv, &u->argc);
				u->line = first;
				free(u->exec_path);
				u->exec_path = strdup(path);
				if (r == 0 && !u->exec_path)
					r = -ENOMEM;
			} else if (strncmp(s, "EnvironmentFile=", 16) == 0) {
				s += 16;
				s += strspn(s, " \t");
				if (!*s) {
					strv_free(u->env_files, u->n_env_files);
					u->env_files = NULL;
					u->n_env_files = 0;
					continue;
				}
				if (*s == '-')
					s++;
				s[strcspn(s, " \t")] = '\0';
				r = strv_push(&u->env_files, &u->n_env_files, strdup(s));
			}
		}
	}
	buf_free(&line);
	return r;
}

/*
 * Read dir/name below root. A symlink is followed once, inside root (a
 * unit enabled from another directory); one to /dev/null is a masked unit
 * (-ENOENT).
 */
static int read_unit(const char *root, const char *dir, const char *name, char **data)
{
	char rel[4096], target[4096];
	struct stat st;
	size_t len;
	ssize_t tl;
	int dfd, r;

	snprintf(rel, sizeof(rel), "%s/%s", dir, name);
	r = root_read_file(root, rel, UNIT_MAX, data, &len, &st);
	if (r != -ELOOP)
		return r;
	if ((r = root_open_dir(root, dir, false, 0, &dfd)) < 0)
		return r;
	tl = readlinkat(dfd, name, target, sizeof(target) - 1);
	close(dfd);
	if (tl < 0)
		return -errno;
	target[tl] = '\0';
	if (strcmp(target, "/dev/null") == 0)
		return -ENOENT;
	if (target[0] != '/') {
		char *rel_target;

		if (asprintf(&rel_target, "%s/%s", dir, target) < 0)
			return -ENOMEM;
		r = root_read_file(root, rel_target, UNIT_MAX, data, &len, &st);
		free(rel_target);
		return r;
	}
	return root_read_file(root, target, UNIT_MAX, data, &len, &st);
}

static void unit_clear(struct k3s_unit *u)
{
	free(u->name);
	free(u->path);
	free(u->exec_path);
	strv_free(u->argv, u->argc);
	strv_free(u->env_files, u->n_env_files);
	memset(u, 0, sizeof(*u));
}

/* Drop-ins NAME.d/ *.conf from every unit directory, in name order, after the unit. */
static int apply_dropins(const char *root, struct k3s_unit *u)
{
	char **all = NULL;
	size_t n_all = 0, d, i;
	int r = 0;

	for (d = 0; d < N_DIRS && r == 0; d++) {
		char rel[512];
		char **names = NULL;
		size_t n = 0;

		snprintf(rel, sizeof(rel), "%s/%s.d", unit_dirs[d], u->name);
		if (root_list_dir(root, rel, &names, &n) < 0)
			continue;
		for (i = 0; i < n && r == 0; i++) {
			size_t l = strlen(names[i]);
			char *p;

			if (l < 6 || strcmp(names[i] + l - 5, ".conf") != 0)
				continue;
			if (asprintf(&p, "%s/%s", rel, names[i]) < 0) {
				r = -ENOMEM;
				break;
			}
			r = strv_push(&all, &n_all, p);
		}
		names_free(names, n);
	}
	/* by file name, as systemd orders drop-ins across directories */
	for (i = 0; r == 0 && i < n_all; i++) {
		size_t j, best = i;

		for (j = i + 1; j < n_all; j++)
			if (strcmp(strrchr(all[j], '/'), strrchr(all[best], '/')) < 0)
				best = j;
		if (best != i) {
			char *t = all[i];

			all[i] = all[best];
			all[best] = t;
		}
	}
	for (i = 0; i < n_all && r == 0; i++) {
		char *data = NULL;
		size_t len;
		struct stat st;

		if (root_read_file(root, all[i], UNIT_MAX, &data, &len, &st) == 0)
			r = parse_unit(u, all[i], data);
		free(data);
	}
	strv_free(all, n_all);
	return r;
}

static void set_derived(struct k3s_unit *u)
{
	size_t i;

	u->binary = u->argc ? u->argv[0] : NULL;
	u->command = NULL;
	for (i = 1; i < u->argc; i++)
		if (u->argv[i][0] != '-') {
			u->command = u->argv[i];
			break;
		}
}

static bool is_k3s_binary(const char *b)
{
	const char *base = b ? strrchr(b, '/') : NULL;

	base = base ? base + 1 : b;
	return base && strncmp(base, "k3s", 3) == 0;
}

int k3s_units_find(const char *root, struct k3s_unit **units, size_t *n)
{
	struct k3s_unit *v = NULL;
	size_t nv = 0, d, i, j;
	int r = 0;

	*units = NULL;
	*n = 0;
	for (d = 0; d < N_DIRS && r == 0; d++) {
		char **names = NULL;
		size_t nn = 0;

		if (root_list_dir(root, unit_dirs[d], &names, &nn) < 0)
			continue;
		for (i = 0; i < nn && r == 0; i++) {
			struct k3s_unit u;
			char *data = NULL;
			bool seen = false;

			if (!k3s_unit_name(names[i]))
				continue;
			for (j = 0; j < nv; j++)
				seen |= strcmp(v[j].name, names[i]) == 0;
			if (seen)
				continue;
			memset(&u, 0, sizeof(u));
			r = read_unit(root, unit_dirs[d], names[i], &data);
			if (r == -ENOENT || r == -EISDIR || r == -EINVAL || r == -ELOOP) {
				/* masked, or not a unit file we can read: no evidence */
				r = 0;
				free(data);
				continue;
			}
			if (r < 0) {
				free(data);
				break;
			}
			u.name = strdup(names[i]);
			if (asprintf(&u.path, "%s/%s", unit_dirs[d], names[i]) < 0)
				u.path = NULL;
			r = u.name && u.path ? parse_unit(&u, u.path, data) : -ENOMEM;
			free(data);
			if (r == 0)
				r = apply_dropins(root, &u);
			set_derived(&u);
			if (r == 0 && strcmp(u.name, "k3s.service") != 0 &&
			    strcmp(u.name, "k3s-agent.service") != 0 && !is_k3s_binary(u.binary)) {
				unit_clear(&u);
				continue;
			}
			if (r == 0) {
				struct k3s_unit *x = realloc(v, (nv + 1) * sizeof(*x));

				if (!x)
					r = -ENOMEM;
				else {
					v = x;
					v[nv++] = u;
					continue;
				}
			}
			unit_clear(&u);
		}
		names_free(names, nn);
	}
	if (r < 0) {
		k3s_units_free(v, nv);
		return r;
	}
	*units = v;
	*n = nv;
	return 0;
}

void k3s_units_free(struct k3s_unit *units, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		unit_clear(&units[i]);
	free(units);
}

int k3s_env_get(const char *root, const char *path, const char *key, char **value)
{
	char *data = NULL, *p;
	size_t len, kl = strlen(key);
	struct stat st;
	int r;

	*value = NULL;
	r = root_read_file(root, path, UNIT_MAX, &data, &len, &st);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (p = data; *p; ) {
		size_t l = strcspn(p, "\n");
		char *s = p + strspn(p, " \t");

		p += l + (p[l] == '\n');
		s[strcspn(s, "\n")] = '\0';
		if (strncmp(s, "export ", 7) == 0)
			s += 7;
		if (*s == '#' || strncmp(s, key, kl) != 0 || s[kl] != '=')
			continue;
		s += kl + 1;
		{
			size_t vl = strlen(s);

			while (vl && (s[vl - 1] == ' ' || s[vl - 1] == '\t' || s[vl - 1] == '\r'))
				vl--;
			if (vl >= 2 && (s[0] == '"' || s[0] == '\'') && s[vl - 1] == s[0]) {
				s++;
				vl -= 2;
			}
			free(*value);
			*value = strndup(s, vl);
			r = *value ? 0 : -ENOMEM;
		}
	}
	free(data);
	return r;
}

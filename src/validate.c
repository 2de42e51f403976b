#include "validate.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

bool valid_dns1123_label(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool valid_dns1123_subdomain(const char *s)
{
	char buf[254], *part, *save = NULL;
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return false;
	memcpy(buf, s, n + 1);
	for (part = strtok_r(buf, ".", &save); part; part = strtok_r(NULL, ".", &save))
		if (!valid_dns1123_label(part))
			return false;
	return true;
}

bool valid_sysctl_key(const char *s)
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

bool valid_abs_path(const char *s)
{
	const char *p;
	size_t n = strlen(s);

	if (n < 2 || n >= PATH_MAX || s[0] != '/' || s[n - 1] == '/' || strstr(s, "//"))
		return false;
	if (!valid_one_line(s))
		return false;
	for (p = s; (p = strchr(p, '/')); p++)
		if ((p[1] == '.' && (p[2] == '/' || p[2] == '\0')) ||
		    (p[1] == '.' && p[2] == '.' && (p[3] == '/' || p[3] == '\0')))
			return false;
	return true;
}

bool valid_file_name(const char *s)
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
bool valid_duration(const char *s)
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

bool valid_control_id(const char *s)
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

bool valid_flag_name(const char *s)
{
	size_t i;

	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; s[i]; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return i <= 128;
}

bool valid_bool_word(const char *s)
{
	return strcmp(s, "true") == 0 || strcmp(s, "false") == 0;
}

bool valid_uint_word(const char *s)
{
	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

bool valid_one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

long long valid_duration_ms(const char *s)
{
	static const struct { const char *u; double ms; } units[] = {
		{ "ns", 1e-6 }, { "us", 1e-3 }, { "µs", 1e-3 }, { "ms", 1 }, { "s", 1000 },
		{ "m", 60000 }, { "h", 3600000 },
	};
	const char *p = s;
	double total = 0;

	if (!valid_duration(s))
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

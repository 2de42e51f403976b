/* kube-bench's test operators on one value (see check_ops.h). */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check_ops.h"

static const char *const ops[] = {
	"set", "unset", "eq", "noteq", "gt", "gte", "lt", "lte", "has", "nothave",
	"valid_elements", "bitmask", "regex",
};

bool check_op_known(const char *op)
{
	size_t i;

	for (i = 0; op && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op, ops[i]) == 0)
			return true;
	return false;
}

bool check_op_takes_value(const char *op)
{
	return check_op_known(op) && strcmp(op, "set") && strcmp(op, "unset");
}

/* kube-bench compares "true"/"false" without regard to case, everything else exactly. */
static bool equal(const char *a, const char *b)
{
	if (!strcasecmp(b, "true") || !strcasecmp(b, "false"))
		return strcasecmp(a, b) == 0;
	return strcmp(a, b) == 0;
}

/* A decimal integer and nothing else (strconv.Atoi); leading/trailing blanks trimmed. */
static bool integer(const char *s, long long *v)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return false;
	errno = 0;
	*v = strtoll(s, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	return errno == 0 && *end == '\0';
}

static bool octal(const char *s, unsigned long *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 8);
	return errno == 0 && *end == '\0' && *v <= 07777;
}

/* Whether [s, s+n) trimmed equals one comma-separated entry of list. */
static bool in_list(const char *s, size_t n, const char *list)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n)
		return false;
	while (*list) {
		const char *e = strchr(list, ',');
		size_t m = e ? (size_t)(e - list) : strlen(list);
		const char *l = list;

		while (m && (*l == ' ' || *l == '\t'))
			l++, m--;
		while (m && (l[m - 1] == ' ' || l[m - 1] == '\t'))
			m--;
		if (m == n && memcmp(l, s, n) == 0)
			return true;
		if (!e)
			break;
		list = e + 1;
	}
	return false;
}

/* Every comma-separated element of value is in want; a trailing comma is dropped. */
static bool valid_elements(const char *value, const char *want)
{
	size_t len = strlen(value);
	const char *p = value, *end;

	if (len && value[len - 1] == ',')
		len--;
	if (!len)
		return false;
	end = value + len;
	while (p <= end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t n = c ? (size_t)(c - p) : (size_t)(end - p);

		if (!in_list(p, n, want))
			return false;
		if (!c)
			break;
		p = c + 1;
	}
	return true;
}

static bool regex_match(const char *value, const char *want)
{
	regex_t re;
	bool ok;

	if (regcomp(&re, want, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&re, value, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

bool check_op(const char *op, bool present, const char *value, const char *want)
{
	long long a, b;
	unsigned long m, w;

	if (!op)
		return false;
	if (strcmp(op, "set") == 0)
		return present;
	if (strcmp(op, "unset") == 0)
		return !present;
	if (!check_op_known(op) || !present || !want)
		return false;
	if (!value)
		value = "true";
	if (strcmp(op, "eq") == 0)
		return equal(value, want);
	if (strcmp(op, "noteq") == 0)
		return !equal(value, want);
	if (strcmp(op, "has") == 0)
		return strstr(value, want) != NULL;
	if (strcmp(op, "nothave") == 0)
		return strstr(value, want) == NULL;
	if (strcmp(op, "valid_elements") == 0)
		return valid_elements(value, want);
	if (strcmp(op, "regex") == 0)
		return regex_match(value, want);
	if (strcmp(op, "bitmask") == 0)
		return octal(value, &m) && octal(want, &w) && (w & m) == m;
	if (!integer(value, &a) || !integer(want, &b))
		return false;
	if (strcmp(op, "gt") == 0)
		return a > b;
	if (strcmp(op, "gte") == 0)
		return a >= b;
	if (strcmp(op, "lt") == 0)
		return a < b;
	return a <= b;  /* lte */
}

bool check_combine(const char *bin_op, const bool *res, size_t n)
{
	bool any = strcmp(bin_op ? bin_op : "and", "or") == 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (res[i] == any)
			return any;
	return !any;
}

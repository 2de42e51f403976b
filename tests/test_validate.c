/*
 * The shared validators: what each accepts and refuses, edge cases
 * included (lengths, leading zeros, Go duration units).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "validate.h"

static void test_validate_dns1123_label(void **state)
{
	char long64[65];

	(void)state;
	memset(long64, 'a', 64);
	long64[64] = '\0';
	assert_true(valid_dns1123_label("kube-system"));
	assert_true(valid_dns1123_label("a"));
	assert_true(valid_dns1123_label("0abc9"));
	assert_true(valid_dns1123_label(long64 + 1));
	assert_false(valid_dns1123_label(long64));
	assert_false(valid_dns1123_label(""));
	assert_false(valid_dns1123_label("-a"));
	assert_false(valid_dns1123_label("a-"));
	assert_false(valid_dns1123_label("Kube-system"));
	assert_false(valid_dns1123_label("a_b"));
	assert_false(valid_dns1123_label("a.b"));
	assert_false(valid_dns1123_label("a b"));
}

static void test_validate_sysctl_key(void **state)
{
	(void)state;
	assert_true(valid_sysctl_key("vm.overcommit_memory"));
	assert_true(valid_sysctl_key("kernel.keys.root_maxbytes"));
	assert_true(valid_sysctl_key("net.ipv4.conf.all.rp_filter"));
	assert_true(valid_sysctl_key("fs.inotify.max_user_watches"));
	assert_false(valid_sysctl_key(""));
	assert_false(valid_sysctl_key("net/ipv4/ip_forward"));
	assert_false(valid_sysctl_key("net..ipv4"));
	assert_false(valid_sysctl_key(".vm.swappiness"));
	assert_false(valid_sysctl_key("vm.swappiness."));
	assert_false(valid_sysctl_key("VM.swappiness"));
	assert_false(valid_sysctl_key("vm.swap-piness"));
	assert_false(valid_sysctl_key("vm swappiness"));
}

static void test_validate_abs_path(void **state)
{
	(void)state;
	assert_true(valid_abs_path("/etc/sysctl.d/90-kubelet.conf"));
	assert_true(valid_abs_path("/a"));
	assert_true(valid_abs_path("/var/lib/.hidden/x"));
	assert_true(valid_abs_path("/a/..b/c."));
	assert_false(valid_abs_path(""));
	assert_false(valid_abs_path("/"));
	assert_false(valid_abs_path("etc/x"));
	assert_false(valid_abs_path("./x"));
	assert_false(valid_abs_path("/etc/"));
	assert_false(valid_abs_path("/etc//x"));
	assert_false(valid_abs_path("/etc/./x"));
	assert_false(valid_abs_path("/etc/../x"));
	assert_false(valid_abs_path("/etc/.."));
	assert_false(valid_abs_path("/etc/x\n"));
}

static void test_validate_duration(void **state)
{
	(void)state;
	assert_true(valid_duration("5m"));
	assert_true(valid_duration("300s"));
	assert_true(valid_duration("1h30m"));
	assert_true(valid_duration("1.5h"));
	assert_true(valid_duration("0"));
	assert_true(valid_duration("100ms"));
	assert_true(valid_duration("10us"));
	assert_true(valid_duration("10\xc2\xb5s"));
	assert_true(valid_duration("1h2m3s4ms5us6ns"));
	assert_false(valid_duration("5"));
	assert_false(valid_duration("m"));
	assert_false(valid_duration("5x"));
	assert_false(valid_duration("-5m"));
	assert_false(valid_duration(""));
	assert_false(valid_duration("5m "));
	assert_false(valid_duration(" 5m"));
	assert_false(valid_duration("5mm"));
	assert_false(valid_duration("1h30"));
	assert_false(valid_duration("."));
	assert_false(valid_duration("5d"));
}

static void test_validate_control_id(void **state)
{
	(void)state;
	assert_true(valid_control_id("1.2.16"));
	assert_true(valid_control_id("5"));
	assert_true(valid_control_id("5.2.10"));
	assert_true(valid_control_id("k3s-cis-1.24:4.2.6"));
	assert_false(valid_control_id(""));
	assert_false(valid_control_id("1..2"));
	assert_false(valid_control_id("1.2."));
	assert_false(valid_control_id(".1.2"));
	assert_false(valid_control_id("CIS-1.2"));
	assert_false(valid_control_id(":1.2"));
	assert_false(valid_control_id("K3S:1.2"));
	assert_false(valid_control_id("k3s:"));
	assert_false(valid_control_id("1.2a"));
}

static void test_validate_dns1123_subdomain(void **state)
{
	(void)state;
	assert_true(valid_dns1123_subdomain("gvisor"));
	assert_true(valid_dns1123_subdomain("kata.example.io"));
	assert_false(valid_dns1123_subdomain(""));
	assert_false(valid_dns1123_subdomain("a..b"));
	assert_false(valid_dns1123_subdomain(".a"));
	assert_false(valid_dns1123_subdomain("A.b"));
}

static void test_validate_file_name(void **state)
{
	(void)state;
	assert_true(valid_file_name("audit.log"));
	assert_true(valid_file_name("90-k3s_harden.yaml"));
	assert_false(valid_file_name(""));
	assert_false(valid_file_name(".hidden"));
	assert_false(valid_file_name("a/b"));
	assert_false(valid_file_name("a b"));
}

static void test_validate_flag_name(void **state)
{
	(void)state;
	assert_true(valid_flag_name("request-timeout"));
	assert_true(valid_flag_name("v"));
	assert_false(valid_flag_name(""));
	assert_false(valid_flag_name("-v"));
	assert_false(valid_flag_name("Request"));
	assert_false(valid_flag_name("a=b"));
}

static void test_validate_words(void **state)
{
	(void)state;
	assert_true(valid_bool_word("true"));
	assert_true(valid_bool_word("false"));
	assert_false(valid_bool_word("yes"));
	assert_false(valid_bool_word("True"));
	assert_true(valid_uint_word("0"));
	assert_true(valid_uint_word("100"));
	assert_false(valid_uint_word("010"));
	assert_false(valid_uint_word(""));
	assert_false(valid_uint_word("-1"));
	assert_false(valid_uint_word("1e3"));
	assert_true(valid_one_line("a b"));
	assert_false(valid_one_line("a\nb"));
	assert_false(valid_one_line("a\x7f"));
}

static void test_validate_duration_ms(void **state)
{
	(void)state;
	assert_int_equal(valid_duration_ms("0"), 0);
	assert_int_equal(valid_duration_ms("15s"), 15000);
	assert_int_equal(valid_duration_ms("1h30m"), 5400000);
	assert_int_equal(valid_duration_ms("1.5s"), 1500);
	assert_int_equal(valid_duration_ms("100ms"), 100);
	assert_int_equal(valid_duration_ms("999us"), 0);
	assert_int_equal(valid_duration_ms("5"), -EINVAL);
	assert_int_equal(valid_duration_ms("5 minutes"), -EINVAL);
}

#define T(name) cmocka_unit_test(test_validate_##name)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(dns1123_label),
		T(dns1123_subdomain),
		T(sysctl_key),
		T(abs_path),
		T(file_name),
		T(duration),
		T(duration_ms),
		T(control_id),
		T(flag_name),
		T(words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_check_ring2.c - the second ring's pure logic: the latest-minor table and its
 * staleness, hba method classification and reject-line coverage, library lists, cipher lists
 * and log_line_prefix. */
#include "support.h"

#include <string.h>

#include "check/rules.h"

static void t_minor(void **state)
{
	(void)state;
	time_t d = chk_minor_table_date();
	int latest, behind;
	bool stale;
	assert_int_equal(chk_minor_latest(15), 18);
	assert_int_equal(chk_minor_latest(18), 4);
	assert_int_equal(chk_minor_latest(11), -1);
	assert_int_equal(chk_minor_judge(150018, d, &latest, &behind, &stale), CHK_MINOR_CURRENT);
	assert_int_equal(latest, 18);
	assert_false(stale);
	assert_int_equal(chk_minor_judge(150020, d, &latest, &behind, &stale), CHK_MINOR_CURRENT);
	assert_int_equal(chk_minor_judge(150015, d, &latest, &behind, &stale), CHK_MINOR_BEHIND);
	assert_int_equal(behind, 3);
	assert_int_equal(chk_minor_judge(170000, d, &latest, &behind, &stale), CHK_MINOR_BEHIND);
	assert_int_equal(behind, 10);
	assert_int_equal(chk_minor_judge(190001, d, &latest, &behind, &stale), CHK_MINOR_UNKNOWN);
	assert_int_equal(chk_minor_judge(90624, d, &latest, &behind, &stale), CHK_MINOR_UNKNOWN);
	/* six months: not stale at 183 days, stale after */
	chk_minor_judge(150018, d + 183 * 86400, &latest, &behind, &stale);
	assert_false(stale);
	chk_minor_judge(150018, d + 184 * 86400, &latest, &behind, &stale);
	assert_true(stale);
}

static struct chk_hba_line L(const char *type, const char *addr, const char *mask,
                             const char *method) {
	struct chk_hba_line l = {.type = type,
	                         .databases = "all",
	                         .users = "all",
	                         .address = addr,
	                         .netmask = mask,
	                         .method = method};
	return l;
}

static void
t_hba_weak(void **state)
{
	(void)state;
	struct chk_hba_line l;
	l = L("host", "10.0.0.0", "255.0.0.0", "md5");
	assert_non_null(chk_hba_weak(&l));
	l = L("local", NULL, NULL, "md5");
	assert_non_null(chk_hba_weak(&l));
	l = L("local", NULL, NULL, "peer");
	assert_null(chk_hba_weak(&l));
	l = L("local", NULL, NULL, "password");
	assert_null(chk_hba_weak(&l));
	l = L("hostssl", "10.0.0.0", "255.0.0.0", "ident");
	assert_non_null(chk_hba_weak(&l));
	l = L("host", "10.0.0.0", "255.0.0.0", "ldap");
	assert_non_null(chk_hba_weak(&l));
	l = L("hostssl", "10.0.0.0", "255.0.0.0", "ldap");
	assert_null(chk_hba_weak(&l));
	l = L("hostnogssenc", "10.0.0.0", "255.0.0.0", "radius");
	assert_non_null(chk_hba_weak(&l));
	l = L("hostgssenc", "10.0.0.0", "255.0.0.0", "pam");
	assert_null(chk_hba_weak(&l));
	l = L("host", "10.0.0.0", "255.0.0.0", "password");
	assert_non_null(chk_hba_weak(&l));
	l = L("host", "10.0.0.0", "255.0.0.0", "scram-sha-256");
	assert_null(chk_hba_weak(&l));
	l = L("hostssl", "10.0.0.0", "255.0.0.0", "cert");
	assert_null(chk_hba_weak(&l));
}

static void t_hba_covers(void **state)
{
	(void)state;
	struct chk_hba_line o = L("host", "10.0.0.0", "255.0.0.0", "reject");
	struct chk_hba_line i = L("hostssl", "10.9.0.0", "255.255.0.0", "scram-sha-256");
	assert_true(chk_hba_covers(&o, &i));
	o.type = "hostssl";
	assert_true(chk_hba_covers(&o, &i));
	o.type = "hostnossl";
	assert_false(chk_hba_covers(&o, &i)); /* a plain-TCP reject does not stop TLS */
	o.type = "host";
	o.netmask = "255.255.255.0"; /* narrower than the line it should shadow */
	assert_false(chk_hba_covers(&o, &i));
	o = L("host", "11.0.0.0", "255.0.0.0", "reject");
	assert_false(chk_hba_covers(&o, &i));
	o = L("host", "all", NULL, "reject");
	assert_true(chk_hba_covers(&o, &i));
	o = L("host", "::", "::", "reject");
	assert_false(chk_hba_covers(&o, &i)); /* IPv6 does not cover IPv4 */
	i = L("host", "2001:db8::", "ffff:ffff::", "md5");
	assert_true(chk_hba_covers(&o, &i));
	o = L("local", NULL, NULL, "reject");
	assert_false(chk_hba_covers(&o, &i));
	assert_true(chk_list_has("all", "all"));
	assert_true(chk_list_has("app,postgres", "postgres"));
	assert_false(chk_list_has("app,postgres2", "postgres"));
	assert_false(chk_list_has("", "postgres"));
}

static void t_libs(void **state)
{
	(void)state;
	assert_true(chk_lib_listed("pgaudit, passwordcheck", "passwordcheck"));
	assert_true(chk_lib_listed("\"$libdir/auth_delay.so\"", "auth_delay"));
	assert_true(chk_lib_listed("credcheck", "credcheck"));
	assert_false(chk_lib_listed("passwordcheck_extra", "passwordcheck"));
	assert_false(chk_lib_listed("", "passwordcheck"));
	assert_false(chk_lib_listed(NULL, "passwordcheck"));
}

static void t_ciphers(void **state)
{
	(void)state;
	char why[512];
	assert_true(chk_cipher_list_weak("HIGH:MEDIUM:+3DES:!aNULL", why, sizeof why));
	assert_non_null(strstr(why, "MEDIUM"));
	assert_null(strstr(why, "3DES")); /* +3DES moves, it does not add */
	assert_null(strstr(why, "aNULL"));
	assert_false(
	    chk_cipher_list_weak("ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL", why, sizeof why));
	assert_false(chk_cipher_list_weak("HIGH:!aNULL:!MD5", why, sizeof why));
	assert_true(chk_cipher_list_weak("ALL", why, sizeof why));
	assert_true(chk_cipher_list_weak("HIGH:RC4", why, sizeof why) &&
	            strstr(why, "RC4") != NULL);
	assert_true(chk_cipher_list_weak("HIGH:aNULL", why, sizeof why));
	assert_true(chk_cipher_list_weak("DEFAULT:eNULL", why, sizeof why));
	assert_false(chk_cipher_weak("TLS_AES_256_GCM_SHA384"));
	assert_false(chk_cipher_weak("ECDHE-RSA-AES128-GCM-SHA256"));
	assert_false(chk_cipher_weak("ECDHE-ECDSA-CHACHA20-POLY1305"));
	assert_true(chk_cipher_weak("AES128-GCM-SHA256"));    /* no forward secrecy */
	assert_true(chk_cipher_weak("ECDHE-RSA-AES128-SHA")); /* CBC */
	assert_true(chk_cipher_weak("DES-CBC3-SHA"));
}

static void t_prefix(void **state)
{
	(void)state;
	char m[256];
	assert_false(chk_log_prefix_missing("%m [%p] %q%u@%d from %h ", m, sizeof m));
	assert_false(chk_log_prefix_missing("%t %c %-10u %d %r", m, sizeof m));
	assert_true(chk_log_prefix_missing("%m [%p] ", m, sizeof m));
	assert_string_equal(m, "user (%u); database (%d); client (%h)");
	assert_true(chk_log_prefix_missing("%%u %%d %m %p %h", m, sizeof m));
	assert_string_equal(m, "user (%u); database (%d)");
	assert_true(chk_log_prefix_missing("", m, sizeof m));
	assert_true(chk_log_prefix_missing("%", m, sizeof m));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_minor), cmocka_unit_test(t_hba_weak), cmocka_unit_test(t_hba_covers),
	    cmocka_unit_test(t_libs),  cmocka_unit_test(t_ciphers),  cmocka_unit_test(t_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

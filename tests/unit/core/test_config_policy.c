/*
 * tests/unit/core/test_config_policy.c - the policies and labels keys of
 * the configuration: what a valid file gives through the accessors (kinds,
 * values, lines, label members), that the example's commented policies
 * load once uncommented, and the OOM walk.  Error messages are data cases
 * in tests/data/config (policies-*, labels-*).
 */
#include "core/common.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "tests/support/testsupport.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

static const char text[] =
	"labels = {\n"                                            /* 1 */
	"\tgold = {\n"                                            /* 2 */
	"\t\tnames = [ \"Contoso*\" ];\n"                         /* 3 */
	"\t\tcustomers = [ \"c-1\",\n"                            /* 4 */
	"\t\t\t\"c-2\" ];\n"                                      /* 5 */
	"\t};\n"                                                  /* 6 */
	"\tsilver = { names = [ \"?abrikam\" ]; };\n"             /* 7 */
	"};\n"                                                    /* 8 */
	"policies = (\n"                                          /* 9 */
	"\t{ all = true; view_charges = \"NotAllowed\"; },\n"     /* 10 */
	"\t{ name = \"North*\"; view_charges = \"allowed\"; },\n" /* 11 */
	"\t{ view_charges = \"allowed\";\n"                       /* 12 */
	"\t  reseller = \"4100000\"; },\n"                        /* 13 */
	"\t{ label = \"gold\"; view_charges = \"allowed\"; },\n"  /* 14 */
	"\t{ customer = \"c-3\"; view_charges = \"notallowed\"; },\n"
	"\t{ customer = \"C-3\"; view_charges = \"notallowed\"; }\n"
	");\n";

static void
test_config_policy_accessors(void **state)
{
	static const struct {
		int kind;
		const char *value;
		int vc;
		unsigned line;
	} want[] = {
		{ CB_SELECT_ALL, NULL, CB_VIEW_CHARGES_NOTALLOWED, 10 },
		{ CB_SELECT_NAME, "North*", CB_VIEW_CHARGES_ALLOWED, 11 },
		{ CB_SELECT_RESELLER, "4100000", CB_VIEW_CHARGES_ALLOWED, 12 },
		{ CB_SELECT_LABEL, "gold", CB_VIEW_CHARGES_ALLOWED, 14 },
		{ CB_SELECT_CUSTOMER, "c-3", CB_VIEW_CHARGES_NOTALLOWED, 15 },
		/* the same customer and value again: not a tie */
		{ CB_SELECT_CUSTOMER, "C-3", CB_VIEW_CHARGES_NOTALLOWED, 16 },
	};
	cb_config *cfg = NULL;
	const cb_label *l;

	(void)state;
	if (cb_config_load_string(&cfg, text, "p.cfg") != 0)
		fail_msg("%s", cb_error_last()->message);
	assert_int_equal(CB_ARRAY_SIZE(want), cb_config_policy_rule_count(cfg));
	for (size_t i = 0; i < CB_ARRAY_SIZE(want); i++) {
		const cb_policy_rule *r = cb_config_policy_rule(cfg, i);

		assert_int_equal(want[i].kind, r->kind);
		if (want[i].value)
			assert_string_equal(want[i].value, r->value);
		else
			assert_null(r->value);
		assert_int_equal(want[i].vc, r->view_charges);
		assert_int_equal(want[i].line, r->line);
	}
	assert_null(cb_config_policy_rule(cfg, CB_ARRAY_SIZE(want)));
	assert_int_equal(9, cb_config_key_line(cfg, "policies"));
	assert_int_equal(1, cb_config_key_line(cfg, "labels"));

	assert_int_equal(2, cb_config_label_count(cfg));
	l = cb_config_label(cfg, 0);
	assert_string_equal("gold", l->name);
	assert_int_equal(2, l->line);
	assert_int_equal(3, l->member_count);
	/* customers first, whatever the order in the file */
	assert_int_equal(CB_SELECT_CUSTOMER, l->members[0].kind);
	assert_string_equal("c-1", l->members[0].value);
	assert_int_equal(4, l->members[0].line);
	assert_string_equal("c-2", l->members[1].value);
	assert_int_equal(5, l->members[1].line);
	assert_int_equal(CB_SELECT_NAME, l->members[2].kind);
	assert_string_equal("Contoso*", l->members[2].value);
	assert_int_equal(3, l->members[2].line);
	assert_ptr_equal(
		cb_config_label(cfg, 1), cb_config_label_find(cfg, "silver"));
	assert_null(cb_config_label_find(cfg, "Silver"));
	assert_null(cb_config_label(cfg, 2));
	cb_config_free(cfg);

	/* without the keys: none */
	assert_int_equal(0, cb_config_load_string(&cfg, "", NULL));
	assert_int_equal(0, cb_config_policy_rule_count(cfg));
	assert_int_equal(0, cb_config_label_count(cfg));
	assert_null(cb_config_policy_rule(cfg, 0));
	assert_null(cb_config_label_find(cfg, "gold"));
	cb_config_free(cfg);
	assert_int_equal(0, cb_config_policy_rule_count(NULL));
	assert_null(cb_config_label(NULL, 0));
}

/* The example's commented labels and policies, uncommented, load. */
static void
test_config_policy_example_loads(void **state)
{
	char path[1024], line[512];
	cb_buf out = CB_BUF_INIT;
	bool in = false;
	cb_config *cfg = NULL;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/examples/chargeback.cfg",
		cb_test_source_dir());
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "# labels = {", 12) == 0 ||
			strncmp(line, "# policies = (", 14) == 0)
			in = true;
		if (in && line[0] == '#')
			assert_int_equal(0, cb__buf_puts(&out, line + 1));
		if (in && (strncmp(line, "# };", 4) == 0 ||
				  strncmp(line, "# );", 4) == 0))
			in = false;
	}
	fclose(f);
	if (cb_config_load_string(&cfg, out.ptr, "example") != 0)
		fail_msg("%s\n%s", cb_error_last()->message, out.ptr);
	assert_int_equal(4, cb_config_policy_rule_count(cfg));
	assert_int_equal(1, cb_config_label_count(cfg));
	assert_int_equal(3, cb_config_label(cfg, 0)->member_count);
	cb_config_free(cfg);
	cb_buf_dispose(&out);
}

static void
test_config_policy_survives_oom(void **state)
{
	cb_config *cfg = NULL;
	unsigned long n;
	int error;

	(void)state;
	for (n = 1;; n++) {
		cb__alloc_fail_after(n);
		error = cb_config_load_string(&cfg, text, "p.cfg");
		if (error == 0)
			break;
		assert_int_equal(CB_ENOMEM, error);
		assert_null(cfg);
	}
	cb__alloc_fail_after(0);
	assert_true(n > 10);
	assert_int_equal(6, cb_config_policy_rule_count(cfg));
	cb_config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_policy_accessors),
		cmocka_unit_test(test_config_policy_example_loads),
		cmocka_unit_test(test_config_policy_survives_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

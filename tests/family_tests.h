/* Forward tests of node families that live in files of their own
 * (tests/test_<family>.c, linked into test_nodes by tests/meson.build's
 * family_tests), declared here for the table of every kind's tests in
 * test_nodes.c. */
#ifndef WF_FAMILY_TESTS_H
#define WF_FAMILY_TESTS_H

/* tests/test_filters_simple.c */
void test_onepole(void **state);
void test_smooth(void **state);
void test_svf_response(void **state);
void test_svf_modes(void **state);
void test_svf_modulation_stable(void **state);
void test_comb(void **state);
void test_allpass(void **state);
void test_comb_fractional(void **state);
void test_comb_fault(void **state);
void test_filters_stream(void **state);

#endif

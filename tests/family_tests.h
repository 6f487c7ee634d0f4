/* Forward tests of node families that live in files of their own
 * (tests/test_<family>.c, linked into test_nodes by tests/meson.build's
 * family_tests), declared here for the table of every kind's tests in
 * test_nodes.c. */
#ifndef WF_FAMILY_TESTS_H
#define WF_FAMILY_TESTS_H

/* tests/test_iir.c */
void test_biquad_magnitudes(void **state);
void test_biquad_impulse(void **state);
void test_iir_vs_sos(void **state);
void test_iir_stream(void **state);
void test_iir_long_run(void **state);
void test_iir_faults(void **state);

#endif

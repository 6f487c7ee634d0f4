/* Forward tests of node families that live in files of their own
 * (tests/test_<family>.c, linked into test_nodes by tests/meson.build's
 * family_tests), declared here for the table of every kind's tests in
 * test_nodes.c. */
#ifndef WF_FAMILY_TESTS_H
#define WF_FAMILY_TESTS_H

#endif

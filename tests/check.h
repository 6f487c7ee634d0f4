/* Helpers shared by the cmocka tests. cmocka 1.1.5 compares floats only with
 * an absolute epsilon; assert_close compares doubles with a relative and an
 * absolute tolerance and reports both values and the relative error. */
#ifndef WF_TEST_CHECK_H
#define WF_TEST_CHECK_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

static inline void wf_assert_close(double got, double want, double rtol, double atol,
                                   const char *what, const char *file, int line)
{
    double err = fabs(got - want);
    double rel = err / (fabs(want) > 0 ? fabs(want) : 1);
    if (!(err <= atol + rtol * fabs(want))) {
        print_error("%s: got %.9g, want %.9g (abs error %.3g, rel error %.3g; rtol %.3g, atol %.3g)\n",
                    what, got, want, err, rel, rtol, atol);
        _fail(file, line);
    }
}

#define assert_close(got, want, rtol, atol)                                                    \
    wf_assert_close((double)(got), (double)(want), (rtol), (atol), #got, __FILE__, __LINE__)

/* Folder holding the examples and test data, passed by meson. */
#ifndef WF_SOURCE_DIR
#define WF_SOURCE_DIR "."
#endif

#endif

/* The inline maths of runtime/vmath.h against libm in double precision:
 * wf_logf_pos over thirty-seven decades of positive floats, its eight-lane
 * AVX form within a unit in the last place of it (when the build has AVX;
 * the two may fuse multiplies and adds differently), and wf_sin2pi
 * over many turns of phase. */
#include <math.h>

#include "check.h"
#include "runtime/vmath.h"

static void test_log(void **state)
{
    (void)state;
    double worst = 0;
    for (int i = 0; i <= 370000; i++) {
        float x = (float)pow(10.0, -7.0 + i * 1e-4);
        double want = log((double)x), got = wf_logf_pos(x);
        double err = fabs(got - want) / fmax(fabs(want), 1e-30);
        if (fabs(want) < 1e-3) /* near x = 1 the error is absolute */
            err = fabs(got - want) / 1e-3;
        if (err > worst)
            worst = err;
    }
    print_message("wf_logf_pos: worst relative error %.3g\n", worst);
    assert_true(worst < 3e-7);
}

static void test_log8(void **state)
{
    (void)state;
#if WF_HAVE_AVX_FLOAT
    for (int i = 0; i <= 370000; i += 8) {
        float x[8], y[8];
        for (int j = 0; j < 8; j++)
            x[j] = (float)pow(10.0, -7.0 + (i + j) * 1e-4) * (1 + 1e-7f * j);
        _mm256_storeu_ps(y, wf_logf8_pos(_mm256_loadu_ps(x)));
        for (int j = 0; j < 8; j++) {
            float want = wf_logf_pos(x[j]);
            if (fabsf(y[j] - want) > nextafterf(fabsf(want), INFINITY) - fabsf(want))
                fail_msg("wf_logf8_pos(%.9g) = %.9g, wf_logf_pos gives %.9g", (double)x[j],
                         (double)y[j], (double)want);
        }
    }
#else
    skip();
#endif
}

static void test_sin(void **state)
{
    (void)state;
    double worst = 0;
    for (int i = -200000; i <= 200000; i++) {
        wf_phase x = (wf_phase)(i * 1.37e-4);
        double err = fabs(wf_sin2pi(x) - sin(WF_TWO_PI * (double)x));
        if (err > worst)
            worst = err;
    }
    print_message("wf_sin2pi: worst error %.3g\n", worst);
    assert_true(worst < 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_log8),
        cmocka_unit_test(test_sin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

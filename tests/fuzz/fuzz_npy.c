/* libFuzzer target for the .npy reader (runtime/npy.h): parses arbitrary
 * bytes as a file, and for every image it accepts checks that the result is
 * consistent and that writing it back and reading that again gives the same
 * shape and the same values, so the fuzzer looks for wrong answers as well
 * as for the memory errors and undefined arithmetic that ASan and UBSan see.
 * tests/fuzz/replay.c runs the same entry point over tests/fuzz/corpus_npy/
 * in ordinary builds. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/npy.h"
#include "runtime/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_npy: %s\n", what);
        abort();
    }
}

static void check_round_trip(const wf_npy *info, const wf_real *v)
{
    unsigned char *bytes;
    size_t len;
    wf_npy_encode(v, info->ndim, info->shape, &bytes, &len);
    wf_diags d = {0};
    wf_npy again;
    wf_real *w;
    check(wf_npy_parse("again.npy", bytes, len, &again, &w, &d) == 0,
          "weft cannot read what it wrote");
    check(again.ndim == info->ndim && again.count == info->count &&
              again.dtype_bytes == (int)sizeof(wf_real),
          "the shape changed through a write and a read");
    for (int i = 0; i < info->ndim; i++)
        check(again.shape[i] == info->shape[i], "a dimension changed through a write and a read");
    for (int64_t i = 0; i < info->count; i++)
        check(memcmp(&v[i], &w[i], sizeof v[i]) == 0 || (isnan(v[i]) && isnan(w[i])),
              "a value changed through a write and a read");
    wf_afree(w);
    free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wf_diags d = {0};
    wf_npy info;
    wf_real *v;
    if (wf_npy_parse("fuzz.npy", data, size, &info, &v, &d) == 0) {
        check(d.n == 0, "a diagnostic on success");
        check(info.ndim >= 0 && info.ndim <= WF_NPY_MAX_DIMS, "ndim out of range");
        check(info.dtype_bytes == 4 || info.dtype_bytes == 8, "dtype_bytes not 4 or 8");
        /* a zero dimension first: the others may be huge */
        int64_t count = 1;
        for (int i = 0; i < info.ndim; i++) {
            check(info.shape[i] >= 0, "a negative dimension");
            if (info.shape[i] == 0)
                count = 0;
        }
        for (int i = 0; i < info.ndim && count; i++) {
            check(count <= INT64_MAX / info.shape[i], "count overflows");
            count *= info.shape[i];
        }
        check(count == info.count, "count is not the product of the shape");
        check((uint64_t)count * (uint64_t)info.dtype_bytes <= size, "more values than bytes");
        char shape[4];
        wf_npy_shape_text(&info, shape, sizeof shape);
        check(strlen(shape) < sizeof shape, "shape text overflows");
        check_round_trip(&info, v);
        wf_afree(v);
    } else {
        check(d.errors == 1 && d.n == 1, "a failure without exactly one error");
        check(strncmp(d.v[0].msg, "fuzz.npy: ", 10) == 0, "a message without the file name");
    }
    wf_diags_free(&d);
    return 0;
}

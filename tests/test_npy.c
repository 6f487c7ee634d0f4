/* NumPy .npy files (runtime/npy.h): the header weft writes, byte for byte,
 * against the format's rules; round trips of every rank; files of both float
 * dtypes, both byte orders, versions 1.0 to 3.0 and the older 16-byte
 * alignment, built here by hand so they do not depend on the encoder; one
 * test per kind of malformed file, on the message's words; every truncation
 * and random byte flips of valid files; and, when Python's numpy is
 * installed, files np.save made read by weft and files weft made read by
 * np.load (and compared with np.save's bytes). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "runtime/npy.h"
#include "runtime/rng.h"
#include "runtime/util.h"

static char tmp_dir[] = "/tmp/weft-npy-XXXXXX";

static int make_tmp(void **state)
{
    (void)state;
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp(void **state)
{
    (void)state;
    DIR *dir = opendir(tmp_dir);
    if (!dir)
        return -1;
    struct dirent *e;
    while ((e = readdir(dir)))
        if (e->d_name[0] != '.') {
            wf_str path = {0};
            wf_str_printf(&path, "%s/%s", tmp_dir, e->d_name);
            unlink(path.s);
            wf_str_free(&path);
        }
    closedir(dir);
    return rmdir(tmp_dir);
}

static char *tmp_path(const char *name)
{
    wf_str p = {0};
    wf_str_printf(&p, "%s/%s", tmp_dir, name);
    return p.s;
}

/* Values in an array of this shape, looking for a zero first since the
 * others may be huge. */
static int64_t count_of(const int64_t *shape, int ndim)
{
    int64_t count = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0)
            return 0;
    for (int i = 0; i < ndim; i++)
        count *= shape[i];
    return count;
}

/* The values every test array holds: exact in float32 and float64. */
static double value_at(int64_t i)
{
    return (double)i * 0.25 - 1.5;
}

/* ------------------------------------------------------ building images */

/* A value's bytes in the given order, from its bits (independent of the
 * host's order and of runtime/npy.c). */
static void put_value(wf_str *b, double v, int bytes, int big)
{
    uint64_t bits;
    if (bytes == 4) {
        float f = (float)v;
        uint32_t u;
        memcpy(&u, &f, 4);
        bits = u;
    } else {
        memcpy(&bits, &v, 8);
    }
    for (int k = 0; k < bytes; k++) {
        int shift = 8 * (big ? bytes - 1 - k : k);
        wf_str_putc(b, (char)(bits >> shift & 0xff));
    }
}

/* A .npy image of version major.minor whose header is dict, padded with
 * spaces and a newline so that the data starts at a multiple of align, then
 * n values (value_at, or vals when given) of the given size and order. */
static wf_str make_npy(int major, int minor, const char *dict, size_t align, const double *vals,
                       int64_t n, int bytes, int big)
{
    wf_str b = {0};
    wf_str_putn(&b, "\x93NUMPY", 6);
    wf_str_putc(&b, (char)major);
    wf_str_putc(&b, (char)minor);
    size_t field = major == 1 ? 2 : 4, start = 8 + field;
    size_t hlen = strlen(dict) + 1;
    while ((start + hlen) % align)
        hlen++;
    for (size_t k = 0; k < field; k++)
        wf_str_putc(&b, (char)(hlen >> (8 * k) & 0xff));
    wf_str_puts(&b, dict);
    while (b.len < start + hlen - 1)
        wf_str_putc(&b, ' ');
    wf_str_putc(&b, '\n');
    for (int64_t i = 0; i < n; i++)
        put_value(&b, vals ? vals[i] : value_at(i), bytes, big);
    return b;
}

/* An exact-size copy, so that the sanitizers catch any read past the end. */
static int parse_exact(const char *name, const void *bytes, size_t len, wf_npy *info,
                       wf_real **data, wf_diags *d)
{
    unsigned char *copy = wf_xmalloc(len);
    memcpy(copy, bytes, len);
    int rc = wf_npy_parse(name, copy, len, info, data, d);
    free(copy);
    return rc;
}

static void expect_values(const wf_real *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        assert_true(v[i] == (wf_real)value_at(i));
}

/* Parses b, which must hold shape[0..ndim) of value_at values, dtype_bytes wide. */
static void expect_array(const wf_str *b, int ndim, const int64_t *shape, int dtype_bytes)
{
    wf_diags d = {0};
    wf_npy info;
    wf_real *v = NULL;
    int rc = parse_exact("ok.npy", b->s, b->len, &info, &v, &d);
    if (rc)
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
    assert_int_equal(rc, 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(info.ndim, ndim);
    for (int i = 0; i < ndim; i++)
        assert_int_equal(info.shape[i], shape[i]);
    int64_t count = count_of(shape, ndim);
    assert_int_equal(info.count, count);
    assert_int_equal(info.dtype_bytes, dtype_bytes);
    assert_int_equal((uintptr_t)v % 64, 0);
    expect_values(v, count);
    wf_afree(v);
}

/* ------------------------------------------------------ the header written */

static void test_header_bytes(void **state)
{
    (void)state;
    /* np.save's headers for these shapes (numpy 1.24), from the format's rules:
     * the dict's repr with sorted keys, 21 - len(str(shape[0])) spaces of room
     * to grow the first axis, then 1 to 64 spaces and '\n' to a multiple of 64.
     * hlen counts the bytes after the 10-byte prefix. */
    static const struct {
        int ndim;
        int64_t shape[5];
        const char *dict;
        size_t hlen;
    } cases[] = {
        {0, {0}, "{'descr': '<f%d', 'fortran_order': False, 'shape': (), }", 118},
        {1, {5}, "{'descr': '<f%d', 'fortran_order': False, 'shape': (5,), }", 118},
        {1, {0}, "{'descr': '<f%d', 'fortran_order': False, 'shape': (0,), }", 118},
        {2, {3, 4}, "{'descr': '<f%d', 'fortran_order': False, 'shape': (3, 4), }", 118},
        {3, {2, 3, 4}, "{'descr': '<f%d', 'fortran_order': False, 'shape': (2, 3, 4), }", 118},
        /* 101 bytes of dict fit in 128 bytes, but not with the 20 of room */
        {5,
         {1, 999999999999, 999999999999, 999999999999, 0},
         "{'descr': '<f%d', 'fortran_order': False, 'shape': (1, 999999999999, 999999999999, "
         "999999999999, 0), }",
         182},
    };
    wf_real vals[24];
    for (int i = 0; i < 24; i++)
        vals[i] = (wf_real)value_at(i);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        unsigned char *b;
        size_t len;
        wf_npy_encode(vals, cases[c].ndim, cases[c].shape, &b, &len);
        char dict[160];
        snprintf(dict, sizeof dict, cases[c].dict, (int)sizeof(wf_real));
        size_t dict_len = strlen(dict);
        int growth = cases[c].ndim ? 20 : 0; /* every shape[0] here has one digit */
        int64_t count = count_of(cases[c].shape, cases[c].ndim);

        assert_memory_equal(b, "\x93NUMPY\x01\x00", 8);
        size_t hlen = b[8] | (size_t)b[9] << 8;
        assert_int_equal(hlen, cases[c].hlen);
        assert_int_equal(len, 10 + hlen + (size_t)count * sizeof(wf_real));
        assert_memory_equal(b + 10, dict, dict_len);
        assert_true(dict_len + growth < hlen - 1);
        for (size_t i = 10 + dict_len; i < 10 + hlen - 1; i++)
            assert_int_equal(b[i], ' ');
        assert_int_equal(b[10 + hlen - 1], '\n');
        /* little-endian data right after */
        wf_str want = {0};
        for (int64_t i = 0; i < count; i++)
            put_value(&want, value_at(i), (int)sizeof(wf_real), 0);
        if (count)
            assert_memory_equal(b + 10 + hlen, want.s, want.len);
        wf_str_free(&want);
        free(b);
    }
}

/* Every rank and every width of dimension: the data starts at a multiple of
 * 64, with at least the room np.save leaves to grow the first axis and at
 * most 64 more spaces, and the header length field says where. */
static void test_header_alignment(void **state)
{
    (void)state;
    static const int64_t dims[] = {0, 1, 7, 10, 999, 123456, 4294967296, 999999999999999999};
    for (int ndim = 0; ndim <= WF_NPY_MAX_DIMS; ndim++)
        for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
            /* the first dimension dims[k], then 2s, or 1s after a large one
             * and a final 0 after a huge one, so that the data stays small */
            int huge = dims[k] > 123456;
            if (ndim == 1 && huge)
                continue;
            int64_t shape[WF_NPY_MAX_DIMS];
            for (int i = 0; i < ndim; i++)
                shape[i] = dims[k] > 999 ? 1 : 2;
            if (ndim > 0)
                shape[0] = dims[k];
            if (ndim > 1 && huge)
                shape[ndim - 1] = 0;
            int64_t count = count_of(shape, ndim);
            wf_real *vals = wf_xcalloc((size_t)(count ? count : 1), sizeof *vals);
            unsigned char *b;
            size_t len;
            wf_npy_encode(vals, ndim, shape, &b, &len);
            size_t hlen = b[8] | (size_t)b[9] << 8, off = 10 + hlen;
            assert_int_equal(off % 64, 0);
            assert_int_equal(b[off - 1], '\n');
            size_t end = off - 1;
            while (b[end - 1] == ' ')
                end--;
            assert_int_equal(b[end - 1], '}');
            char first[32];
            int digits = ndim ? snprintf(first, sizeof first, "%lld", (long long)shape[0]) : 21;
            size_t spaces = off - 1 - end;
            assert_true(spaces >= (size_t)(21 - digits) + 1);
            assert_true(spaces <= (size_t)(21 - digits) + 64);
            assert_int_equal(len, off + (size_t)count * sizeof(wf_real));

            wf_diags d = {0};
            wf_npy info;
            wf_real *back;
            assert_int_equal(parse_exact("a.npy", b, len, &info, &back, &d), 0);
            assert_int_equal(info.ndim, ndim);
            for (int i = 0; i < ndim; i++)
                assert_int_equal(info.shape[i], shape[i]);
            wf_afree(back);
            free(b);
            free(vals);
        }
}

/* ------------------------------------------------------ round trips */

static void round_trip(int ndim, const int64_t *shape)
{
    int64_t count = count_of(shape, ndim);
    wf_real *vals = wf_xmalloc((size_t)(count ? count : 1) * sizeof *vals);
    for (int64_t i = 0; i < count; i++)
        vals[i] = (wf_real)value_at(i);
    unsigned char *b;
    size_t len;
    wf_npy_encode(vals, ndim, shape, &b, &len);
    wf_str img = {.s = (char *)b, .len = len};
    expect_array(&img, ndim, shape, (int)sizeof(wf_real));

    /* the same through a file */
    char *path = tmp_path("round.npy");
    wf_diags d = {0};
    assert_int_equal(wf_npy_save(path, vals, ndim, shape, &d), 0);
    size_t flen;
    char *file = wf_read_file(path, &flen);
    assert_non_null(file);
    assert_int_equal(flen, len);
    assert_memory_equal(file, b, len);
    wf_npy info;
    wf_real *back;
    assert_int_equal(wf_npy_load(path, &info, &back, &d), 0);
    assert_int_equal(info.count, count);
    expect_values(back, count);
    wf_afree(back);
    free(file);
    free(path);
    free(b);
    free(vals);
}

static void test_round_trips(void **state)
{
    (void)state;
    round_trip(0, NULL);
    round_trip(1, (int64_t[]){0});
    round_trip(1, (int64_t[]){1});
    round_trip(1, (int64_t[]){17});
    round_trip(2, (int64_t[]){3, 4});
    round_trip(2, (int64_t[]){0, 5});
    round_trip(3, (int64_t[]){2, 3, 4});
    round_trip(8, (int64_t[]){2, 1, 2, 1, 3, 1, 1, 2});
    round_trip(1, (int64_t[]){100000});
}

/* Infinities and NaN are kept, both ways: the caller decides about them. */
static void test_non_finite(void **state)
{
    (void)state;
    const wf_real vals[] = {(wf_real)INFINITY, -(wf_real)INFINITY, (wf_real)NAN, 0};
    unsigned char *b;
    size_t len;
    wf_npy_encode(vals, 1, (int64_t[]){4}, &b, &len);
    wf_diags d = {0};
    wf_npy info;
    wf_real *v;
    assert_int_equal(wf_npy_parse("nf.npy", b, len, &info, &v, &d), 0);
    assert_true(isinf(v[0]) && v[0] > 0);
    assert_true(isinf(v[1]) && v[1] < 0);
    assert_true(isnan(v[2]));
    assert_true(v[3] == 0);
    wf_afree(v);
    free(b);

    /* float64 beyond float32's range */
    const double big[] = {1e300, -1e300, 1e-300};
    wf_str img = make_npy(1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 64,
                          big, 3, 8, 0);
    assert_int_equal(parse_exact("big.npy", img.s, img.len, &info, &v, &d), 0);
    if (sizeof(wf_real) == 4) {
        assert_true(isinf(v[0]) && v[0] > 0);
        assert_true(isinf(v[1]) && v[1] < 0);
        assert_true(v[2] == 0);
    } else {
        for (int i = 0; i < 3; i++)
            assert_true(v[i] == big[i]);
    }
    wf_afree(v);
    wf_str_free(&img);
}

/* ------------------------------------------------------ files made by hand */

#define DICT(descr, fortran, shape)                                                             \
    "{'descr': '" descr "', 'fortran_order': " fortran ", 'shape': " shape ", }"

static void test_dtypes_and_orders(void **state)
{
    (void)state;
    static const struct {
        const char *descr;
        int bytes, big;
    } cases[] = {
        {"<f4", 4, 0}, {"<f8", 8, 0}, {">f4", 4, 1}, {">f8", 8, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (2, 3), }",
                 cases[c].descr);
        wf_str b = make_npy(1, 0, dict, 64, NULL, 6, cases[c].bytes, cases[c].big);
        expect_array(&b, 2, (int64_t[]){2, 3}, cases[c].bytes);
        wf_str_free(&b);
    }
    /* '=', '|' and no order character mean the reader's own order, as in numpy */
    uint16_t one = 1;
    unsigned char low;
    memcpy(&low, &one, 1);
    int host_big = low == 0;
    static const char *const native[] = {"=f4", "|f4", "f4", "=f8", "|f8", "f8"};
    for (int c = 0; c < 6; c++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (5,), }",
                 native[c]);
        wf_str b = make_npy(1, 0, dict, 64, NULL, 5, c < 3 ? 4 : 8, host_big);
        expect_array(&b, 1, (int64_t[]){5}, c < 3 ? 4 : 8);
        wf_str_free(&b);
    }
}

static void test_versions_and_layouts(void **state)
{
    (void)state;
    const char *d34 = DICT("<f4", "False", "(3, 4)");
    int64_t s34[] = {3, 4};
    wf_str b;
    /* version 2.0 and 3.0: a 4-byte header length */
    b = make_npy(2, 0, d34, 64, NULL, 12, 4, 0);
    expect_array(&b, 2, s34, 4);
    wf_str_free(&b);
    b = make_npy(3, 0, DICT(">f8", "False", "(3, 4)"), 64, NULL, 12, 8, 1);
    expect_array(&b, 2, s34, 8);
    wf_str_free(&b);
    /* a version 2.0 header longer than version 1.0 can hold */
    wf_str big = {0};
    wf_str_puts(&big, "{'descr': '<f4', 'fortran_order': False,");
    for (int i = 0; i < 70000; i++)
        wf_str_putc(&big, i % 80 ? ' ' : '\n');
    wf_str_puts(&big, "'shape': (3, 4)}");
    b = make_npy(2, 0, big.s, 64, NULL, 12, 4, 0);
    expect_array(&b, 2, s34, 4);
    wf_str_free(&b);
    wf_str_free(&big);
    /* numpy before 1.9 aligned the data to 16 bytes; any offset is read */
    b = make_npy(1, 0, d34, 16, NULL, 12, 4, 0);
    assert_int_equal((10 + (b.s[8] & 0xff)) % 64 != 0, 1);
    expect_array(&b, 2, s34, 4);
    wf_str_free(&b);
    b = make_npy(1, 0, d34, 1, NULL, 12, 4, 0);
    expect_array(&b, 2, s34, 4);
    wf_str_free(&b);
    /* the forms Python literals allow: any key order, double quotes, no
     * trailing comma, line breaks, Python 2's long integers */
    static const char *const forms[] = {
        "{'shape': (3, 4), 'fortran_order': False, 'descr': '<f4'}",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3, 4)}",
        "{ 'descr' :'<f4' ,\n\t'fortran_order':False,'shape':( 3 ,4 , ) , }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 4L), }",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        b = make_npy(1, 0, forms[i], 64, NULL, 12, 4, 0);
        expect_array(&b, 2, s34, 4);
        wf_str_free(&b);
    }
    /* Fortran order is C order when at most one dimension is above 1 */
    b = make_npy(1, 0, DICT("<f4", "True", "(1, 12, 1)"), 64, NULL, 12, 4, 0);
    expect_array(&b, 3, (int64_t[]){1, 12, 1}, 4);
    wf_str_free(&b);
    b = make_npy(1, 0, DICT("<f4", "True", "(12,)"), 64, NULL, 12, 4, 0);
    expect_array(&b, 1, (int64_t[]){12}, 4);
    wf_str_free(&b);
    /* a scalar, an empty array, and bytes after the data (ignored) */
    b = make_npy(1, 0, DICT("<f8", "False", "()"), 64, NULL, 1, 8, 0);
    expect_array(&b, 0, NULL, 8);
    wf_str_puts(&b, "trailing bytes");
    expect_array(&b, 0, NULL, 8);
    wf_str_free(&b);
    b = make_npy(1, 0, DICT("<f4", "False", "(4, 0, 99999999999)"), 64, NULL, 0, 4, 0);
    expect_array(&b, 3, (int64_t[]){4, 0, 99999999999}, 4);
    wf_str_free(&b);
}

/* ------------------------------------------------------ malformed files */

/* The image must be refused with one error that starts with the file's name
 * and holds every word, leaving info and data alone. */
static void expect_error_n(const void *bytes, size_t len, const char *const *words)
{
    wf_diags d = {0};
    wf_npy info = {.ndim = -7};
    wf_real *data = (wf_real *)&info;
    int rc = parse_exact("bad.npy", bytes, len, &info, &data, &d);
    assert_int_equal(rc, -1);
    assert_int_equal(d.errors, 1);
    assert_int_equal(d.n, 1);
    assert_int_equal(info.ndim, -7);
    assert_ptr_equal(data, (wf_real *)&info);
    const char *msg = d.v[0].msg;
    if (strncmp(msg, "bad.npy: ", 9) != 0)
        fail_msg("the message does not start with the file name: %s", msg);
    for (int i = 0; words[i]; i++)
        if (!strstr(msg, words[i]))
            fail_msg("the message lacks \"%s\": %s", words[i], msg);
    wf_diags_free(&d);
}

#define expect_error(bytes, len, ...)                                                           \
    expect_error_n((bytes), (len), (const char *const[]){__VA_ARGS__, NULL})

/* A header-level mistake: dict in a version 1.0 file with 12 float32 values. */
#define expect_header_error(dict, ...)                                                          \
    do {                                                                                        \
        wf_str b_ = make_npy(1, 0, (dict), 64, NULL, 12, 4, 0);                                 \
        expect_error(b_.s, b_.len, __VA_ARGS__);                                                \
        wf_str_free(&b_);                                                                       \
    } while (0)

static void test_not_npy(void **state)
{
    (void)state;
    expect_error("", 0, "bad.npy: not a .npy file: it is empty");
    expect_error("hello, world", 12, "not a .npy file", "\\x93NUMPY");
    expect_error("\x93NUMPX\x01\x00", 8, "not a .npy file");
    expect_error("PK\x03\x04\x14\x00\x00\x00", 8, "zip archive", ".npz", "np.save");
    expect_error("\x93NU", 3, "truncated", "inside the magic string");
    expect_error("\x93NUMPY\x04\x00\x10\x00", 10, "unsupported .npy version 4.0",
                 "1.0, 2.0 and 3.0");
    expect_error("\x93NUMPY\x01\x01\x10\x00", 10, "unsupported .npy version 1.1");
    expect_error("\x93NUMPY\x00\x00\x10\x00", 10, "unsupported .npy version 0.0");
    expect_error("\x93NUMPY\x01\x00\x10", 9, "truncated", "header length");
    expect_error("\x93NUMPY\x02\x00\x10\x00\x00", 11, "truncated", "header length");
    expect_error("\x93NUMPY\x01\x00\xc8\x00{'descr'", 18,
                 "truncated: the file ends at byte 18, inside the header (which ends at byte 210)");
    expect_error("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14, "truncated", "inside the header");
}

static void test_malformed_header(void **state)
{
    (void)state;
    expect_header_error("[1, 2]", "malformed header at byte 10", "expected a dictionary",
                        "found \"[1, 2]");
    expect_header_error("{'descr' '<f4', 'fortran_order': False, 'shape': (12,), }",
                        "malformed header at byte 19: expected ':' after the key");
    expect_header_error("{'descr': '<f4', 'fortran_order': False}", "malformed header",
                        "no 'shape' key");
    expect_header_error("{'shape': (12,), 'fortran_order': False}", "no 'descr' key");
    expect_header_error("{'descr': '<f4', 'shape': (12,)}", "no 'fortran_order' key");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (12,), 'x': 1}",
                        "at byte 67", "unexpected key 'x'", "'descr', 'fortran_order' and 'shape'");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (12,), 'shape': (12,)}",
                        "key 'shape' given twice");
    expect_header_error(DICT("<f4", "False", "[12]"), "expected a tuple of integers for 'shape'");
    expect_header_error(DICT("<f4", "False", "(12)"), "(3,)", "is a number");
    expect_header_error(DICT("<f4", "False", "(3 4)"), "expected ',' or ')' in 'shape'");
    expect_header_error(DICT("<f4", "False", "(-12,)"), "non-negative integer",
                        "found \"-12,), }");
    expect_header_error(DICT("<f4", "False", "(12.0,)"), "expected ',' or ')'", "found \".0,)");
    expect_header_error(DICT("<f4", "false", "(12,)"), "True or False for 'fortran_order'",
                        "found \"false");
    expect_header_error(DICT("<f4", "0", "(12,)"), "True or False");
    expect_header_error("{'descr': <f4, 'fortran_order': False, 'shape': (12,)}",
                        "a string for 'descr'");
    expect_header_error("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (12,)}",
                        "without escapes");
    expect_header_error("{'descr': '<f4", "expected the closing quote of a string");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (12,) 'x'}",
                        "expected ',' or '}' after a value");
    expect_header_error(DICT("<f4", "False", "(12,)") " x", "only spaces after the dictionary");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (12,)", "',' or '}'",
                        "the end of the header");
    expect_header_error("", "expected a dictionary", "found the end of the header");
    /* control bytes are escaped in the message */
    expect_header_error("{\x01\xff}", "found \"\\x01\\xff}");
}

static void test_unsupported(void **state)
{
    (void)state;
    expect_header_error(DICT("<i8", "False", "(12,)"), "unsupported dtype '<i8' (int64)",
                        "weft reads float32 and float64", "save it as float32",
                        "a.astype(np.float32)");
    expect_header_error(DICT("|u1", "False", "(12,)"), "'|u1' (uint8)");
    expect_header_error(DICT("<i4", "False", "(12,)"), "(int32)");
    expect_header_error(DICT("<f2", "False", "(12,)"), "'<f2' (float16)");
    expect_header_error(DICT("<f16", "False", "(12,)"), "(long double)");
    expect_header_error(DICT("|b1", "False", "(12,)"), "(bool)");
    expect_header_error(DICT("<c16", "False", "(12,)"), "(complex128)");
    expect_header_error(DICT("|O", "False", "(12,)"), "'|O' (Python objects)");
    expect_header_error(DICT("<U5", "False", "(12,)"), "(strings)");
    expect_header_error(DICT("<M8[ns]", "False", "(12,)"), "'<M8[ns]' (datetime64)");
    expect_header_error(DICT("float32", "False", "(12,)"), "unsupported dtype 'float32'");
    expect_header_error(DICT("<f4 ", "False", "(12,)"), "unsupported dtype '<f4 '");
    expect_header_error("{'descr': [('x', '<f4'), ('y', '<f4')], 'fortran_order': False, "
                        "'shape': (6,)}",
                        "unsupported dtype: a structured dtype", "at byte 20");
    expect_header_error(DICT("<f4", "True", "(3, 4)"), "stored in Fortran order", "shape [3, 4]",
                        "np.ascontiguousarray");
    expect_header_error(DICT("<f4", "False", "(1, 1, 1, 1, 1, 1, 1, 1, 12)"), "9 dimensions",
                        "at most 8");
}

static void test_too_large_and_truncated(void **state)
{
    (void)state;
    expect_header_error(DICT("<f4", "False", "(99999999999999999999,)"), "shape too large",
                        "the dimension at byte 61 does not fit in 64 bits");
    expect_header_error(DICT("<f4", "False", "(4611686018427387904, 4)"),
                        "shape too large: [4611686018427387904, 4]");
    expect_header_error(DICT("<f8", "False", "(3037000500, 3037000500)"), "shape too large");
    expect_header_error(DICT("<f4", "False", "(1099511627776,)"),
                        "truncated: the header promises 1099511627776 float32 values "
                        "(4398046511104 bytes), the file holds 48 bytes after it");
    wf_str b = make_npy(1, 0, DICT("<f4", "False", "(3, 4)"), 64, NULL, 10, 4, 0);
    expect_error(b.s, b.len,
                 "bad.npy: truncated: the header promises 12 float32 values (48 bytes), the file "
                 "holds 40 bytes after it");
    wf_str_free(&b);
    b = make_npy(2, 0, DICT(">f8", "False", "(3, 4)"), 64, NULL, 0, 8, 1);
    expect_error(b.s, b.len, "promises 12 float64 values (96 bytes), the file holds 0 bytes");
    wf_str_free(&b);
}

static void test_files(void **state)
{
    (void)state;
    wf_diags d = {0};
    wf_npy info;
    wf_real *v;
    char *missing = tmp_path("missing.npy");
    assert_int_equal(wf_npy_load(missing, &info, &v, &d), -1);
    assert_non_null(strstr(d.v[0].msg, missing));
    assert_non_null(strstr(d.v[0].msg, "cannot read: No such file or directory"));
    wf_diags_free(&d);
    assert_int_equal(wf_npy_load(tmp_dir, &info, &v, &d), -1);
    assert_non_null(strstr(d.v[0].msg, "cannot read: Is a directory"));
    wf_diags_free(&d);
    char *nodir = tmp_path("no/such/folder/w.npy");
    const wf_real one = 1;
    assert_int_equal(wf_npy_save(nodir, &one, 0, NULL, &d), -1);
    assert_non_null(strstr(d.v[0].msg, nodir));
    assert_non_null(strstr(d.v[0].msg, "cannot write: No such file or directory"));
    wf_diags_free(&d);
    /* a failed load names the path */
    char *text = tmp_path("text.npy");
    assert_int_equal(wf_write_file_atomic(text, "1,2,3\n", 6), 0);
    assert_int_equal(wf_npy_load(text, &info, &v, &d), -1);
    wf_str want = {0};
    wf_str_printf(&want, "%s: not a .npy file", text);
    assert_non_null(strstr(d.v[0].msg, want.s));
    wf_str_free(&want);
    wf_diags_free(&d);
    free(text);
    free(nodir);
    free(missing);
}

static void test_shape_text(void **state)
{
    (void)state;
    wf_npy info = {.ndim = 2, .shape = {3, 4}};
    char buf[64];
    wf_npy_shape_text(&info, buf, sizeof buf);
    assert_string_equal(buf, "[3, 4]");
    info.ndim = 0;
    wf_npy_shape_text(&info, buf, sizeof buf);
    assert_string_equal(buf, "[]");
    info = (wf_npy){.ndim = 1, .shape = {0}};
    wf_npy_shape_text(&info, buf, sizeof buf);
    assert_string_equal(buf, "[0]");
    info = (wf_npy){.ndim = 3, .shape = {123, 45, 6}};
    wf_npy_shape_text(&info, buf, 8);
    assert_string_equal(buf, "[123, 4");
    wf_npy_shape_text(&info, buf, 1);
    assert_string_equal(buf, "");
    memset(buf, 'x', sizeof buf);
    wf_npy_shape_text(&info, buf, 0);
    assert_int_equal(buf[0], 'x');
}

/* ------------------------------------------------------ fuzz-like sweeps */

/* Every prefix of a valid file is refused, and only the whole file is read. */
static void truncation_sweep(const wf_str *b)
{
    for (size_t n = 0; n <= b->len; n++) {
        wf_diags d = {0};
        wf_npy info;
        wf_real *v = NULL;
        int rc = parse_exact("cut.npy", b->s, n, &info, &v, &d);
        if (n < b->len) {
            if (rc != -1)
                fail_msg("a %zu-byte prefix of a %zu-byte file was read", n, b->len);
            assert_int_equal(d.errors, 1);
            assert_true(strstr(d.v[0].msg, "truncated") || strstr(d.v[0].msg, "malformed") ||
                        strstr(d.v[0].msg, "empty"));
        } else {
            assert_int_equal(rc, 0);
            wf_afree(v);
        }
        wf_diags_free(&d);
    }
}

static void test_truncations(void **state)
{
    (void)state;
    wf_real vals[12];
    for (int i = 0; i < 12; i++)
        vals[i] = (wf_real)value_at(i);
    unsigned char *enc;
    size_t len;
    wf_npy_encode(vals, 2, (int64_t[]){3, 4}, &enc, &len);
    wf_str b = {.s = (char *)enc, .len = len};
    truncation_sweep(&b);
    free(enc);
    b = make_npy(2, 0, DICT(">f8", "False", "(2, 3)"), 16, NULL, 6, 8, 1);
    truncation_sweep(&b);
    wf_str_free(&b);
    b = make_npy(1, 0, DICT("<f4", "False", "()"), 64, NULL, 1, 4, 0);
    truncation_sweep(&b);
    wf_str_free(&b);
}

/* Random byte flips of valid files: each result is either a clean refusal
 * (one error naming the file) or an array consistent with the bytes held. */
static void test_byte_flips(void **state)
{
    (void)state;
    wf_str seeds[3];
    seeds[0] = make_npy(1, 0, DICT("<f4", "False", "(3, 4)"), 64, NULL, 12, 4, 0);
    seeds[1] = make_npy(2, 0, DICT(">f8", "False", "(2, 1, 3)"), 16, NULL, 6, 8, 1);
    seeds[2] = make_npy(3, 0, DICT("<f8", "True", "()"), 64, NULL, 1, 8, 0);
    int ok = 0, refused = 0;
    for (uint64_t it = 0; it < 30000; it++) {
        const wf_str *s = &seeds[it % 3];
        unsigned char *b = wf_xmalloc(s->len);
        memcpy(b, s->s, s->len);
        uint64_t r = wf_splitmix64(42, it);
        int flips = 1 + (int)(r % 3);
        for (int f = 0; f < flips; f++) {
            uint64_t q = wf_splitmix64(43, it * 4 + (uint64_t)f);
            /* most flips land in the first 128 bytes, where the header is */
            size_t at = (q & 1) ? (q >> 8) % 128 % s->len : (q >> 8) % s->len;
            b[at] ^= (unsigned char)(1 + (q >> 40) % 255);
        }
        size_t len = s->len - ((r >> 32) % 4 == 0 ? (r >> 34) % 8 : 0);
        wf_diags d = {0};
        wf_npy info;
        wf_real *v = NULL;
        int rc = parse_exact("flip.npy", b, len, &info, &v, &d);
        if (rc == 0) {
            ok++;
            assert_int_equal(d.n, 0);
            assert_true(info.ndim >= 0 && info.ndim <= WF_NPY_MAX_DIMS);
            assert_true(info.dtype_bytes == 4 || info.dtype_bytes == 8);
            assert_int_equal(info.count, count_of(info.shape, info.ndim));
            int64_t count = info.count;
            assert_true((size_t)count * (size_t)info.dtype_bytes <= len);
            wf_afree(v);
        } else {
            refused++;
            assert_int_equal(rc, -1);
            assert_int_equal(d.errors, 1);
            assert_int_equal(strncmp(d.v[0].msg, "flip.npy: ", 10), 0);
        }
        wf_diags_free(&d);
        free(b);
    }
    /* flips in the data keep a file valid, most in the header do not */
    assert_true(ok > 1000);
    assert_true(refused > 1000);
    for (int i = 0; i < 3; i++)
        wf_str_free(&seeds[i]);
}

/* ------------------------------------------------------ numpy itself */

static const char numpy_script[] =
    "import io, sys\n"
    "import numpy as np\n"
    "d, mode = sys.argv[1], sys.argv[2]\n"
    "def vals(shape, dtype):\n"
    "    n = int(np.prod(shape))\n"
    "    return (np.arange(n, dtype=np.float64) * 0.25 - 1.5).astype(dtype).reshape(shape)\n"
    "if mode == 'write':\n"
    "    np.save(d + '/f32_2d.npy', vals((3, 4), '<f4'))\n"
    "    np.save(d + '/f64_1d.npy', vals((7,), '<f8'))\n"
    "    np.save(d + '/be_3d.npy', vals((2, 3, 4), '>f4'))\n"
    "    np.save(d + '/be_f8.npy', vals((4, 2), '>f8'))\n"
    "    np.save(d + '/scalar.npy', vals((), '<f4'))\n"
    "    np.save(d + '/empty.npy', vals((2, 0, 3), '<f4'))\n"
    "    for v in (2, 3):\n"
    "        with open(d + '/v%d.npy' % v, 'wb') as f:\n"
    "            np.lib.format.write_array(f, vals((3, 4), '<f4'), version=(v, 0))\n"
    "    np.save(d + '/fortran_1d.npy', np.asfortranarray(vals((5,), '<f4')))\n"
    "    np.save(d + '/fortran_2d.npy', np.asfortranarray(vals((3, 4), '<f4')))\n"
    "    np.save(d + '/int64.npy', np.arange(3, dtype='<i8'))\n"
    "    np.save(d + '/f16.npy', vals((3,), '<f2'))\n"
    "    np.save(d + '/structured.npy', np.zeros(2, dtype=[('x', '<f4'), ('y', '<f4')]))\n"
    "    np.savez(d + '/arch.npz', a=vals((3,), '<f4'))\n"
    "else:\n"
    "    for name, shape in [('w0', ()), ('w1', (5,)), ('w2', (3, 4)), ('w3', (2, 3, 4)),\n"
    "                        ('w8', (2, 1, 2, 1, 3, 1, 1, 2)), ('wempty', (0,))]:\n"
    "        path = d + '/' + name + '.npy'\n"
    "        a = np.load(path)\n"
    "        want = vals(shape, mode)\n"
    "        assert a.shape == shape, (path, a.shape, shape)\n"
    "        assert a.dtype == np.dtype(mode), (path, a.dtype)\n"
    "        assert np.array_equal(a, want), (path, a, want)\n"
    "        b = io.BytesIO()\n"
    "        np.save(b, want)\n"
    "        with open(path, 'rb') as f:\n"
    "            assert f.read() == b.getvalue(), (path, 'differs from np.save')\n";

/* 0 when python3 with numpy ran the script in `mode` without error. */
static int run_numpy(const char *mode)
{
    char *script = tmp_path("npy_check.py");
    assert_int_equal(wf_write_file_atomic(script, numpy_script, strlen(numpy_script)), 0);
    wf_str cmd = {0};
    wf_str_printf(&cmd, "/usr/bin/python3 %s %s %s", script, tmp_dir, mode);
    int rc = system(cmd.s);
    if (rc != 0)
        print_error("failed (status %d): %s\n", rc, cmd.s);
    wf_str_free(&cmd);
    free(script);
    return rc;
}

static int have_numpy(void)
{
    return system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

static void load_tmp(const char *name, wf_npy *info, wf_real **v)
{
    char *path = tmp_path(name);
    wf_diags d = {0};
    int rc = wf_npy_load(path, info, v, &d);
    if (rc)
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
    assert_int_equal(rc, 0);
    free(path);
}

static void load_tmp_error(const char *name, const char *words)
{
    char *path = tmp_path(name);
    wf_diags d = {0};
    wf_npy info;
    wf_real *v;
    assert_int_equal(wf_npy_load(path, &info, &v, &d), -1);
    if (!strstr(d.v[0].msg, words))
        fail_msg("%s: the message lacks \"%s\": %s", name, words, d.v[0].msg);
    wf_diags_free(&d);
    free(path);
}

static void test_numpy_writes(void **state)
{
    (void)state;
    if (!have_numpy()) {
        printf("note: /usr/bin/python3 with numpy is missing (Debian: python3-numpy); "
               "files made by numpy are not checked\n");
        skip();
    }
    assert_int_equal(run_numpy("write"), 0);
    static const struct {
        const char *file;
        int ndim;
        int64_t shape[3];
        int bytes;
    } cases[] = {
        {"f32_2d.npy", 2, {3, 4}, 4}, {"f64_1d.npy", 1, {7}, 8},     {"be_3d.npy", 3, {2, 3, 4}, 4},
        {"be_f8.npy", 2, {4, 2}, 8},  {"scalar.npy", 0, {0}, 4},     {"empty.npy", 3, {2, 0, 3}, 4},
        {"v2.npy", 2, {3, 4}, 4},     {"v3.npy", 2, {3, 4}, 4},      {"fortran_1d.npy", 1, {5}, 4},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        wf_npy info;
        wf_real *v;
        load_tmp(cases[c].file, &info, &v);
        assert_int_equal(info.ndim, cases[c].ndim);
        for (int i = 0; i < info.ndim; i++)
            assert_int_equal(info.shape[i], cases[c].shape[i]);
        int64_t count = count_of(cases[c].shape, cases[c].ndim);
        assert_int_equal(info.count, count);
        assert_int_equal(info.dtype_bytes, cases[c].bytes);
        expect_values(v, count);
        wf_afree(v);
    }
    load_tmp_error("fortran_2d.npy", "Fortran order");
    load_tmp_error("int64.npy", "unsupported dtype '<i8' (int64)");
    load_tmp_error("f16.npy", "unsupported dtype '<f2' (float16)");
    load_tmp_error("structured.npy", "structured dtype");
    load_tmp_error("arch.npz", "zip archive");
}

static void test_numpy_reads(void **state)
{
    (void)state;
    if (!have_numpy()) {
        printf("note: /usr/bin/python3 with numpy is missing (Debian: python3-numpy); "
               "np.load is not checked on weft's files\n");
        skip();
    }
    static const struct {
        const char *file;
        int ndim;
        int64_t shape[8];
    } cases[] = {
        {"w0.npy", 0, {0}},       {"w1.npy", 1, {5}},
        {"w2.npy", 2, {3, 4}},    {"w3.npy", 3, {2, 3, 4}},
        {"w8.npy", 8, {2, 1, 2, 1, 3, 1, 1, 2}}, {"wempty.npy", 1, {0}},
    };
    wf_real vals[24];
    for (int i = 0; i < 24; i++)
        vals[i] = (wf_real)value_at(i);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *path = tmp_path(cases[c].file);
        wf_diags d = {0};
        assert_int_equal(wf_npy_save(path, vals, cases[c].ndim, cases[c].shape, &d), 0);
        free(path);
    }
    assert_int_equal(run_numpy(sizeof(wf_real) == 4 ? "float32" : "float64"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_bytes),
        cmocka_unit_test(test_header_alignment),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_non_finite),
        cmocka_unit_test(test_dtypes_and_orders),
        cmocka_unit_test(test_versions_and_layouts),
        cmocka_unit_test(test_not_npy),
        cmocka_unit_test(test_malformed_header),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_too_large_and_truncated),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_shape_text),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_byte_flips),
        cmocka_unit_test(test_numpy_writes),
        cmocka_unit_test(test_numpy_reads),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}

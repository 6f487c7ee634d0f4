/* NumPy .npy reader and writer (npy.h). The header is a Python dict literal;
 * instead of a Python parser, a small recursive-descent reader of the subset
 * that numpy (and Python 2's numpy) writes and np.load accepts for plain
 * arrays. Every length and offset comes from an untrusted file, so each is
 * checked against the bytes present before it is used, and nothing is
 * allocated before the data is known to be all there. */
#include "runtime/npy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/util.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* numpy pads the header so that the data starts on this boundary. */
#define NPY_ALIGN 64
/* ... after leaving room to grow the first axis to this many digits in
 * place (GROWTH_AXIS_MAX_DIGITS), which np.save does since numpy 1.23;
 * writing the same keeps weft's files byte-identical to numpy's. */
#define NPY_GROWTH_DIGITS 21

/* ------------------------------------------------------------ messages */

/* Header bytes quoted with q for a message: the file is untrusted, so
 * anything but printable ASCII is escaped and long runs are cut. */
static void put_quoted(wf_str *b, char q, const unsigned char *s, size_t n, size_t max)
{
    wf_str_putc(b, q);
    for (size_t i = 0; i < n && i < max; i++) {
        if (s[i] == q || s[i] == '\\')
            wf_str_printf(b, "\\%c", s[i]);
        else if (s[i] >= 0x20 && s[i] < 0x7f)
            wf_str_putc(b, (char)s[i]);
        else if (s[i] == '\n')
            wf_str_puts(b, "\\n");
        else
            wf_str_printf(b, "\\x%02x", s[i]);
    }
    wf_str_putc(b, q);
    if (n > max)
        wf_str_puts(b, "...");
}

static void shape_text(const int64_t *shape, int ndim, char *buf, size_t size)
{
    if (size == 0)
        return;
    int n = snprintf(buf, size, "[");
    for (int i = 0; i < ndim && n >= 0 && (size_t)n < size; i++)
        n += snprintf(buf + n, size - (size_t)n, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (n >= 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "]");
}

void wf_npy_shape_text(const wf_npy *info, char *buf, size_t size)
{
    shape_text(info->shape, info->ndim, buf, size);
}

/* Values an array of this shape holds, or -1 past max. A zero dimension
 * makes it empty however large the others are, so zeros are looked for
 * before anything is multiplied. */
static int64_t shape_count(const int64_t *shape, int ndim, int64_t max)
{
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0)
            return 0;
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (count > max / shape[i])
            return -1;
        count *= shape[i];
    }
    return count;
}

/* ------------------------------------------------------------ header */

typedef struct hdr {
    const char *name;
    const unsigned char *s; /* the header text, len bytes */
    size_t len, pos;
    size_t base;            /* file offset of s[0], so messages give file offsets */
    int major;
    wf_diags *d;
    /* what was read */
    const unsigned char *descr;
    size_t descr_len;
    int fortran;
    size_t ndim; /* dimensions read; only the first WF_NPY_MAX_DIMS are kept */
    int64_t shape[WF_NPY_MAX_DIMS];
    int have_descr, have_fortran, have_shape;
} hdr;

static int expected(hdr *h, const char *what)
{
    wf_str found = {0};
    if (h->pos >= h->len)
        wf_str_puts(&found, "the end of the header");
    else
        put_quoted(&found, '"', h->s + h->pos, h->len - h->pos, 16);
    wf_report_npy_expected(h->d, WF_NOWHERE, NULL, h->name, h->base + h->pos, what, found.s);
    wf_str_free(&found);
    return -1;
}

/* Python allows any whitespace between the tokens of a bracketed literal. */
static void skip_ws(hdr *h)
{
    while (h->pos < h->len &&
           (h->s[h->pos] == ' ' || (h->s[h->pos] >= '\t' && h->s[h->pos] <= '\r')))
        h->pos++;
}

static int peek(hdr *h)
{
    skip_ws(h);
    return h->pos < h->len ? h->s[h->pos] : -1;
}

static int eat(hdr *h, int c)
{
    if (peek(h) != c)
        return 0;
    h->pos++;
    return 1;
}

/* A quoted string without escapes (no key or dtype numpy writes has one). */
static int read_string(hdr *h, const unsigned char **s, size_t *n, const char *what)
{
    int q = peek(h);
    if (q != '\'' && q != '"')
        return expected(h, what);
    size_t start = ++h->pos;
    while (h->pos < h->len && h->s[h->pos] != q && h->s[h->pos] != '\n') {
        if (h->s[h->pos] == '\\')
            return expected(h, "a string without escapes");
        h->pos++;
    }
    if (h->pos >= h->len || h->s[h->pos] != q)
        return expected(h, "the closing quote of a string");
    *s = h->s + start;
    *n = h->pos - start;
    h->pos++;
    return 0;
}

static int is_word_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int read_bool(hdr *h)
{
    skip_ws(h);
    size_t start = h->pos;
    while (h->pos < h->len && is_word_char(h->s[h->pos]))
        h->pos++;
    size_t n = h->pos - start;
    if (n == 4 && !memcmp(h->s + start, "True", 4))
        h->fortran = 1;
    else if (n == 5 && !memcmp(h->s + start, "False", 5))
        h->fortran = 0;
    else {
        h->pos = start;
        return expected(h, "True or False for 'fortran_order'");
    }
    return 0;
}

static int read_dim(hdr *h)
{
    skip_ws(h);
    size_t start = h->pos;
    int64_t v = 0;
    while (h->pos < h->len && h->s[h->pos] >= '0' && h->s[h->pos] <= '9') {
        int digit = h->s[h->pos] - '0';
        if (v > (INT64_MAX - digit) / 10) {
            wf_report_npy_dimension_too_large(h->d, WF_NOWHERE, NULL, h->name, h->base + start);
            return -1;
        }
        v = v * 10 + digit;
        h->pos++;
    }
    if (h->pos == start)
        return expected(h, "a dimension (a non-negative integer) in 'shape'");
    /* Python 2 wrote long integers as 3L; numpy reads them in 1.0 and 2.0 files. */
    if (h->major <= 2 && h->pos < h->len && (h->s[h->pos] == 'L' || h->s[h->pos] == 'l'))
        h->pos++;
    if (h->ndim < WF_NPY_MAX_DIMS)
        h->shape[h->ndim] = v;
    h->ndim++;
    return 0;
}

/* A tuple: (), (n,), (n, m) or (n, m,); (n) is a number, not a tuple. */
static int read_shape(hdr *h)
{
    if (!eat(h, '('))
        return expected(h, "a tuple of integers for 'shape', such as (3, 4)");
    if (eat(h, ')'))
        return 0;
    for (;;) {
        if (read_dim(h))
            return -1;
        int comma = eat(h, ',');
        if (peek(h) == ')') {
            if (h->ndim == 1 && !comma)
                return expected(h, "',' after the only dimension, as in (3,): (3) is a number");
            h->pos++;
            return 0;
        }
        if (!comma)
            return expected(h, "',' or ')' in 'shape'");
    }
}

static int read_descr(hdr *h)
{
    int c = peek(h);
    if (c == '[' || c == '(') {
        wf_report_npy_structured_dtype(h->d, WF_NOWHERE, NULL, h->name, h->base + h->pos);
        return -1;
    }
    return read_string(h, &h->descr, &h->descr_len, "a string for 'descr', such as '<f4'");
}

static int read_entry(hdr *h)
{
    const unsigned char *key;
    size_t n;
    skip_ws(h);
    size_t at = h->pos;
    if (read_string(h, &key, &n, "a quoted key"))
        return -1;
    static const char *const keys[] = {"descr", "fortran_order", "shape"};
    int *seen[] = {&h->have_descr, &h->have_fortran, &h->have_shape};
    int k = 0;
    while (k < 3 && !(strlen(keys[k]) == n && !memcmp(keys[k], key, n)))
        k++;
    if (k == 3 || *seen[k]) {
        wf_str q = {0};
        put_quoted(&q, '\'', key, n, 32);
        if (k == 3)
            wf_report_npy_unknown_key(h->d, WF_NOWHERE, NULL, h->name, h->base + at, q.s);
        else
            wf_report_npy_repeated_key(h->d, WF_NOWHERE, NULL, h->name, h->base + at, q.s);
        wf_str_free(&q);
        return -1;
    }
    *seen[k] = 1;
    if (!eat(h, ':'))
        return expected(h, "':' after the key");
    return k == 0 ? read_descr(h) : k == 1 ? read_bool(h) : read_shape(h);
}

static int read_header(hdr *h)
{
    if (!eat(h, '{'))
        return expected(h, "a dictionary starting with '{'");
    while (!eat(h, '}')) {
        if (read_entry(h))
            return -1;
        if (!eat(h, ',') && peek(h) != '}')
            return expected(h, "',' or '}' after a value");
    }
    if (peek(h) != -1)
        return expected(h, "only spaces after the dictionary");
    static const char *const keys[] = {"descr", "fortran_order", "shape"};
    const int have[] = {h->have_descr, h->have_fortran, h->have_shape};
    for (int k = 0; k < 3; k++)
        if (!have[k]) {
            wf_report_npy_missing_key(h->d, WF_NOWHERE, NULL, h->name, keys[k]);
            return -1;
        }
    return 0;
}

/* ------------------------------------------------------------ dtype */

static int host_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

/* numpy's name of a dtype that weft does not read, for the message. */
static void dtype_name(wf_str *b, const unsigned char *s, size_t n)
{
    int kind = n ? s[0] : 0, size = 0;
    for (size_t i = 1; i < n && i < 4 && s[i] >= '0' && s[i] <= '9'; i++)
        size = size * 10 + (s[i] - '0');
    switch (kind) {
    case 'f':
        if (size == 2)
            wf_str_puts(b, " (float16)");
        else if (size == 12 || size == 16)
            wf_str_puts(b, " (long double)");
        break;
    case 'i':
    case 'u':
        if (size == 1 || size == 2 || size == 4 || size == 8)
            wf_str_printf(b, " (%sint%d)", kind == 'u' ? "u" : "", size * 8);
        break;
    case 'c':
        if (size == 8 || size == 16 || size == 32)
            wf_str_printf(b, " (complex%d)", size * 8);
        break;
    case 'b':
        wf_str_puts(b, " (bool)");
        break;
    case 'O':
        wf_str_puts(b, " (Python objects)");
        break;
    case 'U':
    case 'S':
        wf_str_puts(b, " (strings)");
        break;
    case 'M':
    case 'm':
        wf_str_puts(b, kind == 'M' ? " (datetime64)" : " (timedelta64)");
        break;
    }
}

/* Sets *bytes and *big for '<f4', '>f8', native 'f4', ... or reports. */
static int read_dtype(hdr *h, int *bytes, int *big)
{
    const unsigned char *s = h->descr;
    size_t n = h->descr_len;
    int order = '=';
    if (n && (s[0] == '<' || s[0] == '>' || s[0] == '=' || s[0] == '|')) {
        order = s[0];
        s++;
        n--;
    }
    *big = order == '>' || (order != '<' && host_big_endian());
    if (n == 2 && s[0] == 'f' && (s[1] == '4' || s[1] == '8')) {
        *bytes = s[1] - '0';
        return 0;
    }
    wf_str q = {0};
    put_quoted(&q, '\'', h->descr, h->descr_len, 32);
    dtype_name(&q, s, n);
    wf_report_npy_dtype(h->d, WF_NOWHERE, NULL, h->name, q.s);
    wf_str_free(&q);
    return -1;
}

/* ------------------------------------------------------------ reading */

static int truncated(const char *name, wf_diags *d, const char *part, size_t end, size_t len)
{
    wf_report_npy_truncated(d, WF_NOWHERE, NULL, name, len, part, end);
    return -1;
}

/* Bytes in file order to wf_real; values outside float32's range become
 * infinities in the float32 build (IEEE conversion). */
static void decode(const unsigned char *src, int64_t count, int bytes, int big, wf_real *dst)
{
    for (int64_t i = 0; i < count; i++, src += bytes) {
        uint64_t v = 0;
        for (int k = 0; k < bytes; k++)
            v = v << 8 | src[big ? k : bytes - 1 - k];
        if (bytes == 4) {
            uint32_t u = (uint32_t)v;
            float f;
            memcpy(&f, &u, sizeof f);
            dst[i] = (wf_real)f;
        } else {
            double x;
            memcpy(&x, &v, sizeof x);
            dst[i] = (wf_real)x;
        }
    }
}

int wf_npy_parse(const char *name, const unsigned char *bytes, size_t len, wf_npy *info,
                 wf_real **data, wf_diags *d)
{
    if (len == 0) {
        wf_report_empty_npy(d, WF_NOWHERE, NULL, name);
        return -1;
    }
    if (memcmp(bytes, npy_magic, len < 6 ? len : 6) != 0) {
        if (len >= 4 && !memcmp(bytes, "PK\3\4", 4))
            wf_report_npz_not_npy(d, WF_NOWHERE, NULL, name);
        else
            wf_report_not_npy(d, WF_NOWHERE, NULL, name);
        return -1;
    }
    if (len < 8)
        return truncated(name, d, "the magic string and version", 8, len);
    int major = bytes[6], minor = bytes[7];
    if (major < 1 || major > 3 || minor != 0) {
        wf_report_npy_version(d, WF_NOWHERE, NULL, name, major, minor);
        return -1;
    }
    size_t field = major == 1 ? 2 : 4;
    if (len < 8 + field)
        return truncated(name, d, "the header length field", 8 + field, len);
    size_t hlen = 0;
    for (size_t i = field; i-- > 0;)
        hlen = hlen << 8 | bytes[8 + i];
    size_t off = 8 + field;
    if (hlen > len - off)
        return truncated(name, d, "the header", off + hlen, len);

    hdr h = {.name = name, .s = bytes + off, .len = hlen, .base = off, .major = major, .d = d};
    int dbytes, big;
    if (read_header(&h) || read_dtype(&h, &dbytes, &big))
        return -1;
    if (h.ndim > WF_NPY_MAX_DIMS) {
        wf_report_npy_too_many_dimensions(d, WF_NOWHERE, NULL, name, h.ndim, WF_NPY_MAX_DIMS);
        return -1;
    }
    int ndim = (int)h.ndim;
    char shape[WF_NPY_MAX_DIMS * 22 + 3];
    shape_text(h.shape, ndim, shape, sizeof shape);
    /* Bounded so that the byte counts of the file's data and of the
     * converted values fit in both int64_t and size_t. */
    const uint64_t max_bytes = (uint64_t)INT64_MAX < SIZE_MAX ? (uint64_t)INT64_MAX : SIZE_MAX;
    int64_t count = shape_count(h.shape, ndim, (int64_t)(max_bytes / 8));
    if (count < 0) {
        wf_report_npy_too_large(d, WF_NOWHERE, NULL, name, shape);
        return -1;
    }
    int above_one = 0;
    for (int i = 0; i < ndim; i++)
        above_one += h.shape[i] > 1;
    /* With at most one dimension above 1 the two orders lay out the same bytes. */
    if (h.fortran && above_one > 1) {
        wf_report_npy_fortran_order(d, WF_NOWHERE, NULL, name, shape);
        return -1;
    }
    size_t need = (size_t)count * (size_t)dbytes, have = len - off - hlen;
    if (need > have) {
        wf_report_npy_short_data(d, WF_NOWHERE, NULL, name, (long long)count, dbytes * 8, need,
                                 have);
        return -1;
    }
    wf_real *v = wf_aalloc((size_t)count * sizeof *v);
    decode(bytes + off + hlen, count, dbytes, big, v);
    info->ndim = ndim;
    memset(info->shape, 0, sizeof info->shape);
    memcpy(info->shape, h.shape, (size_t)ndim * sizeof h.shape[0]);
    info->count = count;
    info->dtype_bytes = dbytes;
    *data = v;
    return 0;
}

int wf_npy_load(const char *path, wf_npy *info, wf_real **data, wf_diags *d)
{
    /* wf_read_file reports a failed read as EIO, which would hide why */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        wf_report_cannot_read_npy(d, WF_NOWHERE, NULL, path, strerror(EISDIR));
        return -1;
    }
    size_t len;
    char *bytes = wf_read_file(path, &len);
    if (!bytes) {
        wf_report_cannot_read_npy(d, WF_NOWHERE, NULL, path, strerror(errno));
        return -1;
    }
    int rc = wf_npy_parse(path, (const unsigned char *)bytes, len, info, data, d);
    free(bytes);
    return rc;
}

/* ------------------------------------------------------------ writing */

/* An unsigned integer as wide as wf_real, to write its bytes in little-endian
 * order whatever the host's. */
#ifdef WF_REAL_DOUBLE
typedef uint64_t real_bits;
#else
typedef uint32_t real_bits;
#endif

void wf_npy_encode(const wf_real *data, int ndim, const int64_t *shape, unsigned char **bytes,
                   size_t *len)
{
    wf_str h = {0};
    wf_str_printf(&h, "{'descr': '<f%d', 'fortran_order': False, 'shape': (", (int)sizeof *data);
    int64_t count = shape_count(shape, ndim, INT64_MAX);
    for (int i = 0; i < ndim; i++)
        wf_str_printf(&h, "%s%" PRId64, i ? ", " : "", shape[i]);
    wf_str_puts(&h, ndim == 1 ? ",), }" : "), }");
    if (ndim > 0) {
        int digits = snprintf(NULL, 0, "%" PRId64, shape[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++)
            wf_str_putc(&h, ' ');
    }
    /* numpy's _wrap_header: 1 to 64 spaces, then the newline. With at most 8
     * dimensions the header stays far below 65536 bytes, so version 1.0 (a
     * 2-byte length) always fits and 2.0 is never needed. */
    size_t pad = NPY_ALIGN - (10 + h.len + 1) % NPY_ALIGN;
    for (size_t i = 0; i < pad; i++)
        wf_str_putc(&h, ' ');
    wf_str_putc(&h, '\n');

    size_t nbytes = (size_t)count * sizeof *data;
    unsigned char *out = wf_xmalloc(10 + h.len + nbytes);
    memcpy(out, npy_magic, 6);
    out[6] = 1;
    out[7] = 0;
    out[8] = (unsigned char)(h.len & 0xff);
    out[9] = (unsigned char)(h.len >> 8);
    memcpy(out + 10, h.s, h.len);
    unsigned char *p = out + 10 + h.len;
    for (int64_t i = 0; i < count; i++) {
        real_bits v;
        memcpy(&v, &data[i], sizeof v);
        for (size_t k = 0; k < sizeof v; k++, v >>= 8)
            *p++ = (unsigned char)(v & 0xff);
    }
    *len = 10 + h.len + nbytes;
    *bytes = out;
    wf_str_free(&h);
}

int wf_npy_save(const char *path, const wf_real *data, int ndim, const int64_t *shape,
                wf_diags *d)
{
    unsigned char *bytes;
    size_t len;
    wf_npy_encode(data, ndim, shape, &bytes, &len);
    int rc = wf_write_file_atomic(path, bytes, len);
    if (rc)
        wf_report_cannot_write_npy(d, WF_NOWHERE, NULL, path, strerror(errno));
    free(bytes);
    return rc ? -1 : 0;
}

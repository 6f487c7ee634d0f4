/* Small shared helpers: checked allocation, growable strings, whole-file reads
 * and atomic file writes. */
#define _XOPEN_SOURCE 700
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static void out_of_memory(size_t n)
{
    fprintf(stderr, "weft: error: out of memory (asked for %zu bytes)\n", n);
    exit(70);
}

void *wf_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *wf_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *wf_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *wf_xstrdup(const char *s)
{
    return wf_xstrndup(s, strlen(s));
}

char *wf_xstrndup(const char *s, size_t n)
{
    char *d = wf_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* The machine's memory in bytes, or SIZE_MAX when it cannot say. */
static size_t memory_size(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || size <= 0 || (unsigned long)pages > SIZE_MAX / (unsigned long)size)
        return SIZE_MAX;
    return (size_t)pages * (size_t)size;
}

void *wf_aalloc_try(size_t n)
{
    /* more than the machine has is refused before asking: the kernel might
     * promise it, and the pages would then be missing when touched */
    if (n > SIZE_MAX - 64 || n > memory_size())
        return NULL;
    size_t rounded = (n + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (p)
        memset(p, 0, rounded ? rounded : 64);
    return p;
}

void *wf_aalloc(size_t n)
{
    void *p = wf_aalloc_try(n);
    if (!p)
        out_of_memory(n);
    return p;
}

void wf_afree(void *p)
{
    free(p);
}

static void str_reserve(wf_str *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap * 2 : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->s = wf_xrealloc(b->s, cap);
    b->cap = cap;
}

void wf_str_putn(wf_str *b, const char *s, size_t n)
{
    str_reserve(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void wf_str_putc(wf_str *b, char c)
{
    wf_str_putn(b, &c, 1);
}

void wf_str_puts(wf_str *b, const char *s)
{
    wf_str_putn(b, s, strlen(s));
}

void wf_str_printf(wf_str *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    str_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void wf_str_json(wf_str *b, const char *s)
{
    wf_str_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            wf_str_putc(b, '\\');
            wf_str_putc(b, (char)*p);
        } else if (*p == '\n') {
            wf_str_puts(b, "\\n");
        } else if (*p < 0x20) {
            wf_str_printf(b, "\\u%04x", *p);
        } else {
            wf_str_putc(b, (char)*p);
        }
    }
    wf_str_putc(b, '"');
}

void wf_str_html(wf_str *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': wf_str_puts(b, "&amp;"); break;
        case '<': wf_str_puts(b, "&lt;"); break;
        case '>': wf_str_puts(b, "&gt;"); break;
        case '"': wf_str_puts(b, "&quot;"); break;
        case '\'': wf_str_puts(b, "&#39;"); break;
        default: wf_str_putc(b, *s);
        }
    }
}

void wf_str_base64(wf_str *b, const void *data, size_t n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    size_t out = (n + 2) / 3 * 4;
    str_reserve(b, out);
    char *o = b->s + b->len;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = digits[v >> 18];
        *o++ = digits[v >> 12 & 63];
        *o++ = i + 1 < n ? digits[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? digits[v & 63] : '=';
    }
    b->len += out;
    b->s[b->len] = 0;
}

void wf_str_free(wf_str *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

char *wf_read_stream(FILE *f, size_t *len)
{
    wf_str b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        wf_str_putn(&b, chunk, n);
    if (ferror(f)) {
        wf_str_free(&b);
        errno = EIO;
        return NULL;
    }
    if (!b.s)
        b.s = wf_xstrdup("");
    if (len)
        *len = b.len;
    return b.s;
}

char *wf_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = wf_read_stream(f, len);
    int e = errno;
    fclose(f);
    errno = e;
    return text;
}

char *wf_temp_path_for(const char *path)
{
    wf_str b = {0};
    const char *slash = strrchr(path, '/');
    if (slash)
        wf_str_putn(&b, path, (size_t)(slash - path + 1));
    wf_str_printf(&b, ".%s.tmp%ld", slash ? slash + 1 : path, (long)getpid());
    return b.s;
}

char *wf_atomic_target(const char *path, int *direct)
{
    struct stat st;
    *direct = 0;
    if (lstat(path, &st) != 0)
        return wf_xstrdup(path);
    if (S_ISLNK(st.st_mode)) {
        /* replace what the link points to, and keep the link */
        char *real = realpath(path, NULL);
        if (!real) {
            /* a dangling link: write the file it names */
            char buf[4096];
            ssize_t n = readlink(path, buf, sizeof buf - 1);
            if (n <= 0)
                return wf_xstrdup(path);
            buf[n] = 0;
            wf_str b = {0};
            const char *slash = strrchr(path, '/');
            if (buf[0] != '/' && slash)
                wf_str_putn(&b, path, (size_t)(slash - path + 1));
            wf_str_puts(&b, buf);
            return b.s;
        }
        char *r = wf_atomic_target(real, direct);
        free(real);
        return r;
    }
    if (!S_ISREG(st.st_mode))
        *direct = 1; /* a device or a pipe: renaming over it would destroy it */
    return wf_xstrdup(path);
}

static int write_all(int fd, const char *p, size_t left)
{
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    return 0;
}

/* Writes data to a new temporary file beside target; its name, or NULL with
 * errno set. */
static char *write_temp(const char *target, const void *data, size_t len)
{
    char *tmp = wf_temp_path_for(target);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        free(tmp);
        return NULL;
    }
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        errno = e;
        return NULL;
    }
    return tmp;
}

static int write_direct(const char *target, const void *data, size_t len)
{
    int fd = open(target, O_WRONLY);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, data, len);
    int e = errno;
    if (close(fd) != 0 && rc == 0)
        return -1;
    errno = e;
    return rc;
}

int wf_stage_add(wf_stage *s, const char *path, const void *data, size_t len)
{
    int direct;
    char *target = wf_atomic_target(path, &direct);
    char *tmp = NULL;
    unsigned char *copy = NULL;
    if (direct) { /* a device or pipe: written in place when committing */
        copy = wf_xmalloc(len ? len : 1);
        memcpy(copy, data, len);
    } else if (!(tmp = write_temp(target, data, len))) {
        int e = errno;
        free(target);
        errno = e;
        return -1;
    }
    s->v = wf_xrealloc(s->v, sizeof *s->v * (size_t)(s->n + 1));
    s->v[s->n++] = (wf_staged){tmp, target, copy, len};
    return 0;
}

int wf_stage_commit(wf_stage *s, char **failed)
{
    int rc = 0;
    for (int i = 0; i < s->n && rc == 0; i++) {
        wf_staged *f = &s->v[i];
        rc = f->tmp ? rename(f->tmp, f->dst) : write_direct(f->dst, f->data, f->len);
        if (rc && failed)
            *failed = wf_xstrdup(f->dst);
        if (rc == 0 && f->tmp) {
            free(f->tmp);
            f->tmp = NULL;
        }
    }
    int e = errno;
    wf_stage_abort(s);
    errno = e;
    return rc;
}

void wf_stage_abort(wf_stage *s)
{
    for (int i = 0; i < s->n; i++) {
        if (s->v[i].tmp)
            unlink(s->v[i].tmp);
        free(s->v[i].tmp);
        free(s->v[i].dst);
        free(s->v[i].data);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

int wf_write_file_atomic(const char *path, const void *data, size_t len)
{
    wf_stage s = {0};
    if (wf_stage_add(&s, path, data, len))
        return -1;
    return wf_stage_commit(&s, NULL);
}

char *wf_path_in(const char *dir, const char *file)
{
    if (file[0] == '/' || !dir || !dir[0] || strcmp(dir, ".") == 0)
        return wf_xstrdup(file);
    wf_str b = {0};
    wf_str_printf(&b, "%s/%s", dir, file);
    return b.s;
}

/* path made absolute (from the current folder) and split into its
 * components, "." and ".." resolved. */
static int split_abs(const char *path, char ***parts)
{
    wf_str full = {0};
    if (path[0] != '/') {
        char cwd[4096];
        if (getcwd(cwd, sizeof cwd))
            wf_str_puts(&full, cwd);
        wf_str_putc(&full, '/');
    }
    wf_str_puts(&full, path);
    int n = 0;
    *parts = wf_xmalloc(sizeof(char *) * (full.len / 2 + 2));
    for (char *tok = strtok(full.s, "/"); tok; tok = strtok(NULL, "/")) {
        if (strcmp(tok, ".") == 0)
            continue;
        if (strcmp(tok, "..") == 0) {
            if (n > 0)
                free((*parts)[--n]);
            continue;
        }
        (*parts)[n++] = wf_xstrdup(tok);
    }
    wf_str_free(&full);
    return n;
}

char *wf_path_relative(const char *from, const char *path)
{
    char **a, **b;
    int na = split_abs(from, &a), nb = split_abs(path, &b), k = 0;
    while (k < na && k < nb && strcmp(a[k], b[k]) == 0)
        k++;
    wf_str r = {0};
    for (int i = k; i < na; i++)
        wf_str_puts(&r, "../");
    for (int i = k; i < nb; i++)
        wf_str_printf(&r, "%s%s", b[i], i + 1 < nb ? "/" : "");
    for (int i = 0; i < na; i++)
        free(a[i]);
    for (int i = 0; i < nb; i++)
        free(b[i]);
    free(a);
    free(b);
    return r.s ? r.s : wf_xstrdup(".");
}

int wf_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 1000;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int sub = prev + (a[i - 1] != b[j - 1]);
            int del = row[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            prev = cur;
        }
    }
    return row[lb];
}

double wf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

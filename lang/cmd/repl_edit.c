/* The REPL's line editor (repl.h): libedit in emacs mode with the history
 * kept in the user's data folder, Ctrl-R searching it, and tab completion
 * from what the entry says so far: `:commands`, then file paths after the
 * commands that take files and inside strings, a call's named arguments
 * inside its brackets, and otherwise node names (the registry), the
 * session's defs, bindings, params and inputs, and the keywords. libedit
 * rather than GNU readline: it is BSD-licensed, like everything weft links. */
#define _POSIX_C_SOURCE 200809L
#include "lang/cmd/repl.h"

#include <dirent.h>
#include <errno.h>
#include <histedit.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/node.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

struct wf_repl_edit {
    EditLine *el;
    History *h;
    char *history_path;
    wf_session *s;
    const char *pending;
    const char *prompt;
};

/* ----------------------------------------------------------- the entry */

/* Scans text as the lexer would for what matters here: strings, comments,
 * brackets. *open_at (if not NULL) gets the offset of the innermost
 * bracket left open, or -1; *in_string the offset after an open string's
 * quote, or -1. Returns the brackets left open. */
static int scan(const char *text, int *open_at, int *in_string)
{
    int stack[256], depth = 0, str = -1;
    for (int i = 0; text[i]; i++) {
        char c = text[i];
        if (str >= 0) {
            if (c == '\\' && text[i + 1])
                i++;
            else if (c == '"')
                str = -1;
            else if (c == '\n')
                str = -1; /* a string ends with its line (the lexer reports it) */
            continue;
        }
        if (c == '"')
            str = i + 1;
        else if (c == '#')
            while (text[i + 1] && text[i + 1] != '\n')
                i++;
        else if (c == '(' || c == '[' || c == '{') {
            if (depth < 256)
                stack[depth] = i;
            depth++;
        } else if ((c == ')' || c == ']' || c == '}') && depth > 0)
            depth--;
    }
    if (open_at)
        *open_at = depth > 0 && depth <= 256 ? stack[depth - 1] : -1;
    if (in_string)
        *in_string = str;
    return depth;
}

int wf_repl_open_brackets(const char *text)
{
    return scan(text, NULL, NULL);
}

/* ---------------------------------------------------------- completion */

typedef struct words {
    char **v;
    int n;
} words;

static void add(words *w, const char *prefix, size_t plen, const char *name, const char *suffix)
{
    if (strncmp(name, prefix, plen) != 0)
        return;
    wf_str b = {0};
    wf_str_puts(&b, name);
    wf_str_puts(&b, suffix);
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->v[i], b.s) == 0) {
            wf_str_free(&b);
            return;
        }
    w->v = wf_xrealloc(w->v, sizeof *w->v * (size_t)(w->n + 2));
    w->v[w->n++] = b.s;
    w->v[w->n] = NULL;
}

void wf_repl_free_words(char **w)
{
    for (int i = 0; w && w[i]; i++)
        free(w[i]);
    free(w);
}

static int is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Files and folders whose path starts with the word. */
static void add_paths(words *w, const char *word)
{
    const char *slash = strrchr(word, '/');
    char *dir = slash ? wf_xstrndup(word, (size_t)(slash - word) + 1) : wf_xstrdup("");
    const char *base = slash ? slash + 1 : word;
    DIR *d = opendir(dir[0] ? dir : ".");
    if (d) {
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.' && base[0] != '.')
                continue;
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (strncmp(e->d_name, base, strlen(base)) != 0)
                continue;
            wf_str p = {0};
            wf_str_printf(&p, "%s%s", dir, e->d_name);
            struct stat st;
            int folder = stat(p.s, &st) == 0 && S_ISDIR(st.st_mode);
            add(w, "", 0, p.s, folder ? "/" : "");
            wf_str_free(&p);
        }
        closedir(d);
    }
    free(dir);
}

static const char *const keywords[] = {"rate", "frames", "length", "param", "input", "out",
                                       "def", "use", "return", NULL};

/* The session's names: defs (called), bindings, params and inputs. */
static void add_names(words *w, wf_session *s, const char *word, size_t len)
{
    for (int i = 0; i < WF_NODE_COUNT; i++)
        if (!(wf_registry[i]->flags & WF_KIND_INTERNAL))
            add(w, word, len, wf_registry[i]->name, "(");
    int n = wf_session_count(s);
    for (int i = 0; i < n; i++) {
        const wf_stmt *st = wf_session_stmt(s, i);
        if (st->kind == WF_ST_DEF)
            add(w, word, len, st->name, "(");
        else if (st->kind == WF_ST_BIND || st->kind == WF_ST_PARAM || st->kind == WF_ST_INPUT)
            add(w, word, len, st->name, "");
    }
}

/* The named arguments of the call whose bracket opens at `open` in text. */
static void add_args(words *w, wf_session *s, const char *text, int open, const char *word,
                     size_t len)
{
    int b = open;
    while (b > 0 && text[b - 1] == ' ')
        b--;
    int a = b;
    while (a > 0 && is_word_char(text[a - 1]))
        a--;
    if (a == b || text[open] != '(')
        return;
    char *callee = wf_xstrndup(text + a, (size_t)(b - a));
    int k = wf_registry_find(callee);
    if (k >= 0 && !(wf_registry[k]->flags & WF_KIND_INTERNAL)) {
        const wf_node_kind *kind = wf_registry[k];
        for (int i = 0; i < kind->nargs; i++)
            add(w, word, len, kind->args[i].name, ": ");
    }
    int n = wf_session_count(s);
    for (int i = 0; i < n; i++) {
        const wf_stmt *st = wf_session_stmt(s, i);
        if (st->kind == WF_ST_DEF && strcmp(st->name, callee) == 0)
            for (const wf_formal *f = st->formals; f; f = f->next)
                add(w, word, len, f->name, ": ");
    }
    free(callee);
}

char **wf_repl_complete(wf_session *s, const char *text, int *start)
{
    words w = {0};
    size_t n = strlen(text);
    const char *line = strrchr(text, '\n');
    line = line ? line + 1 : text;
    int open, str;
    scan(text, &open, &str);
    while (*line == ' ')
        line++;
    if (line[0] == ':') {
        const char *sp = strchr(line, ' ');
        if (!sp) { /* the command itself */
            *start = (int)(line - text);
            for (int i = 0; wf_repl_commands[i]; i++)
                add(&w, line + 1, strlen(line + 1), wf_repl_commands[i], "");
            for (int i = 0; i < w.n; i++) { /* as typed: with the colon */
                char *c = wf_xmalloc(strlen(w.v[i]) + 2);
                c[0] = ':';
                strcpy(c + 1, w.v[i]);
                free(w.v[i]);
                w.v[i] = c;
            }
            return w.v;
        }
        char *cmd = wf_xstrndup(line + 1, (size_t)(sp - line - 1));
        const char *word = strrchr(line, ' ') + 1;
        *start = (int)(word - text);
        size_t len = strlen(word);
        if (strcmp(cmd, "help") == 0) {
            for (int i = 0; i < WF_NODE_COUNT; i++)
                if (!(wf_registry[i]->flags & WF_KIND_INTERNAL))
                    add(&w, word, len, wf_registry[i]->name, "");
            for (int i = 0; wf_repl_commands[i]; i++)
                add(&w, word, len, wf_repl_commands[i], "");
        } else if (strcmp(cmd, "set") == 0) {
            const wf_params *ps = wf_session_params(s);
            for (int i = 0; i < ps->n; i++)
                add(&w, word, len, ps->v[i].decl->name, " ");
        } else if (strcmp(cmd, "play") == 0 || strcmp(cmd, "render") == 0) {
            add_names(&w, s, word, len);
            if (strcmp(cmd, "render") == 0)
                add_paths(&w, word);
        } else {
            add_paths(&w, word);
        }
        free(cmd);
        return w.v;
    }
    if (str >= 0) { /* a file name */
        *start = str;
        add_paths(&w, text + str);
        return w.v;
    }
    size_t a = n;
    while (a > 0 && is_word_char(text[a - 1]))
        a--;
    *start = (int)a;
    const char *word = text + a;
    size_t len = n - a;
    if (open >= 0)
        add_args(&w, s, text, open, word, len);
    add_names(&w, s, word, len);
    for (int i = 0; keywords[i]; i++)
        add(&w, word, len, keywords[i], " ");
    return w.v;
}

/* ------------------------------------------------------------ libedit */

static char *prompt(EditLine *el)
{
    wf_repl_edit *e;
    el_get(el, EL_CLIENTDATA, &e);
    return (char *)e->prompt;
}

/* Reads a character (UTF-8) from the terminal. A Ctrl-C ends the line as
 * an error, so that el_gets returns and the REPL drops the entry: the
 * signal interrupts the wait, or, when it landed on another thread or
 * before the wait began, its byte in the wake pipe ends the wait. */
static int get_char(EditLine *el, wchar_t *wc)
{
    (void)el;
    unsigned char b[4];
    for (;;) {
        struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = wf_repl_wake, .events = POLLIN}};
        if (poll(fds, wf_repl_wake >= 0 ? 2 : 1, -1) < 0) {
            if (errno != EINTR || wf_repl_interrupted)
                return -1;
            continue;
        }
        if (wf_repl_wake >= 0 && (fds[1].revents & POLLIN))
            return -1;
        if (!fds[0].revents)
            continue;
        ssize_t got = read(0, b, 1);
        if (got == 1)
            break;
        if (got == 0)
            return 0;
        if (errno != EINTR || wf_repl_interrupted)
            return -1;
    }
    int len = b[0] < 0x80 ? 1 : b[0] >= 0xf0 ? 4 : b[0] >= 0xe0 ? 3 : b[0] >= 0xc0 ? 2 : 1;
    wchar_t c = len == 1 ? b[0] : len == 2 ? b[0] & 0x1f : len == 3 ? b[0] & 0x0f : b[0] & 0x07;
    for (int i = 1; i < len; i++) {
        if (read(0, b + i, 1) != 1)
            return -1;
        c = (c << 6) | (b[i] & 0x3f);
    }
    *wc = c;
    return 1;
}

static unsigned char complete(EditLine *el, int ch)
{
    (void)ch;
    wf_repl_edit *e;
    el_get(el, EL_CLIENTDATA, &e);
    const LineInfo *li = el_line(el);
    wf_str t = {0};
    wf_str_puts(&t, e->pending ? e->pending : "");
    wf_str_putn(&t, li->buffer, (size_t)(li->cursor - li->buffer));
    int start;
    char **c = wf_repl_complete(e->s, t.s ? t.s : "", &start);
    size_t wlen = t.len - (size_t)start;
    unsigned char rc = CC_ERROR;
    if (c && c[0]) {
        size_t common = strlen(c[0]);
        for (int i = 1; c[i]; i++) {
            size_t k = 0;
            while (k < common && c[i][k] == c[0][k])
                k++;
            common = k;
        }
        if (common > wlen) {
            char *more = wf_xstrndup(c[0] + wlen, common - wlen);
            el_insertstr(el, more);
            free(more);
            rc = CC_REFRESH;
        } else {
            /* several ways on: list them under the line */
            int width = 0, count = 0;
            for (int i = 0; c[i]; i++, count++)
                if ((int)strlen(c[i]) > width)
                    width = (int)strlen(c[i]);
            int per = 78 / (width + 2);
            per = per < 1 ? 1 : per;
            fputc('\n', stdout);
            for (int i = 0; i < count; i++)
                fprintf(stdout, "%-*s%s", width + 2, c[i], (i + 1) % per == 0 || i + 1 == count ? "\n" : "");
            fflush(stdout);
            rc = CC_REDISPLAY;
        }
    }
    wf_repl_free_words(c);
    wf_str_free(&t);
    return rc;
}

/* Makes the folders above path, as mkdir -p. */
static void make_parents(const char *path)
{
    char *p = wf_xstrdup(path);
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        mkdir(p, 0700);
        *s = '/';
    }
    free(p);
}

char *wf_repl_history_path(void)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    wf_str b = {0};
    if (xdg && xdg[0] == '/')
        wf_str_printf(&b, "%s/weft/history", xdg);
    else if (home && home[0])
        wf_str_printf(&b, "%s/.local/share/weft/history", home);
    return b.s;
}

wf_repl_edit *wf_repl_edit_open(wf_session *s, const char *history_path)
{
    wf_repl_edit *e = wf_xcalloc(1, sizeof *e);
    e->s = s;
    e->prompt = "> ";
    HistEvent ev;
    e->h = history_init();
    history(e->h, &ev, H_SETSIZE, 2000);
    history(e->h, &ev, H_SETUNIQUE, 1);
    if (history_path) {
        e->history_path = wf_xstrdup(history_path);
        make_parents(history_path);
        history(e->h, &ev, H_LOAD, history_path);
    }
    e->el = el_init("weft", stdin, stdout, stderr);
    el_set(e->el, EL_CLIENTDATA, e);
    el_set(e->el, EL_EDITOR, "emacs");
    el_set(e->el, EL_PROMPT_ESC, prompt, '\1');
    el_set(e->el, EL_HIST, history, e->h);
    el_set(e->el, EL_GETCFN, get_char);
    el_set(e->el, EL_ADDFN, "weft-complete", "complete a name, argument, command or path", complete);
    el_set(e->el, EL_BIND, "^I", "weft-complete", NULL);
    el_set(e->el, EL_BIND, "^R", "em-inc-search-prev", NULL);
    el_source(e->el, NULL); /* ~/.editrc */
    return e;
}

char *wf_repl_edit_line(wf_repl_edit *e, const char *pending, int *interrupted)
{
    e->pending = pending;
    e->prompt = pending ? "\1\033[2m\1 ...\1\033[0m\1 " : "\1\033[1;32m\1weft>\1\033[0m\1 ";
    int n;
    *interrupted = 0;
    wf_repl_interrupted = 0;
    char drop[64]; /* the wake pipe's bytes of Ctrl-Cs before this line */
    while (wf_repl_wake >= 0 && read(wf_repl_wake, drop, sizeof drop) > 0)
        ;
    const char *line = el_gets(e->el, &n);
    if (!line) {
        if (wf_repl_interrupted) {
            *interrupted = 1;
            el_reset(e->el);
            fputc('\n', stdout);
            return wf_xstrdup("");
        }
        return NULL;
    }
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    return wf_xstrndup(line, len);
}

void wf_repl_edit_remember(wf_repl_edit *e, const char *line)
{
    HistEvent ev;
    if (!line[0])
        return;
    history(e->h, &ev, H_ENTER, line);
    if (e->history_path)
        history(e->h, &ev, H_SAVE, e->history_path);
}

void wf_repl_edit_close(wf_repl_edit *e)
{
    if (!e)
        return;
    el_end(e->el);
    history_end(e->h);
    free(e->history_path);
    free(e);
}

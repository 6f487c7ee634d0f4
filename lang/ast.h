/* The syntax tree of a patch, built by the Lemon grammar through the wf_build_*
 * calls below. Every tree node lives in the parse's arena, so a syntax error
 * anywhere frees the whole tree at once. */
#ifndef WF_AST_H
#define WF_AST_H

#include <stddef.h>

#include "runtime/diag.h"

/* Bump allocator for one parse. */
typedef struct wf_arena_chunk wf_arena_chunk;
typedef struct wf_arena {
    wf_arena_chunk *head;
} wf_arena;

void *wf_arena_alloc(wf_arena *a, size_t n);
char *wf_arena_strndup(wf_arena *a, const char *s, size_t n);
void wf_arena_free(wf_arena *a);

/* Units a number literal may carry; see docs/language.md. */
typedef enum { WF_UNIT_NONE, WF_UNIT_HZ, WF_UNIT_KHZ, WF_UNIT_MS, WF_UNIT_S, WF_UNIT_DB } wf_unit;

/* A token as the lexer hands it to the parser. */
typedef struct wf_tok {
    wf_loc loc;
    double num;   /* NUMBER: the literal as written, before its unit */
    int unit;     /* NUMBER: wf_unit */
    const char *text; /* IDENT, STRING: arena copy (string without quotes, unescaped) */
} wf_tok;

typedef enum {
    WF_AST_NUM,
    WF_AST_STR,
    WF_AST_NAME,
    WF_AST_VEC,
    WF_AST_NEG,
    WF_AST_BIN,
    WF_AST_CALL,
} wf_ast_kind;

typedef struct wf_ast wf_ast;

typedef struct wf_arg {
    const char *name; /* NULL for positional */
    wf_loc name_loc;
    wf_ast *value;
    struct wf_arg *next, *tail; /* tail: kept on the list head while building */
} wf_arg;

typedef struct wf_item {
    wf_ast *value;
    struct wf_item *next, *tail;
} wf_item;

struct wf_ast {
    wf_ast_kind kind;
    wf_loc loc;       /* the token to underline: literal, name, operator */
    int start, end;   /* byte span of the whole expression */
    int first_line, last_line; /* lines of its first and last token */
    int paren;        /* written in ( ): -(30 db) negates the gain of 30 dB */
    union {
        struct {
            double value; /* as written */
            wf_unit unit;
        } num;
        const char *str;
        const char *name;
        wf_item *items;
        wf_ast *operand;
        struct {
            char op;
            wf_ast *l, *r;
        } bin;
        struct {
            const char *name;
            wf_arg *args;
        } call;
    } u;
};

typedef enum {
    WF_ST_RATE,
    WF_ST_FRAMES,
    WF_ST_LENGTH,
    WF_ST_PARAM,
    WF_ST_INPUT,
    WF_ST_BIND,
    WF_ST_OUT,
    WF_ST_DEF,
    WF_ST_USE,
    WF_ST_RETURN,
} wf_stmt_kind;

typedef struct wf_formal {
    const char *name;
    wf_loc loc;
    wf_ast *dflt; /* NULL: required */
    struct wf_formal *next, *tail;
} wf_formal;

/* A note written in a patch: key (a note name such as c4, or a MIDI key
 * number), onset and duration (times), and an optional velocity. */
typedef struct wf_noteitem {
    wf_tok key, on, dur, vel;
    int has_vel;
    struct wf_noteitem *next, *tail;
} wf_noteitem;

typedef struct wf_stmt wf_stmt;
struct wf_stmt {
    wf_stmt_kind kind;
    wf_loc loc;        /* the keyword or the bound name */
    const char *name;  /* PARAM, INPUT, BIND, DEF, USE */
    wf_loc name_loc;
    wf_ast *expr;      /* value, init, out, return */
    wf_ast *size;      /* PARAM/INPUT [N] or [R, C]: a vector of counts, or NULL */
    wf_ast *lo, *hi;   /* PARAM in [lo, hi] */
    const char *scale; /* PARAM lin|log as written, or NULL */
    wf_loc scale_loc;
    int fixed;         /* PARAM `fixed`: a value, not learnt */
    const char *per;   /* PARAM `per frame`: the word after per */
    wf_loc per_loc;
    const char *from;  /* INPUT = target | "file" */
    int from_is_file;
    wf_loc from_loc;
    wf_noteitem *notes; /* INPUT = [c4 0 s 1 s, ...] */
    wf_formal *formals; /* DEF */
    wf_stmt *body;      /* DEF */
    wf_stmt *next, *tail;
};

/* The result of parsing one file. */
typedef struct wf_file_ast {
    const wf_source *src;
    wf_stmt *stmts;
    wf_arena arena;
} wf_file_ast;

/* Parses src; on syntax errors adds diagnostics and returns NULL. */
wf_file_ast *wf_parse(const wf_source *src, wf_diags *d);
void wf_file_ast_free(wf_file_ast *f);

/* Builder used by the grammar actions (lang/parser.y): one call per rule. */
struct wf_lexer;
typedef struct wf_builder {
    wf_arena *arena;
    const wf_source *src;
    wf_diags *diags;
    const struct wf_lexer *lex; /* its open brackets explain some syntax errors */
    wf_stmt *stmts, *last;
    wf_loc at; /* the token being fed, for errors Lemon reports without it */
    int failed;
} wf_builder;

wf_ast *wf_build_num(wf_builder *b, wf_tok t);
wf_ast *wf_build_str(wf_builder *b, wf_tok t);
wf_ast *wf_build_name(wf_builder *b, wf_tok t);
wf_ast *wf_build_vec(wf_builder *b, wf_tok open, wf_item *items, wf_tok close);
wf_ast *wf_build_neg(wf_builder *b, wf_tok minus, wf_ast *e);
wf_ast *wf_build_bin(wf_builder *b, wf_tok op, wf_ast *l, wf_ast *r);
wf_ast *wf_build_call(wf_builder *b, wf_tok name, wf_arg *args, wf_tok close);
wf_ast *wf_build_paren(wf_builder *b, wf_tok open, wf_ast *e, wf_tok close);
wf_item *wf_build_items(wf_builder *b, wf_item *list, wf_ast *e);
wf_arg *wf_build_args(wf_builder *b, wf_arg *list, const wf_tok *name, wf_ast *e);
wf_formal *wf_build_formals(wf_builder *b, wf_formal *list, wf_tok name, wf_ast *dflt);

wf_stmt *wf_build_setting(wf_builder *b, wf_stmt_kind k, wf_tok kw, wf_ast *e);
wf_stmt *wf_build_param(wf_builder *b, wf_tok kw, wf_tok name, wf_ast *size, wf_ast *init,
                        wf_stmt *opts);
wf_stmt *wf_build_param_bounds(wf_builder *b, wf_stmt *opts, wf_tok in, wf_ast *lo, wf_ast *hi);
wf_stmt *wf_build_param_scale(wf_builder *b, wf_stmt *opts, wf_tok scale);
wf_stmt *wf_build_param_per(wf_builder *b, wf_stmt *opts, wf_tok per, wf_tok unit);
wf_stmt *wf_build_input(wf_builder *b, wf_tok kw, wf_tok name, wf_ast *size, const wf_tok *from,
                        int from_is_file);
wf_stmt *wf_build_input_notes(wf_builder *b, wf_tok kw, wf_tok name, wf_ast *size, wf_tok open,
                              wf_noteitem *notes);
wf_noteitem *wf_build_note(wf_builder *b, wf_tok key, wf_tok on, wf_tok dur, const wf_tok *vel);
wf_noteitem *wf_build_notes(wf_builder *b, wf_noteitem *list, wf_noteitem *n);
wf_stmt *wf_build_bind(wf_builder *b, wf_tok name, wf_ast *e);
wf_stmt *wf_build_out(wf_builder *b, wf_tok kw, wf_ast *e);
wf_stmt *wf_build_return(wf_builder *b, wf_tok kw, wf_ast *e);
wf_stmt *wf_build_def(wf_builder *b, wf_tok kw, wf_tok name, wf_formal *formals, wf_stmt *body);
wf_stmt *wf_build_use(wf_builder *b, wf_tok kw, wf_tok name);
wf_stmt *wf_build_stmts(wf_builder *b, wf_stmt *list, wf_stmt *s);
void wf_build_top(wf_builder *b, wf_stmt *s);
void wf_parse_syntax_error(wf_builder *b, int type, wf_tok t);
void wf_parse_too_deep(wf_builder *b);

#endif

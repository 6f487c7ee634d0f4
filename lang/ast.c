/* The syntax tree: its arena, the builder calls made by the grammar actions,
 * and the parse driver that feeds the lexer's tokens to the Lemon parser. */
#include "lang/ast.h"

#include <stdlib.h>
#include <string.h>

#include "lang/lex.h"
#include "lang/parser.h"
#include "runtime/util.h"

/* Lemon's generated entry points (it writes no prototypes of its own). */
void *wf_lemonAlloc(void *(*alloc)(size_t));
void wf_lemon(void *parser, int type, wf_tok tok, wf_builder *b);
void wf_lemonFree(void *parser, void (*release)(void *));

struct wf_arena_chunk {
    wf_arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

void *wf_arena_alloc(wf_arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (!a->head || a->head->used + n > a->head->cap) {
        size_t cap = n > 16384 ? n : 16384;
        wf_arena_chunk *c = wf_xmalloc(sizeof *c + cap);
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

char *wf_arena_strndup(wf_arena *a, const char *s, size_t n)
{
    char *d = wf_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

void wf_arena_free(wf_arena *a)
{
    while (a->head) {
        wf_arena_chunk *n = a->head->next;
        free(a->head);
        a->head = n;
    }
}

static wf_ast *node(wf_builder *b, wf_ast_kind k, wf_loc loc, int start, int end, int first_line,
                    int last_line)
{
    wf_ast *e = wf_arena_alloc(b->arena, sizeof *e);
    e->kind = k;
    e->loc = loc;
    e->start = start;
    e->end = end;
    e->first_line = first_line;
    e->last_line = last_line;
    return e;
}

static int tok_end(wf_tok t)
{
    return t.loc.off + t.loc.len;
}

wf_ast *wf_build_num(wf_builder *b, wf_tok t)
{
    wf_ast *e = node(b, WF_AST_NUM, t.loc, t.loc.off, tok_end(t), t.loc.line, t.loc.line);
    e->u.num.value = t.num;
    e->u.num.unit = (wf_unit)t.unit;
    return e;
}

wf_ast *wf_build_str(wf_builder *b, wf_tok t)
{
    wf_ast *e = node(b, WF_AST_STR, t.loc, t.loc.off, tok_end(t), t.loc.line, t.loc.line);
    e->u.str = t.text;
    return e;
}

wf_ast *wf_build_name(wf_builder *b, wf_tok t)
{
    wf_ast *e = node(b, WF_AST_NAME, t.loc, t.loc.off, tok_end(t), t.loc.line, t.loc.line);
    e->u.name = t.text;
    return e;
}

wf_ast *wf_build_vec(wf_builder *b, wf_tok open, wf_item *items, wf_tok close)
{
    wf_loc loc = open.loc;
    if (close.loc.line == open.loc.line)
        loc.len = tok_end(close) - open.loc.off;
    wf_ast *e = node(b, WF_AST_VEC, loc, open.loc.off, tok_end(close), open.loc.line,
                     close.loc.line);
    e->u.items = items;
    return e;
}

wf_ast *wf_build_neg(wf_builder *b, wf_tok minus, wf_ast *x)
{
    wf_ast *e = node(b, WF_AST_NEG, minus.loc, minus.loc.off, x->end, minus.loc.line, x->last_line);
    e->u.operand = x;
    return e;
}

wf_ast *wf_build_bin(wf_builder *b, wf_tok op, wf_ast *l, wf_ast *r)
{
    wf_ast *e = node(b, WF_AST_BIN, op.loc, l->start, r->end, l->first_line, r->last_line);
    e->u.bin.op = b->src->text[op.loc.off];
    e->u.bin.l = l;
    e->u.bin.r = r;
    return e;
}

wf_ast *wf_build_call(wf_builder *b, wf_tok name, wf_arg *args, wf_tok close)
{
    wf_ast *e = node(b, WF_AST_CALL, name.loc, name.loc.off, tok_end(close), name.loc.line,
                     close.loc.line);
    e->u.call.name = name.text;
    e->u.call.args = args;
    return e;
}

wf_ast *wf_build_paren(wf_builder *b, wf_tok open, wf_ast *x, wf_tok close)
{
    (void)b;
    x->start = open.loc.off;
    x->end = tok_end(close);
    x->first_line = open.loc.line;
    x->last_line = close.loc.line;
    x->paren = 1;
    return x;
}

wf_item *wf_build_items(wf_builder *b, wf_item *list, wf_ast *x)
{
    wf_item *it = wf_arena_alloc(b->arena, sizeof *it);
    it->value = x;
    if (!list) {
        it->tail = it;
        return it;
    }
    list->tail->next = it;
    list->tail = it;
    return list;
}

wf_arg *wf_build_args(wf_builder *b, wf_arg *list, const wf_tok *name, wf_ast *x)
{
    wf_arg *a = wf_arena_alloc(b->arena, sizeof *a);
    a->value = x;
    if (name) {
        a->name = name->text;
        a->name_loc = name->loc;
    }
    if (!list) {
        a->tail = a;
        return a;
    }
    list->tail->next = a;
    list->tail = a;
    return list;
}

wf_formal *wf_build_formals(wf_builder *b, wf_formal *list, wf_tok name, wf_ast *dflt)
{
    wf_formal *f = wf_arena_alloc(b->arena, sizeof *f);
    f->name = name.text;
    f->loc = name.loc;
    f->dflt = dflt;
    if (!list) {
        f->tail = f;
        return f;
    }
    list->tail->next = f;
    list->tail = f;
    return list;
}

static wf_stmt *stmt(wf_builder *b, wf_stmt_kind k, wf_loc loc)
{
    wf_stmt *s = wf_arena_alloc(b->arena, sizeof *s);
    s->kind = k;
    s->loc = loc;
    return s;
}

wf_stmt *wf_build_setting(wf_builder *b, wf_stmt_kind k, wf_tok kw, wf_ast *e)
{
    wf_stmt *s = stmt(b, k, kw.loc);
    s->expr = e;
    return s;
}

wf_stmt *wf_build_param(wf_builder *b, wf_tok kw, wf_tok name, wf_ast *size, wf_ast *init,
                        wf_stmt *opts)
{
    wf_stmt *s = opts ? opts : stmt(b, WF_ST_PARAM, kw.loc);
    s->kind = WF_ST_PARAM;
    s->loc = kw.loc;
    s->name = name.text;
    s->name_loc = name.loc;
    s->size = size;
    s->expr = init;
    return s;
}

/* Options after a param's initial value accumulate in one record; a repeated
 * option is reported here, where both places are known. */
static wf_stmt *param_opts(wf_builder *b, wf_stmt *opts, wf_loc loc)
{
    return opts ? opts : stmt(b, WF_ST_PARAM, loc);
}

wf_stmt *wf_build_param_bounds(wf_builder *b, wf_stmt *opts, wf_tok in, wf_ast *lo, wf_ast *hi)
{
    wf_stmt *s = param_opts(b, opts, in.loc);
    if (s->lo)
        wf_report_repeated_bounds(b->diags, in.loc, NULL);
    s->lo = lo;
    s->hi = hi;
    return s;
}

wf_stmt *wf_build_param_scale(wf_builder *b, wf_stmt *opts, wf_tok scale)
{
    wf_stmt *s = param_opts(b, opts, scale.loc);
    if (strcmp(scale.text, "fixed") == 0) {
        if (s->fixed)
            wf_report_repeated_fixed(b->diags, scale.loc, NULL);
        s->fixed = 1;
        return s;
    }
    if (s->scale)
        wf_report_repeated_scale(b->diags, scale.loc, NULL, s->scale);
    s->scale = scale.text;
    s->scale_loc = scale.loc;
    return s;
}

wf_stmt *wf_build_param_per(wf_builder *b, wf_stmt *opts, wf_tok per, wf_tok unit)
{
    wf_stmt *s = param_opts(b, opts, per.loc);
    if (s->per)
        wf_report_repeated_per(b->diags, per.loc, NULL, s->per);
    s->per = unit.text;
    s->per_loc = unit.loc;
    return s;
}

wf_stmt *wf_build_input(wf_builder *b, wf_tok kw, wf_tok name, wf_ast *size, const wf_tok *from,
                        int from_is_file)
{
    wf_stmt *s = stmt(b, WF_ST_INPUT, kw.loc);
    s->name = name.text;
    s->name_loc = name.loc;
    s->size = size;
    if (from) {
        s->from = from->text;
        s->from_loc = from->loc;
        s->from_is_file = from_is_file;
    }
    return s;
}

wf_stmt *wf_build_input_notes(wf_builder *b, wf_tok kw, wf_tok name, wf_ast *size, wf_tok open,
                              wf_noteitem *notes)
{
    wf_stmt *s = wf_build_input(b, kw, name, size, NULL, 0);
    s->from_loc = open.loc;
    s->notes = notes;
    return s;
}

wf_noteitem *wf_build_note(wf_builder *b, wf_tok key, wf_tok on, wf_tok dur, const wf_tok *vel)
{
    wf_noteitem *n = wf_arena_alloc(b->arena, sizeof *n);
    n->key = key;
    n->on = on;
    n->dur = dur;
    if (vel) {
        n->vel = *vel;
        n->has_vel = 1;
    }
    return n;
}

wf_noteitem *wf_build_notes(wf_builder *b, wf_noteitem *list, wf_noteitem *n)
{
    (void)b;
    if (!list) {
        n->tail = n;
        return n;
    }
    list->tail->next = n;
    list->tail = n;
    return list;
}

wf_stmt *wf_build_bind(wf_builder *b, wf_tok name, wf_ast *e)
{
    wf_stmt *s = stmt(b, WF_ST_BIND, name.loc);
    s->name = name.text;
    s->name_loc = name.loc;
    s->expr = e;
    return s;
}

wf_stmt *wf_build_out(wf_builder *b, wf_tok kw, wf_ast *e)
{
    wf_stmt *s = stmt(b, WF_ST_OUT, kw.loc);
    s->expr = e;
    return s;
}

wf_stmt *wf_build_return(wf_builder *b, wf_tok kw, wf_ast *e)
{
    wf_stmt *s = stmt(b, WF_ST_RETURN, kw.loc);
    s->expr = e;
    return s;
}

wf_stmt *wf_build_def(wf_builder *b, wf_tok kw, wf_tok name, wf_formal *formals, wf_stmt *body)
{
    wf_stmt *s = stmt(b, WF_ST_DEF, kw.loc);
    s->name = name.text;
    s->name_loc = name.loc;
    s->formals = formals;
    s->body = body;
    return s;
}

wf_stmt *wf_build_use(wf_builder *b, wf_tok kw, wf_tok name)
{
    wf_stmt *s = stmt(b, WF_ST_USE, kw.loc);
    s->name = name.text;
    s->name_loc = name.loc;
    return s;
}

wf_stmt *wf_build_stmts(wf_builder *b, wf_stmt *list, wf_stmt *s)
{
    (void)b;
    if (!list) {
        s->tail = s;
        return s;
    }
    list->tail->next = s;
    list->tail = s;
    return list;
}

void wf_build_top(wf_builder *b, wf_stmt *s)
{
    if (b->last)
        b->last->next = s;
    else
        b->stmts = s;
    b->last = s;
}

void wf_parse_syntax_error(wf_builder *b, int type, wf_tok t)
{
    if (b->failed)
        return;
    b->failed = 1;
    const char *what = wf_lex_token_name(type);
    const char *hint = NULL;
    char open_hint[96];
    const wf_lexer *L = b->lex;
    int operand = type == WF_TK_IDENT || type == WF_TK_NUMBER || type == WF_TK_STRING;
    if (type == WF_TK_NL)
        hint = "the statement is incomplete";
    else if (operand && L && L->depth > 0 && L->nest[L->depth - 1] != '{') {
        /* Two operands in a row inside ( ) or [ ]: a comma is missing, or
         * the bracket is never closed and, newlines being ignored inside
         * it, the next statement reads as more of the same expression. */
        char o = L->nest[L->depth - 1];
        snprintf(open_hint, sizeof open_hint,
                 "inside the '%c' of line %d: a ',' or the closing '%c' may be missing", o,
                 L->nest_loc[L->depth - 1].line, o == '(' ? ')' : ']');
        hint = open_hint;
    } else if (type == WF_TK_IDENT || type == WF_TK_NUMBER)
        hint = "statements go one per line (or separated by ';')";
    /* an operand is shown as written: "unexpected name 'c'" */
    wf_str token = {0};
    wf_str_puts(&token, what);
    if (operand)
        wf_str_printf(&token, " '%.*s'", t.loc.len, b->src->text + t.loc.off);
    wf_report_unexpected_token(b->diags, t.loc, hint, token.s);
    wf_str_free(&token);
}

void wf_parse_too_deep(wf_builder *b)
{
    if (!b->failed)
        wf_report_expression_too_deep(b->diags, b->at, "split it into smaller expressions");
    b->failed = 1;
}

wf_file_ast *wf_parse(const wf_source *src, wf_diags *d)
{
    wf_file_ast *f = wf_xcalloc(1, sizeof *f);
    f->src = src;
    wf_builder b = {.arena = &f->arena, .src = src, .diags = d};
    int errors_before = d->errors;
    wf_lexer L;
    wf_lex_init(&L, src, &f->arena, d);
    b.lex = &L;
    void *p = wf_lemonAlloc(wf_xmalloc);
    wf_tok t;
    for (;;) {
        int type = wf_lex_next(&L, &t);
        if (type < 0) {
            b.failed = 1;
            break;
        }
        b.at = t.loc;
        wf_lemon(p, type, t, &b);
        if (b.failed || type == 0)
            break;
    }
    wf_lemonFree(p, free);
    if (b.failed || d->errors > errors_before) {
        wf_file_ast_free(f);
        return NULL;
    }
    f->stmts = b.stmts;
    return f;
}

void wf_file_ast_free(wf_file_ast *f)
{
    if (!f)
        return;
    wf_arena_free(&f->arena);
    free(f);
}

/* Tests of the lexer (lang/lexer.re) token by token through wf_lex_next, and
 * of the parser's syntax errors through wf_parse: numbers and units, words and
 * keywords, strings, comments, the newline rules of lex.h, and every
 * lexical error with its code, line and column. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lang/ast.h"
#include "lang/lex.h"
#include "lang/parser.h"

#define MAX_TOKS 600

/* All the tokens of one source, up to and including the final 0 or -1. */
typedef struct lexed {
    wf_source *src;
    wf_arena arena;
    wf_diags d;
    int type[MAX_TOKS];
    wf_tok tok[MAX_TOKS];
    int n;
} lexed;

static lexed *lex_source(wf_source *src)
{
    lexed *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->src = src;
    wf_lexer L;
    wf_lex_init(&L, src, &x->arena, &x->d);
    for (;;) {
        assert_true(x->n < MAX_TOKS);
        int t = wf_lex_next(&L, &x->tok[x->n]);
        x->type[x->n++] = t;
        if (t <= 0)
            break;
    }
    return x;
}

static lexed *lex(const char *text)
{
    return lex_source(wf_source_from_string("t.weft", text));
}

static void lexed_free(lexed *x)
{
    wf_diags_free(&x->d);
    wf_arena_free(&x->arena);
    wf_source_free(x->src);
    free(x);
}

/* The token types, then 0 for a clean end. */
static void expect_types(const lexed *x, const int *want, int n)
{
    for (int i = 0; i < n && i < x->n; i++) {
        if (x->type[i] != want[i])
            fail_msg("token %d: got %s, want %s", i, wf_lex_token_name(x->type[i]),
                     wf_lex_token_name(want[i]));
    }
    assert_int_equal(x->n, n);
}

#define EXPECT(x, ...)                                                                         \
    do {                                                                                       \
        const int want_[] = {__VA_ARGS__};                                                     \
        expect_types((x), want_, (int)(sizeof want_ / sizeof want_[0]));                       \
    } while (0)

static void expect_loc(wf_loc l, int line, int col, int len)
{
    assert_int_equal(l.line, line);
    assert_int_equal(l.col, col);
    assert_int_equal(l.len, len);
}

/* The one diagnostic of a source that does not lex: its code, where it
 * points and, unless hint is NULL, the hint the lexer composed. */
static void expect_lex_error(const lexed *x, const char *code, int line, int col, const char *hint)
{
    assert_int_equal(x->type[x->n - 1], -1);
    assert_int_equal(x->d.n, 1);
    assert_int_equal(x->d.errors, 1);
    assert_string_equal(wf_diag_code_name(x->d.v[0].code), code);
    assert_int_equal(x->d.v[0].loc.line, line);
    assert_int_equal(x->d.v[0].loc.col, col);
    if (hint)
        assert_string_equal(x->d.v[0].hint ? x->d.v[0].hint : "(no hint)", hint);
}

/* ------------------------------------------------------------- numbers */

static void test_number_plain(void **state)
{
    (void)state;
    lexed *x = lex("440");
    EXPECT(x, WF_TK_NUMBER, WF_TK_NL, 0);
    assert_close(x->tok[0].num, 440, 0, 0);
    assert_int_equal(x->tok[0].unit, WF_UNIT_NONE);
    expect_loc(x->tok[0].loc, 1, 1, 3);
    assert_int_equal(x->d.n, 0);
    lexed_free(x);
}

static void test_number_forms(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double value;
    } cases[] = {
        {"0", 0},       {"3.25", 3.25}, {".5", 0.5},         {"3.", 3},
        {"1e3", 1000},  {"1E3", 1000},  {"2.5e-2", 0.025},   {"1e+2", 100},
        {".5e1", 5},    {"007", 7},     {"1e-320", 1e-320},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lexed *x = lex(cases[i].text);
        EXPECT(x, WF_TK_NUMBER, WF_TK_NL, 0);
        assert_true(x->tok[0].num == cases[i].value);
        assert_int_equal(x->tok[0].loc.len, (int)strlen(cases[i].text));
        lexed_free(x);
    }
}

static void test_number_units(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double value;
        int unit;
    } cases[] = {
        {"440 hz", 440, WF_UNIT_HZ},  {"440hz", 440, WF_UNIT_HZ},  {"5 Hz", 5, WF_UNIT_HZ},
        {"2 khz", 2, WF_UNIT_KHZ},    {"2kHz", 2, WF_UNIT_KHZ},    {"20 ms", 20, WF_UNIT_MS},
        {"1.5 s", 1.5, WF_UNIT_S},    {"6 db", 6, WF_UNIT_DB},     {"3dB", 3, WF_UNIT_DB},
        {"1.5e3hz", 1500, WF_UNIT_HZ}, {"2\t \tms", 2, WF_UNIT_MS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lexed *x = lex(cases[i].text);
        EXPECT(x, WF_TK_NUMBER, WF_TK_NL, 0);
        assert_true(x->tok[0].num == cases[i].value);
        assert_int_equal(x->tok[0].unit, cases[i].unit);
        /* the token covers the unit, so a caret underlines both */
        assert_int_equal(x->tok[0].loc.len, (int)strlen(cases[i].text));
        lexed_free(x);
    }
}

/* A minus sign is its own token: -30 db is NEG applied to 30 dB. */
static void test_number_negative_db(void **state)
{
    (void)state;
    lexed *x = lex("-30 db");
    EXPECT(x, WF_TK_MINUS, WF_TK_NUMBER, WF_TK_NL, 0);
    assert_true(x->tok[1].num == 30);
    assert_int_equal(x->tok[1].unit, WF_UNIT_DB);
    expect_loc(x->tok[1].loc, 1, 2, 5);
    lexed_free(x);
}

/* A word after a blank that is not a unit is the next token (`2 in [..]`,
 * `3 log`), not a bad unit. */
static void test_number_then_word(void **state)
{
    (void)state;
    lexed *x = lex("2 in 3 log 4 hzz");
    EXPECT(x, WF_TK_NUMBER, WF_TK_IN, WF_TK_NUMBER, WF_TK_IDENT, WF_TK_NUMBER, WF_TK_IDENT,
           WF_TK_NL, 0);
    assert_int_equal(x->tok[0].unit, WF_UNIT_NONE);
    expect_loc(x->tok[0].loc, 1, 1, 1);
    assert_string_equal(x->tok[3].text, "log");
    assert_string_equal(x->tok[5].text, "hzz");
    expect_loc(x->tok[5].loc, 1, 14, 3);
    lexed_free(x);
}

static void test_number_unknown_unit(void **state)
{
    (void)state;
    lexed *x = lex("out 2mhz\n");
    expect_lex_error(x, "unknown-unit", 1, 6, NULL);
    assert_int_equal(x->d.v[0].loc.len, 3);
    lexed_free(x);
    x = lex("a = 1\nb = 3Hzz");
    expect_lex_error(x, "unknown-unit", 2, 6, NULL);
    lexed_free(x);
}

static void test_number_out_of_range(void **state)
{
    (void)state;
    lexed *x = lex("x = 1e400");
    expect_lex_error(x, "number-out-of-range", 1, 5, NULL);
    lexed_free(x);
}

static void test_number_too_long(void **state)
{
    (void)state;
    char text[200];
    memset(text, '1', 150);
    text[150] = 0;
    lexed *x = lex(text);
    expect_lex_error(x, "number-too-long", 1, 1, NULL);
    lexed_free(x);
}

/* ------------------------------------------------------- words, strings */

static void test_keywords_and_names(void **state)
{
    (void)state;
    lexed *x = lex("rate frames length param input out def use return in per foo _x1 Rate");
    EXPECT(x, WF_TK_RATE, WF_TK_FRAMES, WF_TK_LENGTH, WF_TK_PARAM, WF_TK_INPUT, WF_TK_OUT,
           WF_TK_DEF, WF_TK_USE, WF_TK_RETURN, WF_TK_IN, WF_TK_PER, WF_TK_IDENT, WF_TK_IDENT,
           WF_TK_IDENT, WF_TK_NL, 0);
    assert_string_equal(x->tok[11].text, "foo");
    assert_string_equal(x->tok[12].text, "_x1");
    /* keywords are case-sensitive */
    assert_string_equal(x->tok[13].text, "Rate");
    expect_loc(x->tok[12].loc, 1, 62, 3);
    lexed_free(x);
}

/* A sharp note name is one name; a # elsewhere starts a comment. */
static void test_sharp_note_names(void **state)
{
    (void)state;
    lexed *x = lex("[f#5 0 s, C#-1 1 s] x #3 comment");
    EXPECT(x, WF_TK_LBRACK, WF_TK_IDENT, WF_TK_NUMBER, WF_TK_COMMA, WF_TK_IDENT, WF_TK_NUMBER,
           WF_TK_RBRACK, WF_TK_IDENT, WF_TK_NL, 0);
    assert_string_equal(x->tok[1].text, "f#5");
    assert_string_equal(x->tok[4].text, "C#-1");
    expect_loc(x->tok[1].loc, 1, 2, 3);
    lexed_free(x);
}

static void test_operators(void **state)
{
    (void)state;
    lexed *x = lex("a=(b+c-d*e/f),[g]:{}");
    EXPECT(x, WF_TK_IDENT, WF_TK_ASSIGN, WF_TK_LPAREN, WF_TK_IDENT, WF_TK_PLUS, WF_TK_IDENT,
           WF_TK_MINUS, WF_TK_IDENT, WF_TK_STAR, WF_TK_IDENT, WF_TK_SLASH, WF_TK_IDENT,
           WF_TK_RPAREN, WF_TK_COMMA, WF_TK_LBRACK, WF_TK_IDENT, WF_TK_RBRACK, WF_TK_COLON,
           WF_TK_LBRACE, WF_TK_RBRACE, WF_TK_NL, 0);
    lexed_free(x);
}

static void test_string_escapes(void **state)
{
    (void)state;
    lexed *x = lex("x = \"a\\\"b\\\\c\\nd\\te\"");
    EXPECT(x, WF_TK_IDENT, WF_TK_ASSIGN, WF_TK_STRING, WF_TK_NL, 0);
    assert_string_equal(x->tok[2].text, "a\"b\\c\nd\te");
    /* the location covers the quotes and the escapes as written */
    expect_loc(x->tok[2].loc, 1, 5, 15);
    lexed_free(x);
    x = lex("\"\" \"file.wav\"");
    EXPECT(x, WF_TK_STRING, WF_TK_STRING, WF_TK_NL, 0);
    assert_string_equal(x->tok[0].text, "");
    assert_string_equal(x->tok[1].text, "file.wav");
    lexed_free(x);
}

static void test_string_unknown_escape(void **state)
{
    (void)state;
    lexed *x = lex("x = \"ab\\qc\"");
    expect_lex_error(x, "unknown-escape", 1, 8, NULL);
    assert_int_equal(x->d.v[0].loc.len, 2);
    lexed_free(x);
}

static void test_string_unterminated(void **state)
{
    (void)state;
    lexed *x = lex("a = 1\nx = \"abc");
    expect_lex_error(x, "unterminated-string", 2, 5, NULL);
    lexed_free(x);
    /* a string may not span lines */
    x = lex("x = \"ab\ncd\"\n");
    expect_lex_error(x, "unterminated-string", 1, 5, NULL);
    lexed_free(x);
}

static void test_comments(void **state)
{
    (void)state;
    lexed *x = lex("# a patch\na # trailing \"not a string\" (\nb # at the end");
    EXPECT(x, WF_TK_IDENT, WF_TK_NL, WF_TK_IDENT, WF_TK_NL, 0);
    expect_loc(x->tok[0].loc, 2, 1, 1);
    expect_loc(x->tok[2].loc, 3, 1, 1);
    assert_int_equal(x->d.n, 0);
    lexed_free(x);
}

/* ------------------------------------------------------------ newlines */

static void test_newlines_collapse(void **state)
{
    (void)state;
    /* blank lines, leading newlines and repeated ';' give one NL each */
    lexed *x = lex("\n\n  a\n\n\n;; b;c\n\n");
    EXPECT(x, WF_TK_IDENT, WF_TK_NL, WF_TK_IDENT, WF_TK_NL, WF_TK_IDENT, WF_TK_NL, 0);
    expect_loc(x->tok[0].loc, 3, 3, 1);
    expect_loc(x->tok[2].loc, 6, 4, 1);
    expect_loc(x->tok[4].loc, 6, 6, 1);
    /* a newline is located at the end of the line it ends */
    expect_loc(x->tok[1].loc, 3, 4, 0);
    lexed_free(x);
}

static void test_newlines_crlf(void **state)
{
    (void)state;
    lexed *x = lex("a\r\n\tb\r\n");
    EXPECT(x, WF_TK_IDENT, WF_TK_NL, WF_TK_IDENT, WF_TK_NL, 0);
    expect_loc(x->tok[2].loc, 2, 2, 1);
    lexed_free(x);
}

static void test_newlines_in_brackets(void **state)
{
    (void)state;
    lexed *x = lex("f(a,\n  b)\n[1,\n\n 2]\n");
    EXPECT(x, WF_TK_IDENT, WF_TK_LPAREN, WF_TK_IDENT, WF_TK_COMMA, WF_TK_IDENT, WF_TK_RPAREN,
           WF_TK_NL, WF_TK_LBRACK, WF_TK_NUMBER, WF_TK_COMMA, WF_TK_NUMBER, WF_TK_RBRACK,
           WF_TK_NL, 0);
    expect_loc(x->tok[4].loc, 2, 3, 1);
    expect_loc(x->tok[10].loc, 5, 2, 1);
    lexed_free(x);
}

/* Inside { } statements end at newlines again, also within ( ) inside a
 * block once its brackets close. */
static void test_newlines_in_braces(void **state)
{
    (void)state;
    lexed *x = lex("def f(x) {\n  y = g(x,\n    1)\n  return y\n}\n");
    EXPECT(x, WF_TK_DEF, WF_TK_IDENT, WF_TK_LPAREN, WF_TK_IDENT, WF_TK_RPAREN, WF_TK_LBRACE,
           WF_TK_IDENT, WF_TK_ASSIGN, WF_TK_IDENT, WF_TK_LPAREN, WF_TK_IDENT, WF_TK_COMMA,
           WF_TK_NUMBER, WF_TK_RPAREN, WF_TK_NL, WF_TK_RETURN, WF_TK_IDENT, WF_TK_NL,
           WF_TK_RBRACE, WF_TK_NL, 0);
    lexed_free(x);
}

/* A newline is inserted before a '}' that closes a block, so its last
 * statement needs no terminator, and at the end of a file without one. */
static void test_newlines_inserted(void **state)
{
    (void)state;
    lexed *x = lex("def f() { return 1 }\nout f()");
    EXPECT(x, WF_TK_DEF, WF_TK_IDENT, WF_TK_LPAREN, WF_TK_RPAREN, WF_TK_LBRACE, WF_TK_RETURN,
           WF_TK_NUMBER, WF_TK_NL, WF_TK_RBRACE, WF_TK_NL, WF_TK_OUT, WF_TK_IDENT,
           WF_TK_LPAREN, WF_TK_RPAREN, WF_TK_NL, 0);
    /* the inserted newline sits on the '}' with no width */
    expect_loc(x->tok[7].loc, 1, 20, 0);
    expect_loc(x->tok[8].loc, 1, 20, 1);
    /* the one at the end of the file sits after the last character */
    expect_loc(x->tok[14].loc, 2, 8, 0);
    lexed_free(x);
    /* none after '{' or after a newline already there */
    x = lex("{}\n{\n}");
    EXPECT(x, WF_TK_LBRACE, WF_TK_RBRACE, WF_TK_NL, WF_TK_LBRACE, WF_TK_RBRACE, WF_TK_NL, 0);
    lexed_free(x);
    /* a stray '}' closes nothing and stays itself, for the parser to report */
    x = lex("out }");
    EXPECT(x, WF_TK_OUT, WF_TK_RBRACE, WF_TK_NL, 0);
    lexed_free(x);
}

static void test_empty_sources(void **state)
{
    (void)state;
    const char *texts[] = {"", "\n\n", "# only a comment", "  \t\r\n ; ;\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        lexed *x = lex(texts[i]);
        EXPECT(x, 0);
        assert_int_equal(x->d.n, 0);
        lexed_free(x);
    }
}

/* --------------------------------------------------------------- errors */

static void test_stray_character(void **state)
{
    (void)state;
    lexed *x = lex("a = 1\nb = a $ 2");
    expect_lex_error(x, "unexpected-character", 2, 7, NULL);
    assert_int_equal(x->d.v[0].loc.len, 1);
    lexed_free(x);
    /* unprintable bytes are shown escaped */
    x = lex("a \x01");
    expect_lex_error(x, "unexpected-character", 1, 3, NULL);
    lexed_free(x);
    x = lex("caf\xc3\xa9");
    expect_lex_error(x, "unexpected-character", 1, 4, NULL);
    lexed_free(x);
}

static void test_error_ends_tokens(void **state)
{
    (void)state;
    lexed *x = lex("a ? b c d");
    EXPECT(x, WF_TK_IDENT, -1);
    lexed_free(x);
}

static void test_nul_byte(void **state)
{
    (void)state;
    static const char text[] = "a = 1\nb\0 = 2\n";
    lexed *x = lex_source(wf_source_from_bytes("t.weft", text, sizeof text - 1));
    EXPECT(x, WF_TK_IDENT, WF_TK_ASSIGN, WF_TK_NUMBER, WF_TK_NL, WF_TK_IDENT, -1);
    expect_lex_error(x, "nul-byte", 2, 2, NULL);
    lexed_free(x);
    /* inside a string or a comment too */
    static const char text2[] = "x = \"a\0b\"";
    x = lex_source(wf_source_from_bytes("t.weft", text2, sizeof text2 - 1));
    assert_int_equal(x->type[x->n - 1], -1);
    assert_int_equal(x->d.errors, 1);
    lexed_free(x);
    static const char text3[] = "# a\0b\nc";
    x = lex_source(wf_source_from_bytes("t.weft", text3, sizeof text3 - 1));
    expect_lex_error(x, "nul-byte", 1, 4, NULL);
    lexed_free(x);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    char text[WF_LEX_MAX_NEST + 8];
    memset(text, '(', WF_LEX_MAX_NEST);
    text[WF_LEX_MAX_NEST] = 0;
    lexed *x = lex(text);
    /* 256 open brackets are fine (the file then ends with them open) */
    assert_int_equal(x->n, WF_LEX_MAX_NEST + 1);
    assert_string_equal(wf_diag_code_name(x->d.v[0].code), "unclosed-bracket");
    lexed_free(x);
    text[WF_LEX_MAX_NEST] = '[';
    text[WF_LEX_MAX_NEST + 1] = 0;
    x = lex(text);
    expect_lex_error(x, "brackets-too-deep", 1, WF_LEX_MAX_NEST + 1, NULL);
    lexed_free(x);
}

/* At the end of the file, an open bracket is reported where it opens. */
static void test_unclosed_bracket(void **state)
{
    (void)state;
    lexed *x = lex("out sine(440\n\n");
    expect_lex_error(x, "unclosed-bracket", 1, 9, "the file ends before its ')'");
    lexed_free(x);
    x = lex("def f(x) {\n  return [x, (1)\n");
    expect_lex_error(x, "unclosed-bracket", 2, 10, "the file ends before its ']'");
    lexed_free(x);
    x = lex("def f(x) {\n  return x\n");
    expect_lex_error(x, "unclosed-bracket", 1, 10, "the file ends before its '}'");
    lexed_free(x);
}

/* --------------------------------------------------------------- parser */

/* Parses text, which must fail with exactly this one diagnostic: its code,
 * where it points, the hint the parser chose unless hint is NULL, and for
 * unexpected-token how the message names the token ("number '2'"). */
static void expect_syntax_error(const char *text, const char *code, const char *token, int line,
                                int col, const char *hint)
{
    wf_source *src = wf_source_from_string("t.weft", text);
    wf_diags d = {0};
    wf_file_ast *f = wf_parse(src, &d);
    assert_null(f);
    if (d.n != 1)
        fail_msg("%s: %d diagnostics, want 1", text, d.n);
    assert_string_equal(wf_diag_code_name(d.v[0].code), code);
    if (token) {
        size_t n = strlen(d.v[0].msg), k = strlen(token);
        if (n < k || strcmp(d.v[0].msg + n - k, token) != 0)
            fail_msg("%s: the message '%s' does not name %s", text, d.v[0].msg, token);
    }
    assert_int_equal(d.v[0].loc.line, line);
    assert_int_equal(d.v[0].loc.col, col);
    assert_ptr_equal(d.v[0].loc.src, src);
    if (hint)
        assert_string_equal(d.v[0].hint ? d.v[0].hint : "(no hint)", hint);
    wf_diags_free(&d);
    wf_source_free(src);
}

static void test_parse_ok(void **state)
{
    (void)state;
    wf_source *src = wf_source_from_string(
        "t.weft", "rate 16 khz\nparam a[2] = 0.5 in [0, 1] log per frame\n"
                  "input rec[2] = target\nx = f(1, k: 2,)\nout -x * [1, 2,] + 3\n");
    wf_diags d = {0};
    wf_file_ast *f = wf_parse(src, &d);
    assert_non_null(f);
    assert_int_equal(d.n, 0);
    int kinds[8], n = 0;
    for (const wf_stmt *s = f->stmts; s; s = s->next)
        kinds[n++] = s->kind;
    assert_int_equal(n, 5);
    assert_int_equal(kinds[0], WF_ST_RATE);
    assert_int_equal(kinds[1], WF_ST_PARAM);
    assert_int_equal(kinds[2], WF_ST_INPUT);
    assert_int_equal(kinds[3], WF_ST_BIND);
    assert_int_equal(kinds[4], WF_ST_OUT);
    const wf_stmt *p = f->stmts->next;
    assert_string_equal(p->name, "a");
    assert_string_equal(p->scale, "log");
    assert_string_equal(p->per, "frame");
    assert_non_null(p->lo);
    /* out -x * [1, 2] + 3: '+' at the top, unary minus binding tightest */
    const wf_ast *e = f->stmts->next->next->next->next->expr;
    assert_int_equal(e->kind, WF_AST_BIN);
    assert_int_equal(e->u.bin.op, '+');
    assert_int_equal(e->u.bin.l->kind, WF_AST_BIN);
    assert_int_equal(e->u.bin.l->u.bin.op, '*');
    assert_int_equal(e->u.bin.l->u.bin.l->kind, WF_AST_NEG);
    assert_int_equal(e->start, (int)(strstr(src->text, "-x *") - src->text));
    assert_int_equal(e->end, (int)strlen(src->text) - 1);
    const wf_arg *a = f->stmts->next->next->next->expr->u.call.args;
    assert_null(a->name);
    assert_string_equal(a->next->name, "k");
    assert_null(a->next->next);
    wf_file_ast_free(f);
    wf_diags_free(&d);
    wf_source_free(src);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_syntax_error("out 1 2\n", "unexpected-token", "number '2'", 1, 7,
                        "statements go one per line (or separated by ';')");
    expect_syntax_error("a = 1\nb = a c\n", "unexpected-token", "name 'c'", 2, 7,
                        "statements go one per line (or separated by ';')");
    expect_syntax_error("out 1 +\nx = 2\n", "unexpected-token", "end of line", 1, 8,
                        "the statement is incomplete");
    expect_syntax_error("x = = 2\n", "unexpected-token", "'='", 1, 5, NULL);
    expect_syntax_error("out 1 )\n", "unexpected-token", "')'", 1, 7, NULL);
    expect_syntax_error("out }\n", "unexpected-token", "'}'", 1, 5, NULL);
    expect_syntax_error("out \"s\" \"t\"\n", "unexpected-token", "string '\"t\"'", 1, 9, NULL);
    expect_syntax_error("def f(x { return x }\n", "unexpected-token", "'{'", 1, 9, NULL);
    expect_syntax_error("param = 1\n", "unexpected-token", "'='", 1, 7, NULL);
    expect_syntax_error("rate\n", "unexpected-token", "end of line", 1, 5,
                        "the statement is incomplete");
    expect_syntax_error("def f() {\n  a = 1 2\n  return a\n}\n", "unexpected-token",
                        "number '2'", 2, 9, "statements go one per line (or separated by ';')");
}

/* Two operands in a row inside ( ) or [ ]: a missing comma, or a bracket
 * never closed that swallowed the newlines up to the next statement; the hint
 * names the bracket. */
static void test_parse_error_open_bracket(void **state)
{
    (void)state;
    expect_syntax_error("out f(a: 1, b 2)\n", "unexpected-token", "number '2'", 1, 15,
                        "inside the '(' of line 1: a ',' or the closing ')' may be missing");
    expect_syntax_error("out sine(440\nx = 1\n", "unexpected-token", "name 'x'", 2, 1,
                        "inside the '(' of line 1: a ',' or the closing ')' may be missing");
    expect_syntax_error("v = [1,\n  2\n  3]\n", "unexpected-token", "number '3'", 3, 3,
                        "inside the '[' of line 1: a ',' or the closing ']' may be missing");
}

static void test_parse_repeated_param_options(void **state)
{
    (void)state;
    expect_syntax_error("param p = 1 in [0, 1] in [0, 2]\n", "repeated-bounds", NULL, 1, 23, NULL);
    expect_syntax_error("param p = 1 log lin\n", "repeated-scale", NULL, 1, 17, NULL);
    expect_syntax_error("param p = 1 per frame per frame\n", "repeated-per", NULL, 1, 23, NULL);
}

/* Right-nested expressions deeper than the parser's stack are an error with
 * a place, not a crash. */
static void test_parse_too_deep(void **state)
{
    (void)state;
    size_t n = 5000;
    char *text = malloc(n + 8);
    memcpy(text, "out ", 4);
    memset(text + 4, '-', n);
    strcpy(text + 4 + n, "1\n");
    wf_source *src = wf_source_from_string("t.weft", text);
    wf_diags d = {0};
    assert_null(wf_parse(src, &d));
    assert_int_equal(d.n, 1);
    assert_string_equal(wf_diag_code_name(d.v[0].code), "expression-too-deep");
    assert_int_equal(d.v[0].loc.line, 1);
    assert_true(d.v[0].loc.col > 1000 && d.v[0].loc.col < 4 + (int)n);
    wf_diags_free(&d);
    wf_source_free(src);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_plain),
        cmocka_unit_test(test_number_forms),
        cmocka_unit_test(test_number_units),
        cmocka_unit_test(test_number_negative_db),
        cmocka_unit_test(test_number_then_word),
        cmocka_unit_test(test_number_unknown_unit),
        cmocka_unit_test(test_number_out_of_range),
        cmocka_unit_test(test_number_too_long),
        cmocka_unit_test(test_keywords_and_names),
        cmocka_unit_test(test_sharp_note_names),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_string_unknown_escape),
        cmocka_unit_test(test_string_unterminated),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_newlines_collapse),
        cmocka_unit_test(test_newlines_crlf),
        cmocka_unit_test(test_newlines_in_brackets),
        cmocka_unit_test(test_newlines_in_braces),
        cmocka_unit_test(test_newlines_inserted),
        cmocka_unit_test(test_empty_sources),
        cmocka_unit_test(test_stray_character),
        cmocka_unit_test(test_error_ends_tokens),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_unclosed_bracket),
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_error_open_bracket),
        cmocka_unit_test(test_parse_repeated_param_options),
        cmocka_unit_test(test_parse_too_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

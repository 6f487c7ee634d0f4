/* The lexer (lang/lexer.re, compiled by re2c): turns a source into the tokens
 * of lang/parser.y. Newlines end statements except inside ( ) and [ ], where
 * expressions may span lines; a newline is inserted before `}` and at the end
 * of the file so the last statement of a block needs no terminator. */
#ifndef WF_LEXER_H
#define WF_LEXER_H

#include "lang/ast.h"
#include "runtime/diag.h"

#define WF_LEX_MAX_NEST 256

typedef struct wf_lexer {
    const wf_source *src;
    wf_arena *arena;
    wf_diags *diags;
    const unsigned char *cur, *tok, *lim, *line_start;
    int line;
    int depth;
    char nest[WF_LEX_MAX_NEST];
    wf_loc nest_loc[WF_LEX_MAX_NEST]; /* where each open bracket is */
    int last;        /* type of the last token handed out, 0 at start */
    int pending;     /* token held back while an inserted NL is handed out */
    wf_tok pending_tok;
    int done;
} wf_lexer;

void wf_lex_init(wf_lexer *L, const wf_source *src, wf_arena *arena, wf_diags *d);
/* Next token type (WF_TK_* from parser.h), 0 at the end, -1 after a lexical
 * error (already reported). */
int wf_lex_next(wf_lexer *L, wf_tok *t);
/* Human name of a token type, for "unexpected ..." messages. */
const char *wf_lex_token_name(int type);

#endif

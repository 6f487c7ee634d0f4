/* The weft grammar, for the Lemon LALR(1) parser generator. Each action is one
 * builder call (lang/ast.c); no symbol owns memory of its own, since every tree
 * node lives in the parse arena, so no %destructor is needed and a syntax error
 * frees nothing by hand. */

%name wf_lemon
%token_prefix WF_TK_
%token_type {wf_tok}
%extra_argument {wf_builder *b}
%stack_size 2000

%include {
/* Lemon's template leaves a few parameters unused with %extra_argument. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-variable"
#include <assert.h>
#include "lang/ast.h"
}

%syntax_error { wf_parse_syntax_error(b, yymajor, yyminor); }
%stack_overflow { wf_parse_too_deep(b); }

%token NL RATE FRAMES LENGTH PARAM INPUT OUT DEF USE RETURN IN PER IDENT NUMBER STRING
       LPAREN RPAREN LBRACK RBRACK LBRACE RBRACE COMMA COLON ASSIGN.

%left PLUS MINUS.
%left STAR SLASH.
%right NEG.

%type stmt {wf_stmt *}
%type body {wf_stmt *}
%type popts {wf_stmt *}
%type size {wf_ast *}
%type expr {wf_ast *}
%type items {wf_item *}
%type args {wf_arg *}
%type arglist {wf_arg *}
%type formals {wf_formal *}
%type formallist {wf_formal *}
%type argname {wf_tok}
%type notes {wf_noteitem *}
%type note {wf_noteitem *}
%type notekey {wf_tok}

/* patch := { stmt NL } */
patch ::= lines.
lines ::= .
lines ::= lines NL.
lines ::= lines stmt(S) NL.                          { wf_build_top(b, S); }

/* setting := ('rate' | 'frames' | 'length') expr */
stmt(S) ::= RATE(K) expr(E).                         { S = wf_build_setting(b, WF_ST_RATE, K, E); }
stmt(S) ::= FRAMES(K) expr(E).                       { S = wf_build_setting(b, WF_ST_FRAMES, K, E); }
stmt(S) ::= LENGTH(K) expr(E).                       { S = wf_build_setting(b, WF_ST_LENGTH, K, E); }

/* param := 'param' name ['[' expr {',' expr} ']'] '=' expr { 'in' '[' expr ',' expr ']' | scale | 'per' word } */
stmt(S) ::= PARAM(K) IDENT(N) size(Z) ASSIGN expr(E) popts(O). { S = wf_build_param(b, K, N, Z, E, O); }
popts(O) ::= .                                       { O = NULL; }
popts(O) ::= popts(P) IN(I) LBRACK expr(L) COMMA expr(H) RBRACK. { O = wf_build_param_bounds(b, P, I, L, H); }
popts(O) ::= popts(P) IDENT(W).                      { O = wf_build_param_scale(b, P, W); }
popts(O) ::= popts(P) PER(K) IDENT(W).               { O = wf_build_param_per(b, P, K, W); }
size(Z) ::= .                                        { Z = NULL; }
size(Z) ::= LBRACK(O) items(I) RBRACK(C).            { Z = wf_build_vec(b, O, I, C); }

/* input := 'input' name ['[' expr ']'] ['=' ('target' | string | '[' notes ']')] */
stmt(S) ::= INPUT(K) IDENT(N) size(Z).               { S = wf_build_input(b, K, N, Z, NULL, 0); }
stmt(S) ::= INPUT(K) IDENT(N) size(Z) ASSIGN IDENT(F). { S = wf_build_input(b, K, N, Z, &F, 0); }
stmt(S) ::= INPUT(K) IDENT(N) size(Z) ASSIGN STRING(F). { S = wf_build_input(b, K, N, Z, &F, 1); }
stmt(S) ::= INPUT(K) IDENT(N) size(Z) ASSIGN LBRACK(O) notes(L) RBRACK. { S = wf_build_input_notes(b, K, N, Z, O, L); }
stmt(S) ::= INPUT(K) IDENT(N) size(Z) ASSIGN LBRACK(O) notes(L) COMMA RBRACK. { S = wf_build_input_notes(b, K, N, Z, O, L); }

/* notes := note {',' note} ;  note := key onset duration [velocity] ;  key := name | number */
notes(L) ::= note(X).                                { L = wf_build_notes(b, NULL, X); }
notes(L) ::= notes(A) COMMA note(X).                 { L = wf_build_notes(b, A, X); }
note(X) ::= notekey(K) NUMBER(O) NUMBER(D).          { X = wf_build_note(b, K, O, D, NULL); }
note(X) ::= notekey(K) NUMBER(O) NUMBER(D) NUMBER(V). { X = wf_build_note(b, K, O, D, &V); }
notekey(K) ::= IDENT(T).                             { K = T; }
notekey(K) ::= NUMBER(T).                            { K = T; }

/* binding := name '=' expr ;  out := 'out' expr ;  return := 'return' expr */
stmt(S) ::= IDENT(N) ASSIGN expr(E).                 { S = wf_build_bind(b, N, E); }
stmt(S) ::= OUT(K) expr(E).                          { S = wf_build_out(b, K, E); }
stmt(S) ::= RETURN(K) expr(E).                       { S = wf_build_return(b, K, E); }

/* def := 'def' name '(' [formal {',' formal}] ')' '{' { stmt NL } '}' */
stmt(S) ::= DEF(K) IDENT(N) LPAREN formals(F) RPAREN LBRACE body(B) RBRACE. { S = wf_build_def(b, K, N, F, B); }
formals(F) ::= .                                     { F = NULL; }
formals(F) ::= formallist(L).                        { F = L; }
formallist(F) ::= IDENT(N).                          { F = wf_build_formals(b, NULL, N, NULL); }
formallist(F) ::= IDENT(N) ASSIGN expr(E).           { F = wf_build_formals(b, NULL, N, E); }
formallist(F) ::= formallist(L) COMMA IDENT(N).      { F = wf_build_formals(b, L, N, NULL); }
formallist(F) ::= formallist(L) COMMA IDENT(N) ASSIGN expr(E). { F = wf_build_formals(b, L, N, E); }
body(B) ::= .                                        { B = NULL; }
body(B) ::= body(A) NL.                              { B = A; }
body(B) ::= body(A) stmt(S) NL.                      { B = wf_build_stmts(b, A, S); }

/* use := 'use' name */
stmt(S) ::= USE(K) IDENT(N).                         { S = wf_build_use(b, K, N); }

/* expr := expr op expr | '-' expr | number | string | name | call | '(' expr ')' | '[' items ']' */
expr(E) ::= expr(L) PLUS(O) expr(R).                 { E = wf_build_bin(b, O, L, R); }
expr(E) ::= expr(L) MINUS(O) expr(R).                { E = wf_build_bin(b, O, L, R); }
expr(E) ::= expr(L) STAR(O) expr(R).                 { E = wf_build_bin(b, O, L, R); }
expr(E) ::= expr(L) SLASH(O) expr(R).                { E = wf_build_bin(b, O, L, R); }
expr(E) ::= MINUS(O) expr(X). [NEG]                  { E = wf_build_neg(b, O, X); }
expr(E) ::= NUMBER(T).                               { E = wf_build_num(b, T); }
expr(E) ::= STRING(T).                               { E = wf_build_str(b, T); }
expr(E) ::= IDENT(T).                                { E = wf_build_name(b, T); }
expr(E) ::= LPAREN(O) expr(X) RPAREN(C).             { E = wf_build_paren(b, O, X, C); }
expr(E) ::= LBRACK(O) items(I) RBRACK(C).            { E = wf_build_vec(b, O, I, C); }
expr(E) ::= LBRACK(O) items(I) COMMA RBRACK(C).      { E = wf_build_vec(b, O, I, C); }
items(I) ::= expr(X).                                { I = wf_build_items(b, NULL, X); }
items(I) ::= items(L) COMMA expr(X).                 { I = wf_build_items(b, L, X); }

/* call := name '(' [arg {',' arg}] [','] ')' ;  arg := [argname ':'] expr */
expr(E) ::= IDENT(N) LPAREN args(A) RPAREN(C).       { E = wf_build_call(b, N, A, C); }
args(A) ::= .                                        { A = NULL; }
args(A) ::= arglist(L).                              { A = L; }
args(A) ::= arglist(L) COMMA.                        { A = L; }
arglist(A) ::= expr(X).                              { A = wf_build_args(b, NULL, NULL, X); }
arglist(A) ::= argname(N) COLON expr(X).             { A = wf_build_args(b, NULL, &N, X); }
arglist(A) ::= arglist(L) COMMA expr(X).             { A = wf_build_args(b, L, NULL, X); }
arglist(A) ::= arglist(L) COMMA argname(N) COLON expr(X). { A = wf_build_args(b, L, &N, X); }
argname(N) ::= IDENT(T).                             { N = T; }
argname(N) ::= RATE(T).                              { N = T; }
argname(N) ::= FRAMES(T).                            { N = T; }
argname(N) ::= LENGTH(T).                            { N = T; }
argname(N) ::= IN(T).                                { N = T; }
argname(N) ::= PER(T).                               { N = T; }

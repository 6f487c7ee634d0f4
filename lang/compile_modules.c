/* Modules: `use NAME` finds NAME.weft in the patch's folder, the search
 * folders, WEFT_PATH and the installed stdlib; `def` statements, from the
 * patch and from modules, become callable. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

#ifndef WF_STDLIB_DIR
#define WF_STDLIB_DIR ""
#endif
#ifndef WF_STDLIB_INSTALL_DIR
#define WF_STDLIB_INSTALL_DIR ""
#endif

static wf_file_ast *load(cc *c, const char *path)
{
    for (int i = 0; i < c->patch->nsources; i++)
        if (strcmp(c->patch->sources[i]->path, path) == 0)
            return NULL; /* already loaded: `use` is idempotent */
    wf_source *src = wf_source_load(path);
    if (!src)
        return NULL;
    int k = c->patch->nsources++;
    c->patch->sources = wf_xrealloc(c->patch->sources, sizeof(void *) * (size_t)c->patch->nsources);
    c->patch->asts = wf_xrealloc(c->patch->asts, sizeof(void *) * (size_t)c->patch->nsources);
    c->patch->sources[k] = src;
    c->patch->asts[k] = wf_parse(src, c->d);
    return c->patch->asts[k];
}

static int file_exists(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp)
        fclose(fp);
    return fp != NULL;
}

static void use_stmt(cc *c, const wf_stmt *st)
{
    const char *dirs[16];
    int nd = 0;
    dirs[nd++] = c->patch->dir;
    for (int i = 0; c->opts && c->opts->search && c->opts->search[i] && nd < 12; i++)
        dirs[nd++] = c->opts->search[i];
    const char *env = getenv("WEFT_PATH");
    if (env && *env && nd < 13)
        dirs[nd++] = env;
    if (WF_STDLIB_DIR[0])
        dirs[nd++] = WF_STDLIB_DIR;
    if (WF_STDLIB_INSTALL_DIR[0])
        dirs[nd++] = WF_STDLIB_INSTALL_DIR;
    wf_str tried = {0};
    for (int i = 0; i < nd; i++) {
        wf_str path = {0};
        wf_str_printf(&path, "%s/%s.weft", dirs[i], st->name);
        if (file_exists(path.s)) {
            wf_file_ast *f = load(c, path.s);
            if (f)
                wf_cc_module_stmts(c, f, 1);
            wf_str_free(&path);
            wf_str_free(&tried);
            return;
        }
        wf_str_printf(&tried, "%s%s", tried.len ? ", " : "", path.s);
        wf_str_free(&path);
    }
    char *hint = wf_xstrdup(tried.s ? tried.s : "");
    wf_str h = {0};
    wf_str_printf(&h, "looked for %s", hint);
    wf_report_module_not_found(c->d, st->name_loc, h.s, st->name);
    wf_str_free(&h);
    free(hint);
    wf_str_free(&tried);
}

static void def_stmt(cc *c, const wf_stmt *st)
{
    if (wf_cc_find_def(c, st->name)) {
        wf_cc_dup_error(c, st->name_loc, st->name, wf_cc_find_def(c, st->name)->st->name_loc);
        return;
    }
    if (wf_cc_find_local(&c->globals, st->name)) {
        wf_cc_dup_error(c, st->name_loc, st->name, wf_cc_find_local(&c->globals, st->name)->loc);
        return;
    }
    if (wf_registry_find(st->name) >= 0) {
        wf_report_def_hides_node(c->d, st->name_loc, "choose another name", st->name);
        return;
    }
    if (c->ndefs == c->capdefs) {
        c->capdefs = c->capdefs ? 2 * c->capdefs : 16;
        c->defs = wf_xrealloc(c->defs, sizeof *c->defs * (size_t)c->capdefs);
    }
    c->defs[c->ndefs++] = (def){st->name, st};
}

/* Statements of a used module: only defs and further uses. */
void wf_cc_module_stmt(cc *c, const wf_stmt *st, int is_module)
{
    if (st->kind == WF_ST_USE)
        use_stmt(c, st);
    else if (st->kind == WF_ST_DEF)
        def_stmt(c, st);
    else if (is_module)
        wf_report_statement_in_module(c->d, st->loc, "move it into the patch that uses this module");
}

void wf_cc_module_stmts(cc *c, const wf_file_ast *f, int is_module)
{
    for (const wf_stmt *st = f->stmts; st; st = st->next)
        wf_cc_module_stmt(c, st, is_module);
}

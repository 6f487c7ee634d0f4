/* libFuzzer target for the front end: compiles arbitrary bytes as a patch,
 * prints the diagnostics in both formats (the caret and line code reads the
 * source too), and frees everything, so ASan sees leaks and overreads and
 * UBSan sees undefined arithmetic anywhere from the lexer to the graph.
 * tests/fuzz/replay.c runs the same entry point over the seed corpus in
 * ordinary builds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile.h"
#include "runtime/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink(void)
{
    static FILE *f;
    if (!f)
        f = fopen("/dev/null", "w");
    return f;
}

static void report(wf_patch *p, wf_diags *d)
{
    FILE *f = sink();
    if (f) {
        wf_diags_print(f, d, WF_DIAG_TEXT);
        wf_diags_print(f, d, WF_DIAG_JSON);
    }
    /* The diagnostics outlive the patch, as in the weft command. */
    wf_patch_free(p);
    wf_diags_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* As a C string (wf_compile_text): the bytes up to the first NUL. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    wf_diags d = {0};
    report(wf_compile_text("fuzz.weft", text, NULL, &d), &d);
    free(text);
    /* Whole, as a file read from disk: NUL bytes reach the lexer. */
    if (memchr(data, 0, size)) {
        wf_source *src = wf_source_from_bytes("fuzz.weft", (const char *)data, size);
        report(wf_compile_source(src, NULL, &d), &d);
    }
    return 0;
}

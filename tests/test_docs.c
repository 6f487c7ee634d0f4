/* The generated docs must match what they are generated from: the node
 * reference in docs/nodes.md the registry (regenerate it with `weft nodes
 * --markdown > docs/nodes.md` after adding or changing a node), and the list
 * of errors in docs/language.md the codes of runtime/diag_codes.h. Also
 * checks that every public node appears in the listing of `weft nodes` and in
 * the reference with its doc line. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "runtime/diag.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

static void test_nodes_md_fresh(void **state)
{
    (void)state;
    size_t len;
    char *file = wf_read_file(WF_SOURCE_DIR "/docs/nodes.md", &len);
    assert_non_null(file);
    char *want = wf_registry_markdown();
    if (strcmp(file, want) != 0) {
        size_t i = 0;
        while (file[i] && file[i] == want[i])
            i++;
        fail_msg("docs/nodes.md is stale (first difference at byte %zu): run "
                 "`weft nodes --markdown > docs/nodes.md`",
                 i);
    }
    free(want);
    free(file);
}

/* The section between the markers is `weft errors --markdown`, markers
 * included. */
static void test_errors_md_fresh(void **state)
{
    (void)state;
    size_t len;
    char *file = wf_read_file(WF_SOURCE_DIR "/docs/language.md", &len);
    assert_non_null(file);
    char *begin = strstr(file, WF_DIAG_MD_BEGIN), *end = strstr(file, WF_DIAG_MD_END);
    if (!begin || !end || end < begin)
        fail_msg("docs/language.md lacks the markers of the generated list of errors");
    end += strlen(WF_DIAG_MD_END "\n");
    char *want = wf_diag_codes_markdown();
    size_t i = 0;
    while (begin + i < end && begin[i] == want[i])
        i++;
    if (begin + i != end || want[i])
        fail_msg("the list of errors in docs/language.md is stale (first difference at byte %zu "
                 "of the list): replace it, between its markers, with `weft errors --markdown`",
                 i);
    free(want);
    free(file);
}

static void test_every_node_documented(void **state)
{
    (void)state;
    char *md = wf_registry_markdown(), *list = wf_registry_listing();
    for (int i = 0; i < WF_NODE_COUNT; i++) {
        const wf_node_kind *k = wf_registry[i];
        assert_non_null(k->doc);
        assert_true(strlen(k->doc) > 10);
        for (int a = 0; a < k->nargs; a++)
            assert_non_null(k->args[a].doc);
        if (k->flags & WF_KIND_INTERNAL)
            continue;
        char head[128];
        snprintf(head, sizeof head, "### `%s(", k->name);
        if (!strstr(md, head))
            fail_msg("'%s' is missing from the reference", k->name);
        if (!strstr(md, k->doc) || !strstr(list, k->doc))
            fail_msg("the doc line of '%s' is missing", k->name);
    }
    free(md);
    free(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nodes_md_fresh),
        cmocka_unit_test(test_errors_md_fresh),
        cmocka_unit_test(test_every_node_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

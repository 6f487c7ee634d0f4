/* weft fit and weft check: not written yet (issue 3). */
#include <stdio.h>

#include "lang/cli_common.h"

int wf_cmd_fit(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("weft fit: not implemented yet\n", stderr);
    return 2;
}

int wf_cmd_check(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("weft check: not implemented yet\n", stderr);
    return 2;
}

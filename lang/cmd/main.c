/* The weft command: everything lives in the library (lang/cmd/cli.c). */
#include "lang/cli.h"

int main(int argc, char **argv)
{
    wf_cli_wait_policy(argv);
    return wf_cli_main(argc, argv);
}

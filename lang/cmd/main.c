/* The weft command: everything lives in the library (lang/cmd/cli.c). */
#include "lang/cli.h"

int main(int argc, char **argv)
{
    return wf_cli_main(argc, argv);
}

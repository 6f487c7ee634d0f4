/* Runs the fuzz target's entry point over files and folders given on the
 * command line (the seed corpus, or a crash to reproduce), so every build's
 * test suite exercises it without libFuzzer; a sanitizer build turns any
 * memory error in it into a failure. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    size_t len;
    char *data = wf_read_file(path, &len);
    if (!data) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    free(data);
    return 0;
}

/* Runs every regular file of dir; returns how many ran, or -1. */
static int run_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        return -1;
    }
    int n = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.')
            continue;
        wf_str path = {0};
        wf_str_printf(&path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path.s, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(path.s))
                rc = -1;
            n++;
        }
        wf_str_free(&path);
    }
    closedir(dp);
    return rc ? -1 : n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: replay FILE|DIR...\n");
        return 2;
    }
    int total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: cannot find %s\n", argv[i]);
            return 1;
        }
        int n = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]) ? -1 : 1;
        if (n < 0)
            return 1;
        total += n;
    }
    /* An empty corpus would make the test pass without running anything. */
    if (total == 0) {
        fprintf(stderr, "replay: no inputs\n");
        return 1;
    }
    printf("replay: %d inputs ran\n", total);
    return 0;
}

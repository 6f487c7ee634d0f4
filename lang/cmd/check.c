/* `weft check`: reverse-mode gradients of every param against central finite
 * differences of the same loss, in float64 through the weft64 twin. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang/cmd/cmds.h"
#include "lang/cmd/objective.h"
#include "runtime/gradcheck.h"
#include "runtime/util.h"

static void usage_check(FILE *f)
{
    fputs("usage: weft check PATCH [--target REC] [options]\n"
          "\n"
          "Compares reverse-mode gradients of every param with central finite differences\n"
          "(Richardson-extrapolated) of the same loss, in float64, and prints a table.\n"
          "Without a target, the loss is a fixed random projection of the out. Exits 1\n"
          "when some param's relative error exceeds the tolerance.\n"
          "\n"
          "  --target FILE         check the fit loss against this recording\n"
          "  --loss mss|mel|l1|l2  loss with --target (default mss)\n"
          "  --fft-sizes A,B,...   FFT sizes of the spectral loss\n"
          "  --loss-weights L,G    weights of its linear and log terms (default 1,1)\n"
          "  --mel-bands B, --loudness-weight W  as for `weft fit`\n"
          "  --elems N             elements checked per param (default 16; random sample)\n"
          "  --tol T               largest relative error that passes (default 0.02)\n"
          "  --step H              relative finite-difference step (default 1e-6)\n"
          "  --jitter J            check at params moved by a relative J at random (default\n"
          "                        1e-6; 0: exactly at the patch's values)\n"
          "  --float32             check in float32 instead of float64\n"
          "  --seed S              which elements, and the projection (default 0)\n"
          "  --seconds S, --rate HZ, --set NAME=VALUE, --input NAME=FILE  as for `weft run`\n",
          f);
}

int wf_cmd_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"target", required_argument, NULL, OPT_TARGET}, {"loss", required_argument, NULL, OPT_LOSS},
        {"fft-sizes", required_argument, NULL, OPT_FFT}, {"elems", required_argument, NULL, OPT_ELEMS},
        {"loss-weights", required_argument, NULL, OPT_WEIGHTS},
        {"mel-bands", required_argument, NULL, OPT_MEL_BANDS},
        {"loudness-weight", required_argument, NULL, OPT_LOUDNESS_WEIGHT},
        {"tol", required_argument, NULL, OPT_TOL},       {"seed", required_argument, NULL, OPT_SEED},
        {"step", required_argument, NULL, OPT_STEP},     {"jitter", required_argument, NULL, OPT_JITTER},
        {"float32", no_argument, NULL, OPT_F32},
        {"seconds", required_argument, NULL, OPT_SECONDS}, {"rate", required_argument, NULL, OPT_RATE},
        {"set", required_argument, NULL, OPT_SET},       {"input", required_argument, NULL, OPT_INPUT},
        {"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0},
    };
    common co = {0};
    wf_gradcheck_opts go = {0};
    int c;
    double v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int h = wf_common_opt("check", c, &co);
        if (h < 0) {
            wf_common_free(&co);
            return -h;
        }
        if (h)
            continue;
        switch (c) {
        case 'h': usage_check(stdout); wf_common_free(&co); return 0;
        case OPT_ELEMS:
            if (wf_parse_number(optarg, &v) || v < 1 || v != floor(v) || v > 1e6) {
                wf_common_free(&co);
                return wf_cli_usage_error("check", "--elems takes a whole number, got '%s'", optarg);
            }
            go.max_elems = (int)v;
            break;
        case OPT_TOL:
            if (wf_parse_number(optarg, &go.tol) || go.tol <= 0) {
                wf_common_free(&co);
                return wf_cli_usage_error("check", "--tol takes a positive number, got '%s'", optarg);
            }
            break;
        case OPT_F32:
            break; /* handled before: stay in this build's precision */
        case OPT_JITTER:
            if (wf_parse_number(optarg, &go.jitter) || go.jitter < 0 || go.jitter > 0.01) {
                wf_common_free(&co);
                return wf_cli_usage_error("check", "--jitter takes a relative size in [0, 0.01], got '%s'", optarg);
            }
            go.jitter_given = 1;
            break;
        case OPT_STEP:
            if (wf_parse_number(optarg, &go.step) || go.step <= 0 || go.step > 0.1) {
                wf_common_free(&co);
                return wf_cli_usage_error("check", "--step takes a relative step in (0, 0.1], got '%s'", optarg);
            }
            break;
        default: usage_check(stderr); wf_common_free(&co); return 2;
        }
    }
    if (wf_common_done("check", &co)) {
        wf_common_free(&co);
        return 2;
    }
    if (optind != argc - 1) {
        wf_common_free(&co);
        return wf_cli_usage_error("check", "expects one PATCH%s", "");
    }
    co.so.patch = argv[optind];
    go.seed = co.so.seed;
    wf_diags d = {0};
    wf_setup s = {0};
    wf_objective ob = {0};
    int status = 1;
    if (wf_objective_prepare(&co, &s, &ob, &d) == 0) {
        wf_gradcheck_row *rows = wf_xcalloc((size_t)s.params.n + 1, sizeof *rows);
        int fails = wf_gradcheck(ob.prog, &s.params, ob.batch, &go, rows);
        printf("%-20s %9s %14s %14s  %s\n", "param", "checked", "max abs err", "max rel err", "");
        for (int i = 0; i < s.params.n; i++) {
            const wf_gradcheck_row *r = &rows[i];
            if (s.params.v[i].decl->node < 0 || r->fixed) {
                printf("%-20s %9s %14s %14s  %s\n", r->param, "-", "-", "-",
                       r->fixed ? "fixed" : "unused");
                continue;
            }
            printf("%-20s %4d/%-4d %14.3g %14.3g  %s\n", r->param, r->checked, r->size, r->max_abs,
                   r->max_rel, r->ok ? "ok" : "FAIL");
        }
        printf("loss: %s; tolerance %.3g; %s\n",
               ob.batch ? wf_loss_name(co.loss.kind) : "random projection of the out",
               go.tol > 0 ? go.tol : 2e-2, fails ? "FAILED" : "all gradients agree");
        status = fails ? 1 : 0;
        if (s.params.n == 0)
            printf("(the patch has no params)\n");
        free(rows);
    }
    wf_objective_free(&ob);
    wf_setup_free(&s);
    wf_common_free(&co);
    return wf_cli_finish(&d, status);
}

/* The twin is installed beside the command (build tree) or in libexec. */
void wf_cmd_exec_float64(int argc, char **argv)
{
#ifndef WF_REAL_DOUBLE
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--float32") == 0)
            return;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    wf_str cands[2] = {{0}, {0}};
    wf_str_printf(&cands[0], "%.*s/weft64", (int)(slash - self), self);
    wf_str_printf(&cands[1], "%s/weft/weft64", WF_LIBEXEC_DIR);
    for (int c = 0; c < 2; c++) {
        if (access(cands[c].s, X_OK) == 0) {
            argv[0] = cands[c].s;
            execv(cands[c].s, argv);
        }
    }
    fprintf(stderr, "weft: warning: the float64 checker (weft64) is not installed: checking in "
                    "float32, where finite differences are less precise\n");
    wf_str_free(&cands[0]);
    wf_str_free(&cands[1]);
#else
    (void)argc;
    (void)argv;
#endif
}

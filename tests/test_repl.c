/* `weft repl` driven as a person drives it: through a pseudo-terminal
 * (forkpty), typing keys (Tab, Ctrl-C, Ctrl-D) and reading the screen; and
 * as a script, lines on standard input with no terminal. The sessions
 * build a patch with completion, render it to a file and check the file,
 * redefine a binding while it plays into a file sink and check the
 * crossfade and the phase of the oscillator the edit did not touch,
 * interrupt a fit and keep its best value, and recover from errors. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "runtime/audio.h"
#include "runtime/util.h"

#define PI 3.14159265358979323846

static char tmp[512], home[1024];

static void rm_tree(const char *path)
{
    DIR *dir = opendir(path);
    if (dir) {
        for (struct dirent *e; (e = readdir(dir));) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            wf_str p = {0};
            wf_str_printf(&p, "%s/%s", path, e->d_name);
            rm_tree(p.s);
            wf_str_free(&p);
        }
        closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int enter_tmp(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/weft-repl-XXXXXX", base && base[0] ? base : "/tmp");
    if (!getcwd(home, sizeof home) || !mkdtemp(tmp) || chdir(tmp) != 0)
        return -1;
    return 0;
}

static int leave_tmp(void **state)
{
    (void)state;
    int rc = chdir(home);
    rm_tree(tmp);
    return rc;
}

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *get_file(const char *path)
{
    size_t len;
    char *t = wf_read_file(path, &len);
    if (!t)
        fail_msg("cannot read %s: %s", path, strerror(errno));
    return t;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_for(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------- the terminal */

typedef struct term {
    int fd;
    pid_t pid;
    wf_str screen; /* everything weft wrote, escapes and all */
    size_t seen;   /* expect looks from here */
} term;

/* Starts `weft repl ARGS...` on a new pseudo-terminal of 100 columns, with
 * its history under ./xdg. */
static void term_open(term *t, const char *const *args)
{
    memset(t, 0, sizeof *t);
    struct winsize ws = {40, 100, 0, 0};
    t->pid = forkpty(&t->fd, NULL, NULL, &ws);
    assert_true(t->pid >= 0);
    if (t->pid == 0) {
        char xdg[1100];
        snprintf(xdg, sizeof xdg, "%s/xdg", tmp);
        setenv("TERM", "xterm", 1);
        setenv("XDG_DATA_HOME", xdg, 1);
        /* Under LeakSanitizer: libedit keeps the names of functions added with
         * EL_ADDFN after el_end (its own leak, 2 strings wcsdup made; weft
         * itself never calls wcsdup). */
        char supp[1200], lsan[1400];
        snprintf(supp, sizeof supp, "%s/lsan.supp", tmp);
        FILE *f = fopen(supp, "w");
        if (f) {
            fputs("leak:wcsdup\n", f);
            fclose(f);
        }
        snprintf(lsan, sizeof lsan, "suppressions=%s", supp);
        setenv("LSAN_OPTIONS", lsan, 1);
        const char *argv[16] = {WF_WEFT_EXE, "repl"};
        int n = 2;
        for (int i = 0; args && args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(WF_WEFT_EXE, (char **)argv);
        _exit(127);
    }
}

/* Reads what is there within `seconds`; 0 at the end of the output. */
static int term_read(term *t, double seconds)
{
    struct pollfd p = {t->fd, POLLIN, 0};
    if (poll(&p, 1, (int)(seconds * 1000)) <= 0)
        return 1;
    char buf[4096];
    ssize_t got = read(t->fd, buf, sizeof buf);
    if (got <= 0)
        return 0;
    wf_str_putn(&t->screen, buf, (size_t)got);
    return 1;
}

/* Waits until the screen shows `text` after what was expected last. */
static void expect_at(term *t, const char *text, double seconds, const char *file, int line)
{
    double end = now() + seconds;
    for (;;) {
        const char *at = t->screen.s ? strstr(t->screen.s + t->seen, text) : NULL;
        if (at) {
            t->seen = (size_t)(at - t->screen.s) + strlen(text);
            return;
        }
        if (now() > end || !term_read(t, 0.1)) {
            print_error("the terminal does not show \"%s\"; after the last match it shows:\n%s\n---\n",
                        text, t->screen.s ? t->screen.s + t->seen : "");
            _fail(file, line);
        }
    }
}

#define EXPECT(t, text) expect_at((t), (text), 20, __FILE__, __LINE__)

static void type(term *t, const char *keys)
{
    size_t n = strlen(keys);
    assert_int_equal(write(t->fd, keys, n), (ssize_t)n);
}

/* At the prompt, Ctrl-D, then the exit status. A Ctrl-D typed ahead, while
 * the terminal is not in the editor's mode yet (libedit draws the prompt
 * and then sets its mode), is the line discipline's end of file, which
 * may reach the editor as a NUL and leave the line not empty, where Ctrl-D
 * only deletes: wait for the prompt, and every second clear the line
 * (Ctrl-A, Ctrl-K) and press Ctrl-D again until weft leaves. */
static int term_close(term *t)
{
    expect_at(t, "weft>", 20, __FILE__, __LINE__);
    double end = now() + 30, next = 0;
    int st, gone = 0;
    pid_t got;
    while ((got = waitpid(t->pid, &st, WNOHANG)) == 0 && now() < end) {
        if (now() >= next) {
            if (write(t->fd, "\x01\x0b\x04", 3) != 3) { /* weft may be leaving */
                gone = 1;
                break;
            }
            next = now() + 1;
        }
        term_read(t, 0.05);
    }
    if (got == 0 && gone && waitpid(t->pid, &st, 0) == t->pid) /* it left as the write failed */
        got = t->pid;
    if (got != t->pid) {
        kill(t->pid, SIGKILL);
        waitpid(t->pid, &st, 0);
        fail_msg("weft repl did not leave after Ctrl-D; the terminal shows:\n%s", t->screen.s + t->seen);
    }
    close(t->fd);
    wf_str_free(&t->screen);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ------------------------------------------------------------ scripts */

typedef struct result {
    int status;
    char *out, *err;
} result;

/* `weft repl ARGS... < script`, stdout and stderr to files. */
static result script(const char *text, const char *const *args)
{
    put_file("script.txt", text);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open("script.txt", O_RDONLY), out = open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644),
            err = open("err.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        const char *argv[16] = {WF_WEFT_EXE, "repl"};
        int n = 2;
        for (int i = 0; args && args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(WF_WEFT_EXE, (char **)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    result r = {WIFEXITED(st) ? WEXITSTATUS(st) : 128, get_file("out.txt"), get_file("err.txt")};
    return r;
}

static void result_free(result *r)
{
    free(r->out);
    free(r->err);
}

static void has(const char *text, const char *part, int want, const char *file, int line)
{
    if ((strstr(text, part) != NULL) != want) {
        print_error("%s \"%s\"; it is:\n%s\n---\n", want ? "lacks" : "holds", part, text);
        _fail(file, line);
    }
}

#define HAS(text, part) has((text), (part), 1, __FILE__, __LINE__)
#define LACKS(text, part) has((text), (part), 0, __FILE__, __LINE__)

static wf_real *load_audio(const char *path, int64_t *frames, int *chans)
{
    wf_diags d = {0};
    wf_real *y = NULL;
    if (wf_audio_load(path, 0, 0, &y, frames, chans, &d)) {
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
        fail_msg("cannot load %s", path);
    }
    wf_diags_free(&d);
    return y;
}

/* -------------------------------------------------------------- tests */

/* A patch typed with completion (a node's name, a call's named argument, a
 * command), summed up, rendered to a file that holds what the patch says;
 * an error shown with its caret, after which the patch is as it was; the
 * history kept on disk. */
static void test_type_complete_render(void **state)
{
    (void)state;
    term t;
    term_open(&t, (const char *const[]){"--rate", "16000", NULL});
    EXPECT(&t, "weft>");
    type(&t, "osc = sa\t");
    EXPECT(&t, "w(");
    type(&t, "110 hz)\r");
    EXPECT(&t, "weft>");
    type(&t, "f = svf(osc, 800 hz, mo\t");
    EXPECT(&t, "de: ");
    type(&t, "lp)\r");
    EXPECT(&t, "weft>");
    type(&t, "out f * 0.5\r");
    EXPECT(&t, "weft>");
    type(&t, "o\t"); /* several: out, osc, onepole(, ... listed */
    EXPECT(&t, "osc");
    type(&t, "sc * 0.5\r");
    EXPECT(&t, "audio rate, 1 channel; over 1 s: peak 0.5");
    EXPECT(&t, "spectrum |");
    /* a bracket left open goes on on the next line */
    type(&t, "sine(\r");
    EXPECT(&t, " ...");
    type(&t, "440 hz) * 0.25\r");
    EXPECT(&t, "peak 0.25");
    type(&t, "out f * bogus\r");
    EXPECT(&t, "undefined name 'bogus'");
    EXPECT(&t, "out f * bogus");
    EXPECT(&t, "^~~~~");
    type(&t, ":ren\t");
    EXPECT(&t, "der");
    type(&t, " 0.25 out.wav\r");
    EXPECT(&t, "wrote out.wav");
    type(&t, ":graph\r");
    EXPECT(&t, "svf  \"f\"");
    assert_int_equal(term_close(&t), 0);

    /* the file is the patch as it was before the bad edit: against weft run */
    put_file("same.weft", "rate 16000\nosc = saw(110 hz)\nf = svf(osc, 800 hz, mode: lp)\nout f * 0.5\n");
    pid_t pid = fork();
    if (pid == 0) {
        execl(WF_WEFT_EXE, WF_WEFT_EXE, "run", "same.weft", "--seconds", "0.25", "-o", "ref.wav", "-q",
              (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    int64_t n, nr;
    int c, cr;
    wf_real *y = load_audio("out.wav", &n, &c), *ref = load_audio("ref.wav", &nr, &cr);
    assert_int_equal(n, 4000);
    assert_int_equal(nr, n);
    assert_int_equal(c, 1);
    double energy = 0;
    for (int64_t i = 0; i < n; i++) {
        assert_close(y[i], ref[i], 0, 1e-6);
        energy += y[i] * y[i];
    }
    assert_true(energy > 1);
    free(y);
    free(ref);
    char *hist = get_file("xdg/weft/history");
    HAS(hist, "osc\\040=\\040saw(110\\040hz)");
    free(hist);
}

/* Playing into a file sink (paced like a device), g redefined while it
 * plays: the out fades from 0.5 a to 0.25 a over the 50 ms crossfade from
 * a block boundary, and the sine of a, untouched by the edit, keeps its
 * phase throughout. */
static void test_play_redefine(void **state)
{
    (void)state;
    const double sr = 16000;
    const int F = 800, B = 256; /* crossfade 50 ms; block */
    term t;
    term_open(&t, (const char *const[]){"--device", "file:play.wav", "--block", "256", NULL});
    EXPECT(&t, "weft>");
    type(&t, "rate 16000\r");
    type(&t, "a = sine(220 hz)\r");
    type(&t, "g = 0.5\r");
    type(&t, "out a * g\r");
    type(&t, ":play\r");
    EXPECT(&t, "playing through file:play.wav");
    sleep_for(0.6);
    type(&t, "g = 0.25\r");
    EXPECT(&t, "weft>");
    sleep_for(0.6);
    type(&t, ":stop\r");
    EXPECT(&t, "stopped at");
    assert_int_equal(term_close(&t), 0);

    int64_t n;
    int c;
    wf_real *y = load_audio("play.wav", &n, &c);
    assert_int_equal(c, 1);
    assert_true(n > sr); /* about 1.2 s */
    /* the out fades in from silence at 0 (typed before anything played) */
    int64_t p = -1;
    const double tol = 2.0 / 32768; /* a 16-bit file */
    for (int64_t i = 0; i < n; i++) {
        double s = sin(2 * PI * 220 * (double)i / sr);
        double w0 = i < F ? (double)i / F : 1;
        if (p < 0 && fabs(y[i] - w0 * 0.5 * s) > tol)
            p = i;
        if (p >= 0)
            break;
    }
    assert_true(p > F);
    assert_int_equal(p % B != 0 ? (p - p % B) % B : 0, 0);
    int64_t p0 = p - p % B; /* the swap's block: the first samples of the fade may still agree */
    assert_true(p - p0 < 8);
    assert_true(n > p0 + F + 100);
    for (int64_t i = p0; i < n; i++) {
        double s = sin(2 * PI * 220 * (double)i / sr);
        double w = i - p0 >= F ? 1 : (double)(i - p0) / F;
        assert_close(y[i], ((1 - w) * 0.5 + w * 0.25) * s, 0, tol);
    }
    print_message("the edit landed at %.3f s (block %lld); %lld samples after it checked\n", p0 / sr,
                  (long long)(p0 / B), (long long)(n - p0));
    free(y);
}

/* A long fit, stopped with Ctrl-C: the REPL stays, the best value is kept
 * (a gain moving from 0.9 towards the target's 0.3), and :grad gives the
 * loss's gradient there. */
static void test_fit_interrupt(void **state)
{
    (void)state;
    put_file("target.weft", "rate 8000\nlength 0.25\nout 0.3 * sine(440)\n");
    pid_t pid = fork();
    if (pid == 0) {
        execl(WF_WEFT_EXE, WF_WEFT_EXE, "run", "target.weft", "-o", "target.wav", "--format", "float",
              "-q", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    term t;
    term_open(&t, NULL);
    EXPECT(&t, "weft>");
    type(&t, "rate 8000\r");
    type(&t, "length 0.25\r");
    type(&t, "param gain = 0.9 in [0, 2]\r");
    type(&t, "out gain * sine(440)\r");
    type(&t, ":fit target.wav 10000000 --loss l2 --lr 0.00002\r");
    EXPECT(&t, "step ");
    sleep_for(0.5);
    type(&t, "\x03");
    EXPECT(&t, "stopped after");
    EXPECT(&t, "(kept)");
    EXPECT(&t, "gain = ");
    double gain = strtod(t.screen.s + t.seen, NULL);
    print_message("gain after the interrupted fit: %g (from 0.9, the target's 0.3)\n", gain);
    assert_true(gain < 0.9 && gain >= 0.3 - 0.05);
    type(&t, ":params\r");
    EXPECT(&t, "gain = ");
    assert_close(strtod(t.screen.s + t.seen, NULL), gain, 1e-6, 0);
    type(&t, ":grad\r");
    EXPECT(&t, "loss ");
    EXPECT(&t, "d loss / d gain = ");
    double g = strtod(t.screen.s + t.seen, NULL);
    assert_true(gain <= 0.3 || g > 0); /* above the target, the loss grows with the gain */
    /* Ctrl-C at the prompt drops the line and the REPL goes on */
    EXPECT(&t, "weft>");
    type(&t, "out 2 * ");
    EXPECT(&t, "out 2 * ");
    /* at once: a Ctrl-C between two of libedit's reads ends the line too
     * (the wake pipe of repl_edit.c) */
    type(&t, "\x03");
    EXPECT(&t, "weft>");
    type(&t, "0.5 * gain\r");
    EXPECT(&t, "peak ");
    assert_int_equal(term_close(&t), 0);
}

/* A script: no prompt, no escapes, results printed, the exit status says
 * a line failed; the commands' errors; :save, :load, :reload keeping the
 * values of params still there, :set and :params. */
static void test_script(void **state)
{
    (void)state;
    result r = script("a = sine(100)\n"
                      "g = 0.5\n"
                      "out a * g\n"
                      "a * g\n"
                      "def twice(x) {\n"
                      "  return 2 * x\n"
                      "}\n"
                      "twice(g)\n"
                      ":help onepole\n"
                      ":nodes lowpass\n",
                      NULL);
    assert_int_equal(r.status, 0);
    LACKS(r.out, "weft>");
    LACKS(r.out, "\033");
    HAS(r.out, "a * g\n  audio rate, 1 channel; over 1 s: peak 0.5");
    HAS(r.out, "twice(g)\n  constant rate, 1 channel; over 1 s: peak 1 ");
    HAS(r.out, "onepole(x, freq)");
    assert_string_equal(r.err, "");
    result_free(&r);

    r = script("out sine(100) * nope\n"
               ":frob\n"
               ":set\n"
               ":grad\n"
               ":reload\n"
               "out sine(100) * 0.5\n",
               NULL);
    assert_int_equal(r.status, 1);
    HAS(r.err, "repl[1]:1:17: error: undefined name 'nope'");
    HAS(r.err, "[repl-unknown-command]");
    HAS(r.err, ":set takes NAME VALUE [repl-usage]");
    HAS(r.err, ":grad needs a target (:fit TARGET) first [repl-needs]");
    HAS(r.err, ":reload needs a file (:load FILE) first [repl-needs]");
    result_free(&r);

    put_file("p.weft", "# a patch\nparam gain = 0.5 in [0, 1]\nparam freq = 200 hz\nout gain * sine(freq)\n");
    r = script(":load p.weft\n"
               ":set gain 0.25\n"
               ":params\n"
               ":save saved.weft\n",
               NULL);
    assert_int_equal(r.status, 0);
    HAS(r.out, "loaded p.weft (3 statements in the session)");
    HAS(r.out, "gain = 0.25  in [0, 1]");
    HAS(r.out, "wrote saved.weft");
    result_free(&r);
    char *saved = get_file("saved.weft");
    assert_string_equal(saved, "param gain = 0.25 in [0, 1]\nparam freq = 200 hz\nout gain * sine(freq)\n");
    free(saved);

    /* :reload keeps gain's value; freq's statement is new, so is its value */
    r = script(":load p.weft\n"
               ":set gain 0.125\n"
               ":set freq 300\n"
               ":params\n",
               NULL);
    result_free(&r);
    put_file("script2.txt", "");
    r = script(":load p.weft\n"
               ":set gain 0.125\n"
               "x = 1\n"
               ":reload\n"
               ":params\n"
               "x\n",
               NULL);
    assert_int_equal(r.status, 1); /* x went with :reload */
    HAS(r.out, "reloaded p.weft (3 statements; 2 param values kept)");
    HAS(r.out, "gain = 0.125");
    HAS(r.err, "undefined name 'x'");
    result_free(&r);

    /* a render of an expression for a stated time, to a file */
    r = script("rate 8000\nout 0\n:render 0.5 * sine(50) 0.5 half.wav\n", NULL);
    assert_int_equal(r.status, 0);
    HAS(r.err, "wrote half.wav (0.500 s, 1 channel, 8000 Hz)");
    result_free(&r);
    int64_t n;
    int c;
    wf_real *y = load_audio("half.wav", &n, &c);
    assert_int_equal(n, 4000);
    for (int64_t i = 0; i < n; i++)
        assert_close(y[i], 0.5 * sin(2 * PI * 50 * (double)i / 8000), 0, 2.0 / 32768);
    free(y);

    /* :play without an audio device says so in a line, and the REPL goes on */
    r = script("out sine(100)\n:play\n:stop\n", (const char *const[]){"--device", "nowhere-at-all", NULL});
    assert_int_equal(r.status, 1);
    HAS(r.out, "not playing");
    result_free(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_type_complete_render, enter_tmp, leave_tmp),
        cmocka_unit_test_setup_teardown(test_play_redefine, enter_tmp, leave_tmp),
        cmocka_unit_test_setup_teardown(test_fit_interrupt, enter_tmp, leave_tmp),
        cmocka_unit_test_setup_teardown(test_script, enter_tmp, leave_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

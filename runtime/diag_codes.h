/* The one list of every diagnostic weft reports (after Cmajor's
 * DiagnosticMessages). runtime/diag.h makes from it the enum of codes, the
 * table `weft errors` and the docs print, and one reporting function per code,
 * wf_report_<id>(d, loc, hint, params...), whose body hands the template to
 * the printf-style core as a string literal: gcc's -Wformat checks every
 * template against its parameters, and the prototype checks every call.
 *
 * X(id, "name", SEVERITY, category, Pn(type, param, ...), "template", "meaning")
 *   id        the C name: WF_DIAG_<id>, wf_report_<id>
 *   name      the stable kebab-case code shown to users and tools (id with
 *             hyphens); never reuse or rename one
 *   SEVERITY  ERROR, WARNING, or NOTE for what adds to the error before it
 *   category  one of WF_DIAG_CATEGORIES
 *   Pn(...)   the template's n parameters as type, name pairs, P0() to P5()
 *   template  the message, printf-style; one code per distinct message
 *   meaning   one line for the docs: when it happens
 *
 * A category says where its codes come from: COMPILE (the lexer, the parser
 * and the compiler, which test_compile covers) or RUN (the weft command and
 * the runtime, which test_cli covers). */
#ifndef WF_DIAG_CODES_H
#define WF_DIAG_CODES_H

/* C(id, STAGE, "title") */
#define WF_DIAG_CATEGORIES(C)                                                                  \
    C(lexical, COMPILE, "Lexical")                                                             \
    C(syntax, COMPILE, "Syntax")                                                               \
    C(names, COMPILE, "Names and values")                                                      \
    C(calls, COMPILE, "Calls and operators")                                                   \
    C(shapes, COMPILE, "Shapes (channels)")                                                    \
    C(rates, COMPILE, "Rates")                                                                 \
    C(units, COMPILE, "Units")                                                                 \
    C(settings, COMPILE, "Settings and the out")                                               \
    C(params, COMPILE, "Params and inputs")                                                    \
    C(notes, COMPILE, "Notes inputs and lanes")                                                \
    C(defs, COMPILE, "Defs")                                                                   \
    C(modules, COMPILE, "Modules")                                                             \
    C(limits, COMPILE, "Limits")                                                               \
    C(options, RUN, "Command-line options")                                                    \
    C(files, RUN, "Files")                                                                     \
    C(npy, RUN, ".npy files")                                                                  \
    C(midi, RUN, "MIDI files")                                                                 \
    C(run, RUN, "Running")                                                                     \
    C(session, RUN, "Live sessions")                                                           \
    C(fit, RUN, "Fitting")

#define WF_DIAG_CODES(X)                                                                       \
    /* ---- lexical */                                                                         \
    X(number_too_long, "number-too-long", ERROR, lexical, P0(),                                \
      "number literal is too long", "a number literal longer than 127 characters")             \
    X(number_out_of_range, "number-out-of-range", ERROR, lexical, P1(const char *, number),    \
      "number '%s' is out of range", "a number beyond the range of a double (about 1.8e308)")  \
    X(unknown_unit, "unknown-unit", ERROR, lexical, P1(const char *, unit),                    \
      "unknown unit '%s'", "a number is directly followed by a word that is not a unit")       \
    X(unknown_escape, "unknown-escape", ERROR, lexical, P0(),                                  \
      "unknown escape in string", "a backslash in a string starts none of its four escapes")   \
    X(unterminated_string, "unterminated-string", ERROR, lexical, P0(),                        \
      "unterminated string", "a string has no closing quote on its line")                      \
    X(unexpected_character, "unexpected-character", ERROR, lexical, P1(const char *, what),    \
      "unexpected character '%s'", "a character with no place outside comments and strings")   \
    X(nul_byte, "nul-byte", ERROR, lexical, P0(),                                              \
      "unexpected NUL byte in source", "the file holds a NUL byte (it is probably not text)")  \
    X(unclosed_bracket, "unclosed-bracket", ERROR, lexical, P1(char, bracket),                 \
      "'%c' is not closed", "the file ends inside a bracket, reported where it opens")         \
    /* ---- syntax */                                                                          \
    X(unexpected_token, "unexpected-token", ERROR, syntax, P1(const char *, token),            \
      "unexpected %s", "a token the grammar does not allow there; at an end of line, the "     \
      "statement is incomplete")                                                               \
    /* ---- names and values */                                                                \
    X(undefined_name, "undefined-name", ERROR, names, P1(const char *, name),                  \
      "undefined name '%s'", "no binding, param or input has this name")                       \
    X(unknown_node, "unknown-node", ERROR, names, P1(const char *, name),                      \
      "unknown node '%s'", "a call of a name that is neither a node nor a def")                \
    X(duplicate_name, "duplicate-name", ERROR, names, P1(const char *, name),                  \
      "duplicate name '%s'", "a name defined twice in one scope (bindings, params, inputs, "   \
      "defs)")                                                                                 \
    X(not_a_value, "not-a-value", ERROR, names, P1(const char *, name),                        \
      "'%s' is a node or def, not a value", "a node or def named without calling it")          \
    X(not_callable, "not-callable", ERROR, names, P1(const char *, name),                      \
      "'%s' is a value, not a node or def", "a binding, param or input called like a node")    \
    X(string_not_signal, "string-not-signal", ERROR, names, P0(),                              \
      "a string is not a signal", "a string where a signal is expected; strings name files")   \
    X(cycle, "cycle", ERROR, names, P2(const char *, name, const char *, chain),               \
      "cycle: '%s' depends on itself with no delay on the way round (%s)", "a binding that "   \
      "depends on itself through no delay of at least one sample (feedback needs one)")        \
    X(feedback_node, "feedback-node", ERROR, names, P2(const char *, node, const char *, name), \
      "'%s' cannot sit inside the feedback loop of '%s'", "a node inside a feedback loop that " \
      "cannot run in the loop's steps (it keeps state, reads ahead, or delays an outside "     \
      "signal)")                                                                               \
    /* ---- calls and operators */                                                             \
    X(too_many_arguments, "too-many-arguments", ERROR, calls,                                  \
      P4(const char *, callee, int, max, const char *, s, int, got),                           \
      "'%s' takes at most %d argument%s, got %d", "more positional arguments than the callee " \
      "takes")                                                                                 \
    X(unknown_argument, "unknown-argument", ERROR, calls,                                      \
      P2(const char *, callee, const char *, name), "'%s' has no argument named '%s'",         \
      "a named argument the node or def does not have")                                        \
    X(repeated_argument, "repeated-argument", ERROR, calls,                                    \
      P2(const char *, name, const char *, callee), "argument '%s' of '%s' is given twice",    \
      "an argument given by position and by name, or twice by name")                           \
    X(positional_after_named, "positional-after-named", ERROR, calls,                          \
      P1(const char *, callee),                                                                \
      "positional argument after a named one in a call of '%s'",                               \
      "a call's positional arguments come before its named ones")                              \
    X(missing_argument, "missing-argument", ERROR, calls,                                      \
      P3(const char *, callee, const char *, name, const char *, about),                       \
      "'%s' needs argument '%s'%s", "an argument without a default is not given (for a "       \
      "node, its meaning follows)")                                                            \
    X(argument_not_constant, "argument-not-constant", ERROR, calls,                            \
      P2(const char *, name, const char *, callee),                                            \
      "argument '%s' of '%s' must be a number known when compiling",                           \
      "a number argument (a seed, a count, an index) given a signal")                          \
    X(argument_not_whole, "argument-not-whole", ERROR, calls,                                  \
      P3(const char *, name, const char *, callee, double, value),                             \
      "argument '%s' of '%s' must be a whole number, got %g", "a count or index with a "       \
      "fraction")                                                                              \
    X(argument_not_positive, "argument-not-positive", ERROR, calls,                            \
      P3(const char *, name, const char *, callee, double, value),                             \
      "argument '%s' of '%s' must be positive, got %g", "a number argument that must be "      \
      "positive is not")                                                                       \
    X(argument_out_of_range, "argument-out-of-range", ERROR, calls,                            \
      P3(const char *, name, const char *, callee, double, value),                             \
      "argument '%s' of '%s' is out of range (%g)", "a number argument that is not finite or " \
      "beyond 1e15")                                                                           \
    X(argument_not_word, "argument-not-word", ERROR, calls,                                    \
      P3(const char *, name, const char *, callee, const char *, example),                     \
      "argument '%s' of '%s' takes a word, such as '%s'",                                      \
      "an argument that takes a word from a fixed list is given an expression")                \
    X(unknown_word, "unknown-word", ERROR, calls,                                              \
      P3(const char *, word, const char *, name, const char *, callee),                        \
      "'%s' is not a %s of '%s'", "a word that is not one of the argument's choices")          \
    X(division_by_zero, "division-by-zero", ERROR, calls, P0(),                                \
      "division by zero", "a division by a constant that is zero")                             \
    X(fold_not_finite, "fold-not-finite", ERROR, calls, P2(const char *, node, int, channel),  \
      "'%s' of these constants is not a finite number (channel %d)",                           \
      "a node of constants, computed when compiling, is infinite or NaN (sqrt(-1))")           \
    /* ---- shapes */                                                                          \
    X(feedback_shape, "feedback-shape", ERROR, shapes,                                         \
      P3(const char *, name, int, in, int, out),                                               \
      "the channels of '%s' depend on themselves: %d going round, %d coming out",              \
      "a feedback loop whose channels (or lanes) change on the way round")                     \
    X(shape_mismatch, "shape-mismatch", ERROR, shapes,                                         \
      P5(const char *, node, int, arg, int, chans, int, other, int, other_chans),              \
      "shape mismatch in '%s': argument %d has %d channels but argument %d has %d",            \
      "a node's signal arguments have channel counts that do not broadcast")                   \
    X(constant_shape_mismatch, "constant-shape-mismatch", ERROR, shapes,                       \
      P2(int, left, int, right),                                                               \
      "shape mismatch: the left side has %d channels, the right side %d",                      \
      "two constant vectors of different lengths meet in an operator")                         \
    X(param_size_mismatch, "param-size-mismatch", ERROR, shapes,                               \
      P3(const char *, param, int, size, int, given),                                          \
      "shape mismatch: param '%s' has %d values but its initial value has %d",                 \
      "a param's initial vector has neither one value nor one per channel")                    \
    X(not_mono, "not-mono", ERROR, shapes,                                                     \
      P3(const char *, node, const char *, arg, int, chans),                                   \
      "shape mismatch in '%s': %s must have 1 channel, it has %d",                             \
      "an argument that must be one channel (harmonic's f0) has several")                      \
    X(not_stereo, "not-stereo", ERROR, shapes,                                                 \
      P3(const char *, node, const char *, arg, int, chans),                                   \
      "shape mismatch in '%s': %s must have 2 channels (left and right), it has %d",           \
      "a stereo argument (width's x) that does not have exactly two channels")                 \
    X(index_out_of_range, "index-out-of-range", ERROR, shapes,                                 \
      P4(const char *, node, double, index, int, chans, const char *, s),                      \
      "shape mismatch in '%s': index %g is out of range for a signal with %d channel%s",       \
      "pick() of a channel the signal does not have")                                          \
    X(too_few_bands, "too-few-bands", ERROR, shapes,                                           \
      P3(const char *, node, const char *, arg, int, chans),                                   \
      "shape mismatch in '%s': %s needs at least 2 bands, it has %d channel",                  \
      "filtered_noise() magnitudes or eq() bands, fewer than two")                          \
    X(bad_sections, "bad-sections", ERROR, shapes, P2(const char *, node, int, chans),         \
      "shape mismatch in '%s': sections needs 6 channels per section, it has %d",              \
      "sos() sections whose channels are not a multiple of 6 (b0 b1 b2 a0 a1 a2 per section)") \
    X(bad_matrix, "bad-matrix", ERROR, shapes, P4(const char *, node, int, want, int, lines, int, chans), \
      "shape mismatch in '%s': matrix needs %d channels (N x N for %d lines), it has %d",     \
      "fdn() given a feedback matrix whose channels are not the square of the delays' channels") \
    X(bad_weights, "bad-weights", ERROR, shapes,                                               \
      P4(const char *, node, const char *, arg, int, chans, const char *, need),               \
      "shape mismatch in '%s': %s has %d channels, %s",                                        \
      "dense(), conv1d() or gru() weights whose channels do not fit the input's (a matrix "    \
      "[IN, OUT] has IN x OUT channels)")                                                      \
    X(too_many_channels, "too-many-channels", ERROR, shapes, P2(const char *, node, int, max), \
      "'%s' takes at most %d channels", "a node asked for more channels than it makes")        \
    X(too_many_values, "too-many-values", ERROR, shapes, P2(const char *, node, int, max),     \
      "'%s' makes at most %d values", "range() asked for more values than it makes")           \
    X(too_many_partials, "too-many-partials", ERROR, shapes,                                   \
      P3(const char *, node, int, max, int, chans),                                            \
      "'%s' takes at most %d partials, amps has %d channels",                                  \
      "harmonic() given more partials than it renders")                                        \
    X(no_channels, "no-channels", ERROR, shapes, P1(const char *, node),                       \
      "'%s' would have no channels", "a node whose output would have no channels")             \
    /* ---- rates */                                                                           \
    X(feedback_rate, "feedback-rate", ERROR, rates, P2(const char *, name, const char *, rate), \
      "'%s' feeds back into itself at %s rate", "a feedback loop that is not at audio rate "   \
      "(loops run sample by sample through a delay)")                                          \
    X(rate_mismatch, "rate-mismatch", ERROR, rates,                                            \
      P4(const char *, node, const char *, arg, const char *, article, const char *, rate),    \
      "rate mismatch in '%s': argument '%s' must be constant, but it is %s %s-rate signal",    \
      "an argument that must be constant (an envelope's times) is a signal")                   \
    X(constant_signal, "constant-signal", ERROR, rates,                                        \
      P2(const char *, node, const char *, arg),                                               \
      "rate mismatch in '%s': %s must be a signal that changes over time, not a constant",     \
      "delay() of a constant")                                                                 \
    X(already_audio, "already-audio", ERROR, rates, P2(const char *, node, const char *, arg), \
      "rate mismatch in '%s': %s is already audio rate",                                       \
      "upsample() of a signal that is audio rate already")                                     \
    X(not_audio_rate, "not-audio-rate", ERROR, rates,                                          \
      P3(const char *, node, const char *, arg, const char *, rate),                           \
      "rate mismatch in '%s': %s must be audio rate, it is %s rate",                           \
      "downsample() of a signal that is not audio rate")                                       \
    X(audio_rate_filter, "audio-rate-filter", ERROR, rates,                                    \
      P2(const char *, node, const char *, arg),                                               \
      "rate mismatch in '%s': %s must be control rate (one filter per frame) or constant, "    \
      "not audio rate", "filtered_noise() magnitudes that change at audio rate")               \
    /* ---- units */                                                                           \
    X(bad_unit, "bad-unit", ERROR, units,                                                      \
      P3(const char *, setting, const char *, want, const char *, got),                        \
      "bad unit: %s expects %s, got %s",                                                       \
      "a setting in the wrong unit: rate and frames take a frequency, length a time")          \
    X(mixed_units, "mixed-units", ERROR, units,                                                \
      P3(const char *, param, const char *, first, const char *, other),                       \
      "bad unit: param '%s' mixes %s and %s", "a param's value and bounds in different units") \
    /* ---- settings and the out */                                                            \
    X(setting_twice, "setting-twice", ERROR, settings, P1(const char *, setting),              \
      "'%s' is set twice", "rate, frames or length set more than once")                        \
    X(setting_not_constant, "setting-not-constant", ERROR, settings, P1(const char *, what),   \
      "%s must be a single number known when compiling",                                       \
      "a setting or a size that is a signal or a vector")                                      \
    X(setting_not_positive, "setting-not-positive", ERROR, settings,                           \
      P2(const char *, what, double, value), "%s must be positive, got %g",                    \
      "a setting or a size that is zero, negative or not finite")                              \
    X(rate_out_of_range, "rate-out-of-range", ERROR, settings,                                 \
      P2(const char *, what, double, value), "%s must be from 1 hz to 1000 khz, got %g hz",    \
      "a rate or frames setting below 1 hz or above 1000 khz (--rate has the same range)")     \
    X(bad_count, "bad-count", ERROR, settings,                                                 \
      P3(const char *, what, int, max, double, value),                                         \
      "%s must be a whole number up to %d, got %g",                                            \
      "a size (a param's values, an input's channels) with a fraction, or too large")          \
    X(missing_out, "missing-out", ERROR, settings, P0(),                                       \
      "the patch has no 'out' statement", "every patch needs exactly one `out`")               \
    X(two_outs, "two-outs", ERROR, settings, P0(),                                             \
      "a patch has one 'out' (make several channels with [a, b])",                             \
      "a second `out` statement")                                                              \
    /* ---- params and inputs */                                                               \
    X(unknown_param_option, "unknown-param-option", ERROR, params, P1(const char *, word),     \
      "unexpected '%s' after the param's value",                                               \
      "a word after a param's value other than lin, log and fixed")                            \
    X(unknown_per, "unknown-per", ERROR, params, P1(const char *, word),                       \
      "unknown 'per %s'", "`per` followed by a word other than `frame`")                       \
    X(repeated_bounds, "repeated-bounds", ERROR, params, P0(),                                 \
      "the param already has bounds", "a param with two `in [lo, hi]`")                        \
    X(repeated_fixed, "repeated-fixed", ERROR, params, P0(),                                   \
      "the param is already 'fixed'", "a param with `fixed` twice")                            \
    X(repeated_scale, "repeated-scale", ERROR, params, P1(const char *, scale),                \
      "the param already has a scale ('%s')", "a param with two of `lin` and `log`")           \
    X(repeated_per, "repeated-per", ERROR, params, P1(const char *, per),                      \
      "the param is already 'per %s'", "a param with `per frame` twice")                       \
    X(param_string, "param-string", ERROR, params, P0(),                                       \
      "a param's value must be numbers", "a file name as the value of a param that is not "    \
      "`per frame`")                                                                           \
    X(param_not_constant, "param-not-constant", ERROR, params, P0(),                           \
      "a param's initial value must be known when compiling", "a param starting at a signal")  \
    X(param_not_finite, "param-not-finite", ERROR, params, P1(const char *, param),            \
      "param '%s' starts at a non-finite value", "a param starting at an infinity or NaN")     \
    X(bad_bounds, "bad-bounds", ERROR, params, P0(),                                           \
      "a param's bounds must be two numbers", "bounds that are signals or vectors")            \
    X(reversed_bounds, "reversed-bounds", ERROR, params,                                       \
      P3(const char *, param, double, lo, double, hi),                                         \
      "param '%s' has bounds [%g, %g]: the lower must be below the upper",                     \
      "a lower bound that is not below the upper one")                                         \
    X(param_outside_bounds, "param-outside-bounds", ERROR, params,                             \
      P4(const char *, param, double, value, double, lo, double, hi),                          \
      "param '%s' starts at %g, outside its bounds [%g, %g]",                                  \
      "a param starting outside its own bounds")                                               \
    X(log_param_not_positive, "log-param-not-positive", ERROR, params,                         \
      P1(const char *, param),                                                                 \
      "log param '%s' needs positive values and bounds",                                       \
      "a `log` param with a value or a lower bound that is not positive")                      \
    X(too_many_dimensions, "too-many-dimensions", ERROR, params,                               \
      P3(const char *, what, int, max, const char *, s), "%s has at most %d dimension%s",      \
      "a param's size of more than two counts ([R, C]), an input's of more than one")          \
    X(bad_seed, "bad-seed", ERROR, params, P1(double, seed),                                   \
      "a seed is a whole number from 0, got %g",                                               \
      "a draw's seed that is negative, has a fraction or is beyond 9e15")                      \
    X(uniform_reversed, "uniform-reversed", ERROR, params, P2(double, lo, double, hi),         \
      "uniform(%g, %g): the lower end must be below the upper",                                \
      "a uniform() draw whose lower end is not below its upper one")                           \
    X(negative_std, "negative-std", ERROR, params, P1(double, std),                            \
      "normal(): std must not be negative, got %g", "a normal() draw with a negative std")     \
    X(bad_input_source, "bad-input-source", ERROR, params, P1(const char *, word),             \
      "an input comes from 'target' or a file name, not '%s'",                                 \
      "`input x = WORD` with a word other than `target`")                                      \
    X(unused_param, "unused-param", WARNING, params, P1(const char *, param),                  \
      "param '%s' does not reach the out", "a param the out does not depend on: a fit leaves " \
      "it unchanged")                                                                          \
    /* ---- notes inputs and lanes */                                                          \
    X(lane_mismatch, "lane-mismatch", ERROR, notes,                                            \
      P5(const char *, node, int, arg, const char *, input, int, other, const char *,          \
         other_input),                                                                         \
      "lane mismatch in '%s': argument %d has the voices of notes input '%s', argument %d "    \
      "those of '%s'", "signals of the voices of two notes inputs meet in one node")           \
    X(no_fields, "no-fields", ERROR, notes, P1(const char *, name), "'%s' has no fields",      \
      "a dotted name (x.freq) whose first part is not a notes input, or with two dots")        \
    X(unknown_field, "unknown-field", ERROR, notes,                                            \
      P2(const char *, input, const char *, field), "notes input '%s' has no field '%s'",      \
      "a field of a notes input other than freq, gate, vel and onset")                         \
    X(unknown_note_name, "unknown-note-name", ERROR, notes, P1(const char *, name),            \
      "'%s' is not a note name", "a note written in a patch whose key is a word but not a "    \
      "note name such as c4, f#3 or eb5")                                                      \
    X(bad_key, "bad-key", ERROR, notes, P0(), "a MIDI key is a whole number from 0 to 127",    \
      "a note written in a patch whose key is a number with a fraction or a unit, or beyond "  \
      "0..127")                                                                                \
    X(note_time_unit, "note-time-unit", ERROR, notes, P1(const char *, what),                  \
      "bad unit: a note's %s expects a time",                                                  \
      "a note's onset or duration in a unit other than s or ms")                               \
    X(note_time_out_of_range, "note-time-out-of-range", ERROR, notes,                          \
      P2(const char *, what, double, seconds),                                                 \
      "a note's %s must be between 0 and 1e6 s, got %g",                                       \
      "a note's onset or duration beyond 1e6 s")                                               \
    X(bad_velocity, "bad-velocity", ERROR, notes, P0(),                                        \
      "a note's velocity must be between 0 and 1",                                             \
      "a note's velocity outside 0..1, or with a unit")                                        \
    /* ---- defs */                                                                            \
    X(recursive_def, "recursive-def", ERROR, defs, P2(const char *, def, const char *, chain), \
      "recursive def '%s' (%s)", "a def that calls itself, directly or through others")        \
    X(missing_return, "missing-return", ERROR, defs, P1(const char *, def),                    \
      "def '%s' has no 'return'", "a def's body without `return`")                             \
    X(two_returns, "two-returns", ERROR, defs, P1(const char *, def),                          \
      "def '%s' has more than one return", "a def's body with a second `return`")              \
    X(statement_in_def, "statement-in-def", ERROR, defs, P0(),                                 \
      "only bindings and 'return' may appear inside a def",                                    \
      "a setting, param, input, out, def or use inside a def")                                 \
    X(return_outside_def, "return-outside-def", ERROR, defs, P0(),                             \
      "'return' outside a def", "a `return` at the top level of a patch")                      \
    X(def_hides_node, "def-hides-node", ERROR, defs, P1(const char *, def),                    \
      "def '%s' would hide the built-in node of that name", "a def named like a node")         \
    /* ---- modules */                                                                         \
    X(module_not_found, "module-not-found", ERROR, modules, P1(const char *, module),          \
      "cannot find module '%s'", "no MODULE.weft in the folders searched (the hint lists "     \
      "them)")                                                                                 \
    X(statement_in_module, "statement-in-module", ERROR, modules, P0(),                        \
      "a module may only contain 'def' and 'use' statements",                                  \
      "a used module holds settings, params, inputs, bindings or an out")                      \
    /* ---- limits */                                                                          \
    X(brackets_too_deep, "brackets-too-deep", ERROR, limits, P1(int, max),                     \
      "brackets nested too deeply (limit %d)", "brackets nested more than 256 deep")           \
    X(expression_too_deep, "expression-too-deep", ERROR, limits, P0(),                         \
      "expression nested too deeply", "an expression deeper than the parser's stack")          \
    X(patch_too_deep, "patch-too-deep", ERROR, limits, P1(int, max),                           \
      "the patch nests too deeply here (more than %d levels of brackets, calls and bindings)", \
      "evaluation nested more than 1000 levels deep")                                          \
    X(bindings_too_deep, "bindings-too-deep", ERROR, limits, P0(),                             \
      "bindings nested too deeply", "a chain of more than 800 bindings, each using the next")  \
    X(defs_too_deep, "defs-too-deep", ERROR, limits, P1(int, max),                             \
      "defs nested more than %d deep", "defs calling defs more than 200 deep")                 \
    X(vector_too_long, "vector-too-long", ERROR, limits, P1(int, max),                         \
      "vector literal longer than %d", "a constant vector of more than a million values")      \
    X(param_too_large, "param-too-large", ERROR, limits,                                       \
      P2(const char *, param, long long, values),                                              \
      "param '%s' has %lld values, more than 2^31",                                            \
      "a matrix param [R, C] of more than 2^31 values")                                        \
    X(too_many_nodes, "too-many-nodes", ERROR, limits, P1(int, max),                           \
      "the patch expands to more than %d nodes", "defs expanding to more than two million "    \
      "nodes")                                                                                 \
    /* ---- command-line options */                                                            \
    X(bad_set_option, "bad-set-option", ERROR, options, P1(const char *, text),                \
      "--set takes NAME=VALUE, got '%s'", "a --set without '=' or without a name or value")    \
    X(set_not_constant, "set-not-constant", ERROR, options,                                    \
      P2(const char *, option, const char *, text), "%s: '%s' is not a constant",              \
      "a --set value that is a signal")                                                        \
    X(set_not_value, "set-not-value", ERROR, options,                                          \
      P2(const char *, option, const char *, text), "%s: '%s' is not a value",                 \
      "a --set value that is not one expression")                                              \
    X(bad_input_option, "bad-input-option", ERROR, options, P1(const char *, text),            \
      "--input takes NAME=FILE, got '%s'", "an --input without '=' or without a name or file") \
    X(unknown_input, "unknown-input", ERROR, options,                                          \
      P2(const char *, option, const char *, name), "--input %s: the patch has no input '%s'", \
      "an --input naming no input of the patch")                                               \
    X(input_takes_notes, "input-takes-notes", ERROR, options,                                  \
      P2(const char *, option, const char *, input),                                           \
      "--input %s: input '%s' takes notes, not audio",                                         \
      "an --input giving an audio file to a notes input")                                      \
    X(input_takes_audio, "input-takes-audio", ERROR, options,                                  \
      P2(const char *, option, const char *, input),                                           \
      "--input %s: input '%s' takes audio, not notes",                                         \
      "an --input giving a MIDI file to an audio input")                                       \
    X(unknown_param, "unknown-param", ERROR, options, P1(const char *, param),                 \
      "--set: the patch has no param '%s'", "a --set naming no param of the patch")            \
    X(set_size_mismatch, "set-size-mismatch", ERROR, options,                                  \
      P3(const char *, param, int, size, int, given),                                          \
      "--set %s: the param has %d values, got %d",                                             \
      "a --set vector with neither one value nor one per value of the param")                  \
    X(set_not_finite, "set-not-finite", ERROR, options,                                        \
      P2(const char *, param, double, value), "--set %s: %g is not a finite number",           \
      "a --set value that is infinite or NaN (1e308 * 10)")                                    \
    X(set_out_of_range, "set-out-of-range", ERROR, options,                                    \
      P4(const char *, param, double, value, double, lo, double, hi),                          \
      "--set %s: %g is outside the param's range [%g, %g]",                                    \
      "a --set value outside the param's bounds")                                              \
    X(set_log_not_positive, "set-log-not-positive", ERROR, options,                            \
      P2(const char *, param, double, value),                                                  \
      "--set %s: a log param needs a positive value, got %g",                                  \
      "a --set value of a `log` param that is not positive")                                   \
    /* ---- files */                                                                           \
    X(cannot_read_patch, "cannot-read-patch", ERROR, files,                                    \
      P2(const char *, path, const char *, reason), "cannot read patch '%s': %s",              \
      "the patch file is missing or unreadable")                                               \
    X(cannot_read_audio, "cannot-read-audio", ERROR, files,                                    \
      P2(const char *, path, const char *, reason), "cannot read audio file '%s': %s",         \
      "an input, target or frame file libsndfile cannot read")                                 \
    X(unusable_audio, "unusable-audio", ERROR, files, P1(const char *, path),                  \
      "audio file '%s' has no usable channels or sample rate",                                 \
      "an audio file whose header gives no channels or no rate")                               \
    X(empty_audio, "empty-audio", ERROR, files, P1(const char *, path),                        \
      "audio file '%s' is empty", "a target or frame file of no frames")                       \
    X(audio_too_long, "audio-too-long", ERROR, files,                                          \
      P2(const char *, path, long long, frames),                                               \
      "audio file '%s' is too long (%lld frames)", "a file of more than 2^31 frames")          \
    X(resample_ratio, "resample-ratio", ERROR, files,                                          \
      P3(const char *, path, int, from, double, to),                                           \
      "cannot resample '%s' from %d Hz to %g Hz (ratio beyond 256)",                           \
      "a file whose rate is more than 256 times from the patch's")                             \
    X(resample_failed, "resample-failed", ERROR, files,                                        \
      P2(const char *, path, const char *, reason), "cannot resample '%s': %s",                \
      "libsamplerate cannot start converting the file")                                        \
    X(unknown_audio_format, "unknown-audio-format", ERROR, files, P1(const char *, path),      \
      "cannot tell the audio format of '%s' from its extension",                               \
      "an output file name whose extension names no format libsndfile has (the hint lists "    \
      "those it writes)")                                                                      \
    X(no_sample_format, "no-sample-format", ERROR, files,                                      \
      P2(const char *, path, const char *, codec),                                             \
      "--format does not apply to '%s': %s has no sample format",                              \
      "--format with an .mp3, .ogg or .opus output, which hold an encoded bitstream")          \
    X(flac_float, "flac-float", ERROR, files, P1(const char *, path),                          \
      "FLAC cannot hold float samples ('%s'): use pcm16 or pcm24",                             \
      "--format float with a .flac output")                                                    \
    X(unsupported_audio_format, "unsupported-audio-format", ERROR, files,                      \
      P3(int, chans, int, rate, const char *, path),                                           \
      "libsndfile cannot write %d channels at %d Hz in the format asked for '%s'",             \
      "an output format that cannot hold these channels or this rate (FLAC: 8 channels)")      \
    X(pipe_format, "pipe-format", ERROR, files, P2(const char *, type, const char *, why),   \
      "cannot write %s audio to a pipe: %s",                                                   \
      "weft run -o - into a pipe with a --type whose header libsndfile rewrites at the end "   \
      "(aiff, caf, w64, ...)")                                                                 \
    X(cannot_write, "cannot-write", ERROR, files,                                              \
      P2(const char *, path, const char *, reason),                                            \
      "cannot write '%s': %s", "an output file that cannot be created")                        \
    X(write_failed, "write-failed", ERROR, files, P1(const char *, path),                      \
      "cannot write '%s'", "writing an audio file failed part way (a full disk)")              \
    X(cannot_finish_writing, "cannot-finish-writing", ERROR, files,                            \
      P2(const char *, path, const char *, reason), "cannot finish writing '%s': %s",          \
      "closing an audio file failed")                                                          \
    X(cannot_rename, "cannot-rename", ERROR, files, P1(const char *, path),                    \
      "cannot move the finished file into place as '%s'",                                      \
      "a complete file could not be renamed over its target")                                  \
    X(cannot_write_log, "cannot-write-log", ERROR, files,                                      \
      P2(const char *, path, const char *, reason), "cannot write the log '%s': %s",           \
      "the --log file of a fit cannot be created")                                             \
    X(cannot_write_report, "cannot-write-report", ERROR, files,                                \
      P2(const char *, path, const char *, reason), "cannot write the report '%s': %s",        \
      "the --report page of a fit cannot be written")                                          \
    X(cannot_write_patch, "cannot-write-patch", ERROR, files,                                  \
      P2(const char *, path, const char *, reason), "cannot write the fitted patch '%s': %s",  \
      "the fitted patch cannot be written")                                                    \
    X(cannot_read_folder, "cannot-read-folder", ERROR, files,                                  \
      P2(const char *, path, const char *, reason), "cannot read the folder '%s': %s",         \
      "a --target folder that cannot be listed")                                               \
    X(no_recordings, "no-recordings", ERROR, files, P1(const char *, path),                    \
      "--target %s: no recordings in the folder",                                              \
      "a --target folder holding no audio files (by their extensions)")                        \
    X(param_file_channels, "param-file-channels", ERROR, files,                                \
      P4(const char *, param, int, values, const char *, path, int, chans),                    \
      "param '%s' has %d values per frame but '%s' has %d channels",                           \
      "a `per frame` param's audio file of other channels than the param has values")          \
    X(param_file_shape, "param-file-shape", ERROR, files,                                      \
      P4(const char *, path, const char *, shape, const char *, param, const char *, want),    \
      "'%s' has shape %s, param '%s' needs %s", "a param's .npy file of another shape")        \
    X(reads_file, "reads-file", NOTE, files,                                                   \
      P3(const char *, what, const char *, name, const char *, file), "%s '%s' reads \"%s\"",  \
      "follows an error in the file of a param or an input: the statement that reads it")      \
    /* ---- pictures: `weft plot` reads a fit's CSV log */                                     \
    X(cannot_read_log, "cannot-read-log", ERROR, files,                                        \
      P2(const char *, path, const char *, reason), "cannot read the log '%s': %s",            \
      "the CSV file given to `weft plot` is missing or unreadable")                            \
    X(no_loss_column, "no-loss-column", ERROR, files,                                          \
      P2(const char *, path, const char *, header),                                            \
      "'%s' has no loss column (its header is '%s')",                                          \
      "a CSV given to `weft plot` without a column whose name holds \"loss\"")                 \
    X(bad_log_value, "bad-log-value", ERROR, files,                                            \
      P4(const char *, path, int, line, const char *, text, const char *, column),             \
      "'%s' line %d: '%s' is not a number (column %s)",                                        \
      "a cell of a `weft plot` CSV that is neither a number nor empty")                        \
    X(nothing_to_plot, "nothing-to-plot", ERROR, files, P1(const char *, path),                \
      "'%s' has no finite positive losses to plot",                                            \
      "a `weft plot` CSV whose loss columns hold no value a log axis can show")                \
    /* ---- .npy files */                                                                      \
    X(cannot_read_npy, "cannot-read-npy", ERROR, npy,                                          \
      P2(const char *, path, const char *, reason), "%s: cannot read: %s",                     \
      "a param's .npy file is missing, unreadable or a folder")                                \
    X(cannot_write_npy, "cannot-write-npy", ERROR, npy,                                        \
      P2(const char *, path, const char *, reason), "%s: cannot write: %s",                    \
      "a fit cannot write the .npy file of a param beside the fitted patch")                   \
    X(empty_npy, "empty-npy", ERROR, npy, P1(const char *, path),                              \
      "%s: not a .npy file: it is empty", "a .npy file of no bytes")                           \
    X(npz_not_npy, "npz-not-npy", ERROR, npy, P1(const char *, path),                          \
      "%s: not a .npy file but a zip archive, perhaps an .npz (np.savez); save each array "    \
      "with np.save", "a zip archive (np.savez writes them) named as a .npy file")             \
    X(not_npy, "not-npy", ERROR, npy, P1(const char *, path),                                  \
      "%s: not a .npy file (it does not start with \\x93NUMPY)",                               \
      "a file without the .npy magic string")                                                  \
    X(npy_version, "npy-version", ERROR, npy, P3(const char *, path, int, major, int, minor),  \
      "%s: unsupported .npy version %d.%d (weft reads 1.0, 2.0 and 3.0)",                      \
      "a .npy format version other than 1.0, 2.0 and 3.0")                                     \
    X(npy_truncated, "npy-truncated", ERROR, npy,                                              \
      P4(const char *, path, size_t, size, const char *, part, size_t, end),                   \
      "%s: truncated: the file ends at byte %zu, inside %s (which ends at byte %zu)",          \
      "a .npy file that ends inside its magic string, version, header length or header")       \
    X(npy_expected, "npy-expected", ERROR, npy,                                                \
      P4(const char *, path, size_t, byte, const char *, what, const char *, found),           \
      "%s: malformed header at byte %zu: expected %s, found %s",                               \
      "a .npy header that is not the Python dict literal numpy writes")                        \
    X(npy_unknown_key, "npy-unknown-key", ERROR, npy,                                          \
      P3(const char *, path, size_t, byte, const char *, key),                                 \
      "%s: malformed header at byte %zu: unexpected key %s (a .npy header holds 'descr', "     \
      "'fortran_order' and 'shape')", "a .npy header with a key of its own")                   \
    X(npy_repeated_key, "npy-repeated-key", ERROR, npy,                                        \
      P3(const char *, path, size_t, byte, const char *, key),                                 \
      "%s: malformed header at byte %zu: key %s given twice",                                  \
      "a .npy header with a key twice")                                                        \
    X(npy_missing_key, "npy-missing-key", ERROR, npy,                                          \
      P2(const char *, path, const char *, key),                                               \
      "%s: malformed header: it has no '%s' key",                                              \
      "a .npy header without descr, fortran_order or shape")                                   \
    X(npy_structured_dtype, "npy-structured-dtype", ERROR, npy,                                \
      P2(const char *, path, size_t, byte),                                                    \
      "%s: unsupported dtype: a structured dtype (fields or a subarray, at byte %zu); weft "   \
      "reads plain float32 and float64 arrays", "an array of records or of subarrays")         \
    X(npy_dtype, "npy-dtype", ERROR, npy, P2(const char *, path, const char *, dtype),         \
      "%s: unsupported dtype %s: weft reads float32 and float64 arrays; save it as float32, "  \
      "e.g. np.save(path, a.astype(np.float32))",                                              \
      "an array of integers, float16, complex numbers, ...")                                   \
    X(npy_dimension_too_large, "npy-dimension-too-large", ERROR, npy,                          \
      P2(const char *, path, size_t, byte),                                                    \
      "%s: shape too large: the dimension at byte %zu does not fit in 64 bits",                \
      "a .npy dimension of 2^63 or more")                                                      \
    X(npy_too_many_dimensions, "npy-too-many-dimensions", ERROR, npy,                          \
      P3(const char *, path, size_t, ndim, int, max),                                          \
      "%s: the array has %zu dimensions; weft reads at most %d",                               \
      "an array of more than eight dimensions")                                                \
    X(npy_too_large, "npy-too-large", ERROR, npy, P2(const char *, path, const char *, shape), \
      "%s: shape too large: %s holds more values than any memory can",                         \
      "a .npy shape of more than 2^60 values")                                                 \
    X(npy_fortran_order, "npy-fortran-order", ERROR, npy,                                      \
      P2(const char *, path, const char *, shape),                                             \
      "%s: the array (shape %s) is stored in Fortran order; weft reads C order: save "         \
      "np.ascontiguousarray(a)", "an array of two dimensions or more in Fortran order")        \
    X(npy_short_data, "npy-short-data", ERROR, npy,                                            \
      P5(const char *, path, long long, count, int, bits, size_t, need, size_t, have),         \
      "%s: truncated: the header promises %lld float%d values (%zu bytes), the file holds "    \
      "%zu bytes after it", "a .npy file with fewer values than its header's shape")           \
    /* ---- MIDI files */                                                                      \
    X(cannot_read_midi, "cannot-read-midi", ERROR, midi,                                       \
      P2(const char *, path, const char *, reason), "%s: %s",                                  \
      "a notes input's MIDI file is missing or unreadable")                                    \
    X(not_midi, "not-midi", ERROR, midi, P2(const char *, path, size_t, byte),                 \
      "%s: byte %zu: not a Standard MIDI File (no MThd header)",                               \
      "a file that does not start with an MThd chunk")                                         \
    X(midi_truncated_header, "midi-truncated-header", ERROR, midi,                             \
      P4(const char *, path, size_t, byte, unsigned, size, size_t, remain),                    \
      "%s: byte %zu: truncated MThd header (it declares %u bytes, %zu remain)",                \
      "a MIDI file that ends inside its header")                                               \
    X(midi_short_header, "midi-short-header", ERROR, midi,                                     \
      P3(const char *, path, size_t, byte, unsigned, size),                                    \
      "%s: byte %zu: an MThd header of %u bytes (at least 6)",                                 \
      "a MIDI header too short for format, tracks and division")                               \
    X(midi_format_2, "midi-format-2", ERROR, midi, P2(const char *, path, size_t, byte),       \
      "%s: byte %zu: format 2 (independent sequences) is not supported, only formats 0 and 1", \
      "a MIDI file of format 2")                                                               \
    X(midi_unknown_format, "midi-unknown-format", ERROR, midi,                                 \
      P3(const char *, path, size_t, byte, unsigned, format),                                  \
      "%s: byte %zu: unknown SMF format %u",                                                   \
      "a MIDI file of a format above 2")                                                       \
    X(midi_smpte_rate, "midi-smpte-rate", ERROR, midi,                                         \
      P3(const char *, path, size_t, byte, int, fps),                                          \
      "%s: byte %zu: an SMPTE division of %d frames per second (24, 25, 29 or 30)",            \
      "a time code division of a frame rate SMPTE does not have")                              \
    X(midi_smpte_ticks, "midi-smpte-ticks", ERROR, midi, P2(const char *, path, size_t, byte), \
      "%s: byte %zu: an SMPTE division of 0 ticks per frame",                                  \
      "a time code division of no ticks")                                                      \
    X(midi_zero_division, "midi-zero-division", ERROR, midi,                                   \
      P2(const char *, path, size_t, byte),                                                    \
      "%s: byte %zu: a division of 0 ticks per quarter note", "a MIDI division of no ticks")   \
    X(midi_truncated_track, "midi-truncated-track", ERROR, midi,                               \
      P5(const char *, path, size_t, byte, int, track, unsigned, size, size_t, remain),        \
      "%s: byte %zu: truncated track %d (the MTrk header declares %u bytes, %zu remain)",      \
      "a MIDI file that ends inside a track")                                                  \
    X(midi_truncated_chunk, "midi-truncated-chunk", ERROR, midi,                               \
      P4(const char *, path, size_t, byte, unsigned, size, size_t, remain),                    \
      "%s: byte %zu: truncated chunk (its header declares %u bytes, %zu remain)",              \
      "a MIDI file that ends inside a chunk other than a track, before its last track")        \
    X(midi_missing_tracks, "midi-missing-tracks", ERROR, midi,                                 \
      P4(const char *, path, size_t, byte, unsigned, tracks, int, found),                      \
      "%s: byte %zu: the MThd header declares %u tracks, the file ends after %d",              \
      "a MIDI file of fewer tracks than its header declares")                                  \
    X(midi_truncated_event, "midi-truncated-event", ERROR, midi,                               \
      P5(const char *, path, size_t, byte, const char *, event, int, track, size_t, end),      \
      "%s: byte %zu: truncated %s in track %d (its chunk ends at byte %zu)",                   \
      "a track chunk that ends inside an event")                                               \
    X(midi_long_number, "midi-long-number", ERROR, midi, P2(const char *, path, size_t, byte), \
      "%s: byte %zu: a variable-length number longer than 4 bytes",                            \
      "a delta time or length of more than four bytes")                                        \
    X(midi_no_running_status, "midi-no-running-status", ERROR, midi,                           \
      P2(const char *, path, size_t, byte),                                                    \
      "%s: byte %zu: running status with no previous status byte",                             \
      "a track whose first event has data bytes but no status byte")                           \
    X(midi_status_in_data, "midi-status-in-data", ERROR, midi,                                 \
      P4(const char *, path, size_t, byte, unsigned, status, const char *, message),           \
      "%s: byte %zu: status byte 0x%02x inside a %s (data bytes are below 0x80)",              \
      "a channel message cut short by the next status byte")                                   \
    X(midi_bad_status, "midi-bad-status", ERROR, midi,                                         \
      P3(const char *, path, size_t, byte, unsigned, status),                                  \
      "%s: byte %zu: status byte 0x%02x is not allowed in a MIDI file",                        \
      "a system common or real-time message in a track")                                       \
    X(midi_tempo_size, "midi-tempo-size", ERROR, midi,                                         \
      P3(const char *, path, size_t, byte, unsigned, size),                                    \
      "%s: byte %zu: a set-tempo event of %u bytes (3 expected)",                              \
      "a set-tempo event too short")                                                           \
    X(midi_zero_tempo, "midi-zero-tempo", ERROR, midi, P2(const char *, path, size_t, byte),   \
      "%s: byte %zu: a tempo of 0 microseconds per quarter note", "a set-tempo event of 0")    \
    /* ---- running */                                                                         \
    X(no_length, "no-length", ERROR, run, P1(const char *, patch),                             \
      "%s: the patch has no length: add `length 2 s` to it, or pass --seconds",                \
      "no length from the patch, --seconds, inputs or a target")                               \
    X(bad_length, "bad-length", ERROR, run, P1(double, samples),                               \
      "a run must be between 1 sample and 2^31 samples long (asked for %.10g)",                \
      "a length of less than a sample or more than 2^31 samples")                              \
    X(input_without_source, "input-without-source", ERROR, run, P1(const char *, input),       \
      "input '%s' has no source", "an input the out uses, with no --input, file or target")    \
    X(input_channels, "input-channels", ERROR, run,                                            \
      P4(const char *, input, int, chans, const char *, path, int, file_chans),                \
      "shape mismatch: input '%s' has %d channels but '%s' has %d",                            \
      "a file of other channels than its input declares (mono inputs mix down)")               \
    X(feedback_too_short, "feedback-too-short", ERROR, run, P2(double, samples, double, rate), \
      "a feedback loop's shortest delay is %.3g samples at %g Hz: it needs at least one",      \
      "a feedback loop whose delay is shorter than a sample at the rate of the run")           \
    X(unstable_run, "unstable-run", WARNING, run,                                              \
      P3(const char *, node, double, seconds, const char *, what),                             \
      "'%s' is unstable from %.3f s (%s): its output can grow without bound",                  \
      "a filter's coefficients put its poles on or outside the unit circle during a render")   \
    X(out_not_finite, "out-not-finite", ERROR, run, P2(long long, sample, double, seconds),    \
      "the out is not finite from sample %lld (%.4f s): nothing was written",                  \
      "the out became infinite or NaN; nothing is written")                                    \
    X(interrupted, "interrupted", ERROR, run, P1(const char *, path),                          \
      "interrupted: '%s' was not written", "Ctrl-C during a render")                           \
    X(clipped, "clipped", WARNING, run,                                                        \
      P3(long long, samples, const char *, path, double, peak),                                \
      "%lld samples of '%s' were clipped (peak %.2f dBFS)",                                    \
      "samples beyond full scale in a PCM output")                                             \
    X(param_out_of_memory, "param-out-of-memory", ERROR, run,                                  \
      P4(const char *, param, double, gb, int, rows, int, values),                             \
      "param '%s' needs %.3g GB (%d x %d values) and does not fit in memory",                  \
      "a param (a `per frame` one: a row per frame) too large for the memory there is")        \
    X(internal_lane_space, "internal-lane-space", ERROR, run,                                  \
      P3(const char *, node, int, space, int, spaces),                                         \
      "internal: node '%s' has lane space %d of %d",                                           \
      "an internal error (no patch causes it): a node given the lanes of no notes input")      \
    X(internal_no_kernel, "internal-no-kernel", ERROR, run, P1(const char *, node),            \
      "internal: node '%s' has no kernel",                                                     \
      "an internal error (no patch causes it): a node kind without a forward kernel")          \
    X(internal_stream_lanes, "internal-stream-lanes", ERROR, run, P1(int, lanes),              \
      "internal: a stream renders one lane, the out has %d",                                   \
      "an internal error (no patch causes it): a streamed out of several lanes")               \
    X(out_of_memory, "out-of-memory", ERROR, run, P2(double, gb, const char *, what),          \
      "running this patch needs %.3g GB of memory for %s, more than there is",                 \
      "a run whose signals or node states do not fit in memory (hours at audio rate through "  \
      "nodes that keep them all, or very many lanes)")                                         \
    X(no_graphviz, "no-graphviz", ERROR, run, P1(const char *, format),                       \
      "cannot draw the graph as %s: Graphviz's `dot` is not on PATH",                          \
      "weft graph --format svg or png where Graphviz is not installed")                        \
    X(graphviz_failed, "graphviz-failed", ERROR, run,                                          \
      P2(const char *, how, const char *, message), "Graphviz's `dot` %s: %s",                 \
      "dot, drawing the graph, exited with an error or was killed")                            \
    X(graphviz_warning, "graphviz-warning", WARNING, run, P1(const char *, message),           \
      "Graphviz's `dot` warns: %s", "dot drew the graph but printed a message")                \
    X(no_audio_device, "no-audio-device", ERROR, run, P2(const char *, device, const char *, why), \
      "cannot play to audio device '%s': %s",                                                  \
      "playing (weft play, :play) where there is no audio system or output device, or none "   \
      "of that --device name, or the device would not open")                                   \
    /* ---- live sessions */                                                                   \
    X(session_input_no_file, "session-input-no-file", ERROR, session,                          \
      P1(const char *, input), "input '%s' has no source in a live session",                   \
      "an input of a session with no file (a session has no --input or target)")               \
    X(session_length, "session-length", ERROR, session, P1(double, seconds),                   \
      "a session plays between 1 sample and 2^31 samples (asked for %.10g s)",                 \
      "a session's length of less than a sample or more than 2^31 samples")                    \
    X(nothing_to_forget, "nothing-to-forget", ERROR, session, P1(const char *, name),          \
      "nothing in the session defines '%s'", "forgetting a name no statement of the session "  \
      "defines")                                                                               \
    X(repl_unknown_command, "repl-unknown-command", ERROR, session, P1(const char *, command), \
      "no REPL command ':%s'", "a line of the REPL starting with ':' that names no command")   \
    X(repl_usage, "repl-usage", ERROR, session, P2(const char *, command, const char *, usage), \
      ":%s takes %s", "a REPL command with arguments it does not take")                        \
    X(repl_needs, "repl-needs", ERROR, session, P2(const char *, command, const char *, what), \
      ":%s needs %s first", "a REPL command before what it works on: :reload before :load, "  \
      ":grad before :fit")                                                                     \
    /* ---- fitting */                                                                         \
    X(fit_needs_mono, "fit-needs-mono", ERROR, fit, P1(int, chans),                            \
      "a fit needs a mono out, and this patch's out has %d channels: mix them with mix(...)",  \
      "fitting a patch whose out has several channels")                                        \
    X(nothing_to_fit, "nothing-to-fit", ERROR, fit, P1(const char *, patch),                   \
      "%s has no params to fit", "a fit of a patch whose params are all fixed, or has none")   \
    X(excerpt_follows_run, "excerpt-follows-run", ERROR, fit,                                  \
      P2(const char *, what, const char *, name),                                              \
      "--excerpt: %s '%s' follows the whole recording, and each excerpt runs from its own "    \
      "start", "a fit with --excerpt of a patch with a notes input or a per-frame param, "     \
      "which are timed from the start of the recording")                                       \
    X(excerpt_too_long, "excerpt-too-long", ERROR, fit, P1(long long, samples),                \
      "excerpts of %lld samples are longer than every recording",                              \
      "--excerpt longer than every --target recording")                                        \
    X(in_recording, "in-recording", NOTE, fit, P1(const char *, path),                         \
      "in the recording '%s'", "follows an error about one recording of a batch: which one")   \
    X(param_reaches_analysis, "param-reaches-analysis", ERROR, fit,                            \
      P2(const char *, node, const char *, param),                                             \
      "'%s' is an analysis with no gradient, and its input depends on the learnt param '%s'",  \
      "a fit of a patch where a learnt param feeds an analysis node (pitch), which would "     \
      "fit it with silently zero gradients")                                                   \
    X(unstable_node, "unstable-node", ERROR, fit,                                              \
      P4(int, step, const char *, node, double, seconds, const char *, what),                  \
      "the fit stopped at step %d: '%s' became unstable at %.3f s (%s)",                       \
      "a filter's coefficients left the region where it is stable during a fit")               \
    X(diverged_node, "diverged-node", ERROR, fit,                                              \
      P5(int, step, const char *, node, const char *, what, const char *, s, const char *,     \
         params),                                                                              \
      "the fit diverged at step %d: '%s' produced %s; it depends on param%s %s",               \
      "a node's output stopped being finite during a fit")                                     \
    X(diverged_param, "diverged-param", ERROR, fit, P2(int, step, const char *, param),        \
      "the fit diverged at step %d: param %s is no longer finite",                             \
      "a step made a param infinite or NaN")                                                   \
    X(diverged_gradient, "diverged-gradient", ERROR, fit,                                      \
      P3(int, step, double, loss, const char *, param),                                        \
      "the fit diverged at step %d (loss %g): the gradient of param '%s' is not finite",       \
      "the loss is finite but a param's gradient is not")                                      \
    X(diverged_gradient_element, "diverged-gradient-element", ERROR, fit,                      \
      P4(int, step, double, loss, const char *, param, size_t, element),                       \
      "the fit diverged at step %d (loss %g): the gradient of param '%s' (element %zu) is "    \
      "not finite", "the loss is finite but the gradient of one value of a vector param is "   \
      "not")                                                                                   \
    X(diverged_loss, "diverged-loss", ERROR, fit, P2(int, step, double, loss),                 \
      "the fit diverged at step %d: the loss is %g",                                           \
      "the loss stopped being finite, with every node's output and gradient finite")           \
    X(target_shorter, "target-shorter", WARNING, fit,                                          \
      P3(const char *, path, double, target_seconds, double, patch_seconds),                   \
      "the target '%s' is shorter (%.3f s) than the patch (%.3f s): the loss measures its length", \
      "a target shorter than the patch's length")                                              \
    X(target_not_finite, "target-not-finite", ERROR, fit,                                      \
      P2(double, value, long long, sample),                                                    \
      "the target has a non-finite sample (%g at sample %lld)",                                \
      "a target recording holding infinities or NaN")                                          \
    X(signal_too_short, "signal-too-short", ERROR, fit, P2(long long, samples, int, smallest), \
      "the signal (%lld samples) is shorter than the smallest FFT size of the spectral loss "  \
      "(%d)", "a fit shorter than the spectral loss's smallest window")                        \
    X(bad_fft_size, "bad-fft-size", ERROR, fit, P1(int, size),                                 \
      "FFT size %d: sizes must be multiples of 4 up to 2^20",                                  \
      "a spectral loss asked for an FFT size it does not support")                          \
    X(bad_loss_setting, "bad-loss-setting", ERROR, fit, P2(const char *, what, double, value), \
      "the loss's setting %s is out of range (%g)",                                            \
      "a loss setting it cannot use (more than 1024 mel bands, a feature term without a rate)")

#endif

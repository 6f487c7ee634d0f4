/* Forward tests of node families that live in files of their own
 * (tests/test_<family>.c, linked into test_nodes by tests/meson.build's
 * family_tests), declared here for the table of every kind's tests in
 * test_nodes.c. */
#ifndef WF_FAMILY_TESTS_H
#define WF_FAMILY_TESTS_H

/* tests/test_filters_fir.c */
void test_fir_responses(void **state);
void test_fir_paths_agree(void **state);
void test_fir_per_frame(void **state);
void test_fir_stream(void **state);
void test_fir_adjoints(void **state);
void test_fir_tv(void **state);
/* tests/test_filters_lpc.c */
void test_allpole_impulse(void **state);
void test_allpole_time_varying(void **state);
void test_allpole_faults(void **state);
void test_lpc_step_up(void **state);
void test_lpc_stable(void **state);
void test_lpc_any_path(void **state);
/* tests/test_filters_simple.c */
void test_onepole(void **state);
void test_smooth(void **state);
void test_svf_response(void **state);
void test_svf_modes(void **state);
void test_svf_modulation_stable(void **state);
void test_comb(void **state);
void test_allpass(void **state);
void test_comb_fractional(void **state);
void test_comb_fault(void **state);
void test_filters_stream(void **state);
/* tests/test_fdn.c */
void test_fdn_comb(void **state);
void test_fdn_impulse(void **state);
void test_fdn_gradients(void **state);
void test_fdn_stream(void **state);
void test_fdn_faults(void **state);
void test_room_decay(void **state);
void test_room_is_fdn(void **state);
void test_room_mix(void **state);
/* tests/test_iir.c */
void test_biquad_magnitudes(void **state);
void test_biquad_impulse(void **state);
void test_iir_vs_sos(void **state);
void test_iir_stream(void **state);
void test_iir_long_run(void **state);
void test_iir_faults(void **state);
void test_stable_a(void **state);
void test_eq_magnitudes(void **state);
void test_eq_vs_biquads(void **state);
void test_eq_flat(void **state);
void test_eq_stream_faults(void **state);
/* tests/test_shaper.c */
void test_gain(void **state);
void test_distortion_curves(void **state);
void test_distortion_gradients(void **state);
void test_waveshaper(void **state);
/* tests/test_dynamics.c */
void test_dynamics_static_curve(void **state);
void test_dynamics_channels(void **state);
void test_dynamics_time_varying(void **state);
void test_dynamics_time_constants(void **state);
void test_dynamics_release_matters(void **state);
void test_gate_below_threshold(void **state);
void test_limiter_ceiling(void **state);
/* tests/test_modfx.c */
void test_vibrato_fixed_delay(void **state);
void test_vibrato_lfo(void **state);
void test_vibrato_sine(void **state);
void test_chorus_mix(void **state);
void test_flanger_impulse(void **state);
void test_flanger_fault(void **state);
void test_pan_law(void **state);
void test_width(void **state);
void test_modfx_stream(void **state);
/* tests/test_features.c */
void test_loudness_sine(void **state);
void test_rms_sine(void **state);
void test_centroid(void **state);
void test_flatness(void **state);
void test_melspec_bank(void **state);
void test_mfcc_dct(void **state);
void test_features_stream(void **state);

/* tests/test_pitch.c */
void test_pitch_tones(void **state);
void test_pitch_weak_fundamental(void **state);
void test_pitch_glide(void **state);
void test_pitch_unvoiced(void **state);
void test_pitch_recordings(void **state);
void test_pitch_stream(void **state);

/* tests/test_nn.c */
void test_nn_dense_layers(void **state);
void test_nn_defaults(void **state);
void test_nn_conv1d(void **state);
void test_nn_gru(void **state);

#endif

#!/bin/sh
# The main job, from nothing: installs what is missing, builds weft, renders
# an example patch and fits a harmonic synthesizer to a real flute note.
# Results go to out/.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
mkdir -p out
./build/weft run examples/organ.weft -o out/organ.wav
./build/weft fit examples/fit_flute.weft --target examples/data/flute_d5_16k.wav \
    --lr 0.05 --steps 1000 -o out/flute.fitted.weft --render out/flute_fit.wav --log out/flute_fit.csv
echo "rendered out/organ.wav; fitted out/flute.fitted.weft (loss per step in out/flute_fit.csv), heard in out/flute_fit.wav"

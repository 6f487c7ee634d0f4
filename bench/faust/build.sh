#!/bin/sh
# Builds the Faust peers of W5 (bench/WORKLOADS.md) into OUTDIR: the DSPs go
# through Faust's C backend and are compiled with main.c, without -ffast-math,
# into OUTDIR/w5a and OUTDIR/w5b. Generated files stay in OUTDIR.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
out=$1
mkdir -p "$out"
for part in a b; do
    faust -lang c -cn mydsp "$here/w5$part.dsp" -o "$out/w5$part.c"
    w5b=0
    [ "$part" = b ] && w5b=1
    gcc -O3 -march=native -I"$out" -DFAUST_DSP="\"w5$part.c\"" -DW5B=$w5b \
        "$here/main.c" -lm -o "$out/w5$part"
done

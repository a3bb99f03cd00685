#!/usr/bin/env bash
# test/bench/sigmoid_bits.sh: scores of glibc's plain exp (a CPU without
# FMA) against its FMA variant (this CPU), over 10.5M logits
# (test/bench/sigmoid_bits.c).  GLIBC_TUNABLES hides FMA and AVX2 from
# glibc's choice of variant.  Prints "N of M scores differ ...".
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d /tmp/dlfin-sigmoid.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -std=gnu11 -O2 -o "$work/sigmoid_bits" sigmoid_bits.c -lm
"$work/sigmoid_bits" dump "$work/fma.bin"
GLIBC_TUNABLES=glibc.cpu.hwcaps=-FMA,-AVX2 "$work/sigmoid_bits" compare "$work/fma.bin"

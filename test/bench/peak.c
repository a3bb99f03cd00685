/*
 * peak.c
 *	  Single-core float32 peak of this CPU, measured with a loop of
 *	  independent fused multiply-adds on the widest vectors it supports
 *	  (AVX-512, else AVX2).  Prints GFLOP/s (2 flops per lane and FMA) and
 *	  the vector extension used.  test/bench/run divides kernel throughput
 *	  by this figure.
 *
 *	  gcc -O2 -o peak test/bench/peak.c && ./peak
 */
#include <stdio.h>
#include <time.h>

#define ITERS 50000000L			/* loop trips of 12 FMAs */

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

#if defined(__x86_64__)
/* 12 independent FMA chains: enough for 2 ports x 4-5 cycles latency. */
#define FMA12(r) \
	"vfmadd231ps %%" r "14, %%" r "15, %%" r "0\n\t" \
	"vfmadd231ps %%" r "14, %%" r "15, %%" r "1\n\t" \
	"vfmadd231ps %%" r "14, %%" r "15, %%" r "2\n\t" \
	"vfmadd231ps %%" r "14, %%" r "15, %%" r "3\n\t" \
	"vfmadd231ps %%" r "14, %%" r "15, %%" r "4\n\t" \
	"vfmadd231ps %%" r "14, %%" r "15, %%" r "5\n\t" \
	"vfmadd231ps %%" r "14, %%" r "15, %%" r "6\n\t" \
	"vfmadd231ps %%" r "14, %%" r "15, %%" r "7\n\t" \
	"vfmadd231ps %%" r "14, %%" r "15, %%" r "8\n\t" \
	"vfmadd231ps %%" r "14, %%" r "15, %%" r "9\n\t" \
	"vfmadd231ps %%" r "14, %%" r "15, %%" r "10\n\t" \
	"vfmadd231ps %%" r "14, %%" r "15, %%" r "11\n\t"

/* GFLOP/s of the FMA loop on 512-bit vectors. */
__attribute__((target("avx512f"), noinline)) static double
peak512(void)
{
	double		t0 = now();
	long		n = ITERS;

	__asm__ volatile(
		"vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
		"vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
		"1:\n\t" FMA12("zmm")
		"dec %0\n\t"
		"jnz 1b\n\t"
		: "+r"(n) : : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		"xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm14", "xmm15", "cc");
	return 2.0 * 16 * 12 * ITERS / (now() - t0) * 1e-9;
}

/* GFLOP/s of the FMA loop on 256-bit vectors. */
__attribute__((target("avx2,fma"), noinline)) static double
peak256(void)
{
	double		t0 = now();
	long		n = ITERS;

	__asm__ volatile(
		"vpxor %%ymm14, %%ymm14, %%ymm14\n\t"
		"vpxor %%ymm15, %%ymm15, %%ymm15\n\t"
		"1:\n\t" FMA12("ymm")
		"dec %0\n\t"
		"jnz 1b\n\t"
		"vzeroupper\n\t"
		: "+r"(n) : : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		"xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm14", "xmm15", "cc");
	return 2.0 * 8 * 12 * ITERS / (now() - t0) * 1e-9;
}
#endif

int
main(void)
{
	double		best = 0,
				g = 0;
	const char *isa = "none";

#if defined(__x86_64__)
	__builtin_cpu_init();
	/* best of 5: the first runs may see a frequency ramp or a neighbour */
	for (int r = 0; r < 5; r++)
	{
		if (__builtin_cpu_supports("avx512f"))
		{
			g = peak512();
			isa = "avx512";
		}
		else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		{
			g = peak256();
			isa = "avx2";
		}
		if (g > best)
			best = g;
	}
#endif
	printf("%.1f %s\n", best, isa);
	return 0;
}

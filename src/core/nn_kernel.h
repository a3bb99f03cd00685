/*
 * nn_kernel.h
 *	  What the batch kernels (nn.c) and the one-row kernels (nn_row.c)
 *	  share: the 16-unit tile as a GCC/Clang vector type and its loads, and
 *	  the hidden activation (compiled with the default FP contraction, as
 *	  before: it is defined before either file's no-contraction region).
 */
#ifndef DLFIN_NN_KERNEL_H
#define DLFIN_NN_KERNEL_H

#include "nn_internal.h"

#include <math.h>

#define TILE 16

#define INLINE static inline __attribute__((always_inline))

/*
 * A tile of 16 floats as a GCC/Clang vector: one AVX-512 register, two AVX2
 * registers or four SSE registers depending on the kernel variant.  Loads
 * and stores go through an unaligned, may_alias type.
 */
typedef float vf16 __attribute__((vector_size(64)));
typedef float vf16u __attribute__((vector_size(64), aligned(4), may_alias));

/* Loads / stores 16 floats at any address (macros: no vector ABI issues). */
#define vload(p)		(*(const vf16u *) (p))
#define vstore(p, v)	(*(vf16u *) (p) = (v))

/*
 * The vector width the kernels run at on this CPU: 16 floats in the
 * AVX-512 variant of DLF_KERNEL (vf16 tiles), 8 in the AVX2 one, 4 in the
 * default, whose CPUs would run 16-float tiles through memory
 * (nn_row_lanes.h, nn_train_lanes.h); a single-variant build decides at
 * compile time.  Every width gives a kernel's variant the same bits.
 */
#if defined(DLF_KERNEL_CLONES)
#define LANES_CPU() \
	(__builtin_cpu_supports("avx512f") && \
	 __builtin_cpu_supports("avx512bw") && \
	 __builtin_cpu_supports("avx512dq") && \
	 __builtin_cpu_supports("avx512vl") ? 16 : \
	 __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 8 : 4)
#elif defined(__AVX512F__)
#define LANES_CPU()	16
#elif defined(__AVX2__)
#define LANES_CPU()	8
#else
#define LANES_CPU()	4
#endif


/* Applies the hidden activation to n values in place. */
static inline void
activate(float *restrict o, int32_t n, int act)
{
	switch (act)
	{
		case DLF_ACT_RELU:
			for (int32_t j = 0; j < n; j++)
				o[j] = o[j] > 0.0f ? o[j] : 0.0f;
			break;
		case DLF_ACT_LEAKY_RELU:
			for (int32_t j = 0; j < n; j++)
				o[j] = o[j] > 0.0f ? o[j] : DLF_LEAKY_SLOPE * o[j];
			break;
		case DLF_ACT_TANH:
			for (int32_t j = 0; j < n; j++)
				o[j] = dlf_tanhf(o[j]);
			break;
		case DLF_ACT_SIGMOID:
			for (int32_t j = 0; j < n; j++)
				o[j] = 1.0f / (1.0f + expf(-o[j]));
			break;
		default:
			break;
	}
}

#endif							/* DLFIN_NN_KERNEL_H */

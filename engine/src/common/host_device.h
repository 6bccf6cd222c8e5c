// Code shared by the CPU reference and the CUDA kernels (the neutral folder common/: neither cpu/
// nor cuda/ owns it, both include it). DEEPLAB_HOST_DEVICE marks functions compiled for both (the
// unit tests run the kernels' per-pixel code on the CPU on machines without a GPU), and the float
// operations below round exactly as the CPU reference does.
#pragma once

#include <cmath>

#if defined(__CUDACC__)
#define DEEPLAB_HOST_DEVICE __host__ __device__
#else
#define DEEPLAB_HOST_DEVICE
#endif

namespace deeplab::pixel {

// One IEEE rounding per operation. nvcc contracts `a * b + c` into a fused multiply-add, which rounds
// once where the CPU reference (x86-64 without FMA) rounds twice; these intrinsics are never
// contracted, so a kernel built from them gives the CPU's results bit for bit.
DEEPLAB_HOST_DEVICE inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

DEEPLAB_HOST_DEVICE inline float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

DEEPLAB_HOST_DEVICE inline float sub_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}

DEEPLAB_HOST_DEVICE inline float div_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

// Correctly rounded square root on both sides (std::sqrt is; CUDA's __fsqrt_rn is).
DEEPLAB_HOST_DEVICE inline float sqrt_rn(float x) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(x);
#else
  return std::sqrt(x);
#endif
}

// expf: CUDA's is accurate to 2 ulp, glibc's to 1 (the only operation here that is not bit-exact).
DEEPLAB_HOST_DEVICE inline float exp_f(float a) {
#if defined(__CUDA_ARCH__)
  return expf(a);
#else
  return std::exp(a);
#endif
}

}  // namespace deeplab::pixel

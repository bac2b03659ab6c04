// What fastperceptron's CUDA kernels share (perceptron.cu, groups.cu): the block size and the
// sigmoid. Included by both; fastperceptron.kernels.cuda_source() inlines it for cupy.RawModule.
#pragma once

#ifndef FP_THREADS
#define FP_THREADS 256  // the block size the host launches with (fastperceptron/backend/cuda/device.py)
#endif

template <typename T> __device__ __forceinline__ T fp_exp(T x);
template <> __device__ __forceinline__ double fp_exp<double>(double x) { return exp(x); }
template <> __device__ __forceinline__ float fp_exp<float>(float x) { return expf(x); }

// sigma(z) = 1 / (1 + exp(-z)): exp overflows to inf for very negative z and 1/(1+inf) = 0; no NaN.
template <typename T> __device__ __forceinline__ T fp_sigmoid(T z) { return T(1) / (T(1) + fp_exp<T>(-z)); }

// fastperceptron's CUDA kernels for groups (SPEC §6), loaded with cupy.RawModule by
// fastperceptron/backend/cuda/kernel.py.
//
// The rows are sorted by group: group g owns rows offsets[g] .. offsets[g+1]-1, in their original
// order. Layouts (the model axis last, as in perceptron.cu, so a warp's weight accesses coalesce):
//
//   X (N, D)   Y (N, K)   S absent or (N,)   offsets (G + 1)
//   W (D*K, G)   C (K, G)   lr (G)   l2 (G)   active (G) 1/0   iterations (G)
//   AW (D*K, G)  AC (K, G)   RHO (K, G): the pull toward the parents' models (SPEC §8) when pulled
//
// train_groups: one thread trains one group for all iterations of a chunk, its weights and sums
// in registers (D, K template parameters, as in perceptron.cu), reading its own rows in order:
// the sums run in the numpy reference's order (z: d in order, then + c; gradients: rows in order).
// Skewed group sizes leave threads of a warp idle; a GPU run of this layout has not been measured.
//
// segment_sum: out[g, j] = sum of A[r, j] over group g's rows, in row order (the order of numpy's
// add.reduceat), one thread per (g, j): the "cupy" backend's segment sums.

#include "common.cuh"  // FP_THREADS, fp_exp, fp_sigmoid

template <typename T>
__global__ void __launch_bounds__(FP_THREADS)
segment_sum(const T* __restrict__ A, const long long* __restrict__ offsets, T* __restrict__ out, long long G,
            int C) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= G * C) return;
    const long long g = i / C;
    const int j = (int)(i % C);
    const long long r0 = offsets[g], r1 = offsets[g + 1];
    T s = A[r0 * C + j];
    for (long long r = r0 + 1; r < r1; ++r) s += A[r * C + j];
    out[i] = s;
}

// z_k = (sum over d of x_d * w_dk) + c_k for the row at x.
template <typename T, int D, int K>
__device__ __forceinline__ T fpg_logit(const T* __restrict__ x, const T (&w)[D * K], const T (&c)[K], int k) {
    T z = x[0] * w[k];
#pragma unroll
    for (int d = 1; d < D; ++d) z += x[d] * w[d * K + k];
    return z + c[k];
}

// SW: 0 no row weights, 1 row weights S (N,). SEED: the tutorial's rule (else logistic).
template <typename T, int SW, int D, int K, bool SEED>
__global__ void __launch_bounds__(FP_THREADS)
train_groups(const T* __restrict__ X, const T* __restrict__ Y, const T* __restrict__ S,
             const long long* __restrict__ offsets, T* __restrict__ W, T* __restrict__ C, const T* __restrict__ lr,
             const T* __restrict__ l2,
             unsigned char* __restrict__ active, long long* __restrict__ iterations, long long G, int n_iter,
             int use_bias, T tol, const T* __restrict__ AW, const T* __restrict__ AC, const T* __restrict__ RHO,
             int pulled) {
    const long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= G || !active[g]) return;
    const bool use_tol = tol > T(0);
    const long long r0 = offsets[g], r1 = offsets[g + 1];
    T w[D * K], c[K];
#pragma unroll
    for (int j = 0; j < D * K; ++j) w[j] = W[(long long)j * G + g];
#pragma unroll
    for (int k = 0; k < K; ++k) c[k] = C[(long long)k * G + g];
    const T eta = lr[g], lam = l2[g];
    bool live = true;
    int done = 0;
    for (int it = 0; it < n_iter && live; ++it) {
        T Gs[D * K], gs[K];
#pragma unroll
        for (int j = 0; j < D * K; ++j) Gs[j] = T(0);
#pragma unroll
        for (int k = 0; k < K; ++k) gs[k] = T(0);
        for (long long r = r0; r < r1; ++r) {
            const T* x = X + r * D;
#pragma unroll
            for (int k = 0; k < K; ++k) {
                const T o = fp_sigmoid<T>(fpg_logit<T, D, K>(x, w, c, k));
                const T y = Y[r * K + k];
                T delta = SEED ? (y - o) * ((T(1) - o) * o) : y - o;
                if (SW) delta *= S[r];
#pragma unroll
                for (int d = 0; d < D; ++d) Gs[d * K + k] += x[d] * delta;
                gs[k] += delta;
            }
        }
        T largest = T(0);
#pragma unroll
        for (int j = 0; j < D * K; ++j) {
            const T pull = pulled ? RHO[(long long)(j % K) * G + g] * (w[j] - AW[(long long)j * G + g]) : T(0);
            const T u = pulled ? (Gs[j] - lam * w[j] - pull) * eta : (Gs[j] - lam * w[j]) * eta;
            largest = fmax(largest, fabs(u));
            w[j] += u;
        }
        if (use_bias) {
#pragma unroll
            for (int k = 0; k < K; ++k) {
                const T u = pulled ? (gs[k] - RHO[(long long)k * G + g] * (c[k] - AC[(long long)k * G + g])) * eta
                                   : gs[k] * eta;
                largest = fmax(largest, fabs(u));
                c[k] += u;
            }
        }
        ++done;
        if (use_tol && largest < tol) live = false;
    }
#pragma unroll
    for (int j = 0; j < D * K; ++j) W[(long long)j * G + g] = w[j];
#pragma unroll
    for (int k = 0; k < K; ++k) C[(long long)k * G + g] = c[k];
    iterations[g] += done;
    if (!live) active[g] = 0;
}

// out[g] = sum over group g's rows and outputs of s * (y - sigma(z))^2 (the host divides).
template <typename T, int SW, int D, int K>
__global__ void __launch_bounds__(FP_THREADS)
loss_groups(const T* __restrict__ X, const T* __restrict__ Y, const T* __restrict__ S,
            const long long* __restrict__ offsets, const T* __restrict__ W, const T* __restrict__ C,
            T* __restrict__ out, long long G) {
    const long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= G) return;
    T w[D * K], c[K];
#pragma unroll
    for (int j = 0; j < D * K; ++j) w[j] = W[(long long)j * G + g];
#pragma unroll
    for (int k = 0; k < K; ++k) c[k] = C[(long long)k * G + g];
    T total = T(0);
    for (long long r = offsets[g]; r < offsets[g + 1]; ++r) {
#pragma unroll
        for (int k = 0; k < K; ++k) {
            const T e = Y[r * K + k] - fp_sigmoid<T>(fpg_logit<T, D, K>(X + r * D, w, c, k));
            total += SW ? (e * e) * S[r] : e * e;
        }
    }
    out[g] = total;
}

#ifdef FASTPERCEPTRON_INSTANTIATE
// For `nvcc -DFASTPERCEPTRON_INSTANTIATE` in CI: both row-weight kinds and rules at two shapes.
#define FPG_ONE(T, SW, D, K)                                                                            \
    template __global__ void train_groups<T, SW, D, K, true>(const T*, const T*, const T*, const long long*, \
        T*, T*, const T*, const T*, unsigned char*, long long*, long long, int, int, T, const T*, const T*, \
        const T*, int);                                                                                 \
    template __global__ void train_groups<T, SW, D, K, false>(const T*, const T*, const T*, const long long*, \
        T*, T*, const T*, const T*, unsigned char*, long long*, long long, int, int, T, const T*, const T*, \
        const T*, int);                                                                                 \
    template __global__ void loss_groups<T, SW, D, K>(const T*, const T*, const T*, const long long*, const T*, \
        const T*, T*, long long);
#define FPG_ALL(T) FPG_ONE(T, 0, 3, 1) FPG_ONE(T, 1, 3, 1) FPG_ONE(T, 0, 8, 2) FPG_ONE(T, 1, 16, 4)
FPG_ALL(float)
FPG_ALL(double)
template __global__ void segment_sum<float>(const float*, const long long*, float*, long long, int);
template __global__ void segment_sum<double>(const double*, const long long*, double*, long long, int);
#endif

// fastperceptron's fused CUDA kernels, loaded with cupy.RawModule (fastperceptron/cuda_backend.py).
//
// One thread trains one model for all iterations of a chunk; consecutive threads hold consecutive
// models, and every per-model array keeps the model on its fastest axis, so a warp's loads and
// stores are coalesced:
//
//   W (D, K, B)   C (K, B)   lr (B)   active (B) 1/0   iterations (B)
//   X (N, D) shared by all models (read through the read-only cache: one address per warp), or
//     (N, D, B) per model
//   Y (N, K) shared or (N, K, B);   S absent, (N,) shared or (N, B)
//
// Each thread sums in a fixed order (z = c + sum over d in order; gradients over n in order) with
// no atomics, so results do not depend on the launch configuration, the batch, or the chunking.
// A model that has met tol stops computing (its thread leaves the iteration loop).
//
// Templates: T is float or double; XS/YS say whether X/Y are shared; SW is 0 (no sample weights),
// 1 (shared) or 2 (per model). MAX_DK bounds D*K (the gradient accumulators live in registers or
// local memory); the host checks it.

#define MAX_DK 256
#define MAX_K 32

template <typename T> __device__ __forceinline__ T fp_exp(T x);
template <> __device__ __forceinline__ double fp_exp<double>(double x) { return exp(x); }
template <> __device__ __forceinline__ float fp_exp<float>(float x) { return expf(x); }

// sigma(z) = 1 / (1 + exp(-z)): exp overflows to inf for very negative z and 1/(1+inf) = 0; no NaN.
template <typename T> __device__ __forceinline__ T fp_sigmoid(T z) { return T(1) / (T(1) + fp_exp<T>(-z)); }

template <typename T, bool XS>
__device__ __forceinline__ T x_at(const T* __restrict__ X, int n, int d, int D, long long b, long long B) {
    return XS ? __ldg(&X[(long long)n * D + d]) : X[((long long)n * D + d) * B + b];
}

template <typename T, bool YS>
__device__ __forceinline__ T y_at(const T* __restrict__ Y, int n, int k, int K, long long b, long long B) {
    return YS ? __ldg(&Y[(long long)n * K + k]) : Y[((long long)n * K + k) * B + b];
}

template <typename T, int SW>
__device__ __forceinline__ T weigh(const T* __restrict__ S, int n, long long b, long long B, T v) {
    if (SW == 0) return v;
    if (SW == 1) return v * __ldg(&S[n]);
    return v * S[(long long)n * B + b];
}

template <typename T, bool XS, bool YS, int SW>
__global__ void train_models(const T* __restrict__ X, const T* __restrict__ Y, const T* __restrict__ S,
                             T* __restrict__ W, T* __restrict__ C, const T* __restrict__ lr,
                             unsigned char* __restrict__ active, long long* __restrict__ iterations,
                             long long B, int N, int D, int K, int n_iter, int seed_rule, int use_bias, T tol) {
    const long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= B) return;
    const bool use_tol = tol > T(0);
    if (use_tol && !active[b]) return;
    T G[MAX_DK];
    T g[MAX_K];
    const T eta = lr[b];
    int done = 0;
    for (int it = 0; it < n_iter; ++it) {
        for (int j = 0; j < D * K; ++j) G[j] = T(0);
        for (int k = 0; k < K; ++k) g[k] = T(0);
        for (int n = 0; n < N; ++n) {
            for (int k = 0; k < K; ++k) {
                T z = C[(long long)k * B + b];
                for (int d = 0; d < D; ++d) z += x_at<T, XS>(X, n, d, D, b, B) * W[((long long)d * K + k) * B + b];
                const T o = fp_sigmoid<T>(z);
                const T y = y_at<T, YS>(Y, n, k, K, b, B);
                T delta = seed_rule ? (y - o) * (o * (T(1) - o)) : (y - o);
                delta = weigh<T, SW>(S, n, b, B, delta);
                for (int d = 0; d < D; ++d) G[d * K + k] += x_at<T, XS>(X, n, d, D, b, B) * delta;
                g[k] += delta;
            }
        }
        T largest = T(0);
        for (int j = 0; j < D * K; ++j) {
            const T u = eta * G[j];
            largest = fmax(largest, fabs(u));
            W[(long long)j * B + b] += u;
        }
        if (use_bias) {
            for (int k = 0; k < K; ++k) {
                const T u = eta * g[k];
                largest = fmax(largest, fabs(u));
                C[(long long)k * B + b] += u;
            }
        }
        ++done;
        if (use_tol && largest < tol) {
            active[b] = 0;
            break;
        }
    }
    iterations[b] += done;
}

template <typename T, bool XS, bool YS, int SW>
__global__ void loss_models(const T* __restrict__ X, const T* __restrict__ Y, const T* __restrict__ S,
                            const T* __restrict__ W, const T* __restrict__ C, T* __restrict__ out,
                            long long B, int N, int D, int K) {
    const long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= B) return;
    T total = T(0);
    for (int n = 0; n < N; ++n) {
        for (int k = 0; k < K; ++k) {
            T z = C[(long long)k * B + b];
            for (int d = 0; d < D; ++d) z += x_at<T, XS>(X, n, d, D, b, B) * W[((long long)d * K + k) * B + b];
            const T e = y_at<T, YS>(Y, n, k, K, b, B) - fp_sigmoid<T>(z);
            total += weigh<T, SW>(S, n, b, B, e * e);
        }
    }
    out[b] = total;
}

#ifdef FASTPERCEPTRON_INSTANTIATE
// For `nvcc -DFASTPERCEPTRON_INSTANTIATE` in CI: compile every variant the host can ask for.
#define FP_ONE(T, XS, YS, SW)                                                                            \
    template __global__ void train_models<T, XS, YS, SW>(const T*, const T*, const T*, T*, T*, const T*,  \
        unsigned char*, long long*, long long, int, int, int, int, int, int, T);                          \
    template __global__ void loss_models<T, XS, YS, SW>(const T*, const T*, const T*, const T*, const T*, \
        T*, long long, int, int, int);
#define FP_SW(T, XS, YS) FP_ONE(T, XS, YS, 0) FP_ONE(T, XS, YS, 1) FP_ONE(T, XS, YS, 2)
#define FP_ALL(T) FP_SW(T, true, true) FP_SW(T, true, false) FP_SW(T, false, true) FP_SW(T, false, false)
FP_ALL(float)
FP_ALL(double)
#endif

// fastperceptron's fused CUDA kernels, loaded with cupy.RawModule by fastperceptron/backend/cuda/kernel.py.
//
// One thread trains one model for all iterations of a chunk. The model's state (weights, bias,
// gradient sums) lives in registers for the whole chunk: D and K are template parameters, so the
// loops over them unroll and the arrays are register arrays (the host compiles one variant per
// shape, lazily, and caps D*K). Consecutive threads hold consecutive models and every per-model
// array keeps the model on its fastest axis, so a warp's loads and stores are coalesced:
//
//   W (D*K, B)   C (K, B)   lr (B)   l2 (B)   active (B) 1/0   iterations (B)
//   X (N, D) shared by all models, or (N, D, B) one per model
//   Y (N, K) shared, or (N, K, B);   S absent, (N,) shared, or (N, B)
//
// Data shared by all models is copied into shared memory by the whole block, then every thread
// reads it from there (all threads of a warp read the same address: a broadcast). When it fits in
// `tile` samples it is copied once per launch; otherwise tile by tile, every iteration. Per-model
// data is read from global memory once per sample and iteration: the sample's x goes to registers
// and serves both the forward pass and the gradient.
//
// Each thread sums in a fixed order (z = sum over d in order, then + c; gradients over n in order)
// with no atomics, so results do not depend on the launch configuration, the batch, or the
// chunking. A model that has met tol stops computing.
//
// Templates: T is float or double; XS/YS say whether X/Y are shared; SW is 0 (no sample weights),
// 1 (shared) or 2 (per model); D and K are the model's shape; SEED picks the rule (true: the
// tutorial's, false: logistic).

#include "common.cuh"  // FP_THREADS, fp_exp, fp_sigmoid

// One sample as one model sees it.
template <typename T, int D, int K>
struct Sample {
    T x[D];
    T y[K];
    T s;  // its weight (1 without sample weights)
};

// Where a thread's samples come from: shared arrays through shared memory, per-model arrays from
// global memory (see the top of the file).
template <typename T, bool XS, bool YS, int SW, int D, int K>
struct Samples {
    const T* __restrict__ X;
    const T* __restrict__ Y;
    const T* __restrict__ S;
    long long B;
    int N, tile;
    T *sx, *sy, *ss;  // the staged tile in shared memory: x (tile, D), y (tile, K), s (tile)

    __device__ Samples(const T* X_, const T* Y_, const T* S_, long long B_, int N_, int tile_, T* smem)
        : X(X_), Y(Y_), S(S_), B(B_), N(N_), tile(tile_) {
        sx = smem;
        sy = sx + (XS ? tile * D : 0);
        ss = sy + (YS ? tile * K : 0);
    }

    // Every shared sample fits at once: staged once per launch, no barrier inside the loops.
    __device__ bool whole() const { return tile >= N; }

    // Copy the shared arrays' samples n0 .. n0+count-1 into shared memory (the whole block).
    __device__ void stage(int n0, int count) {
        if (XS)
            for (int i = threadIdx.x; i < count * D; i += blockDim.x) sx[i] = X[(long long)n0 * D + i];
        if (YS)
            for (int i = threadIdx.x; i < count * K; i += blockDim.x) sy[i] = Y[(long long)n0 * K + i];
        if (SW == 1)
            for (int i = threadIdx.x; i < count; i += blockDim.x) ss[i] = S[n0 + i];
    }

    // Before the first sweep: stage everything when it fits. Every thread of the block calls it.
    __device__ void begin() {
        if (whole()) {
            stage(0, N);
            __syncthreads();
        }
    }

    // Sample n (at position `local` of the staged tile) of model b.
    __device__ __forceinline__ void load(int n, int local, long long b, Sample<T, D, K>& out) const {
#pragma unroll
        for (int d = 0; d < D; ++d) out.x[d] = XS ? sx[local * D + d] : X[((long long)n * D + d) * B + b];
#pragma unroll
        for (int k = 0; k < K; ++k) out.y[k] = YS ? sy[local * K + k] : Y[((long long)n * K + k) * B + b];
        out.s = SW == 0 ? T(1) : (SW == 1 ? ss[local] : S[(long long)n * B + b]);
    }

    // Call f(sample) for the samples n = 0 .. N-1 of model b, in order, when `live`. Unless
    // whole(), every thread of the block must call it: it stages tiles between barriers.
    template <class F>
    __device__ __forceinline__ void sweep(long long b, bool live, F&& f) {
        Sample<T, D, K> s;
        if (whole()) {
            if (live)
                for (int n = 0; n < N; ++n) {
                    load(n, n, b, s);
                    f(s);
                }
            return;
        }
        for (int n0 = 0; n0 < N; n0 += tile) {
            const int count = N - n0 < tile ? N - n0 : tile;
            __syncthreads();  // nobody reads the previous tile any more
            stage(n0, count);
            __syncthreads();
            if (live)
                for (int i = 0; i < count; ++i) {
                    load(n0 + i, i, b, s);
                    f(s);
                }
        }
    }
};

// z_k = (sum over d of x_d * w_dk) + c_k, the order of the numpy backend's X·W + c.
template <typename T, int D, int K>
__device__ __forceinline__ T fp_logit(const Sample<T, D, K>& s, const T (&w)[D * K], const T (&c)[K], int k) {
    T z = s.x[0] * w[k];
#pragma unroll
    for (int d = 1; d < D; ++d) z += s.x[d] * w[d * K + k];
    return z + c[k];
}

template <typename T, bool XS, bool YS, int SW, int D, int K, bool SEED>
__global__ void __launch_bounds__(FP_THREADS)
train_models(const T* __restrict__ X, const T* __restrict__ Y, const T* __restrict__ S, T* __restrict__ W,
             T* __restrict__ C, const T* __restrict__ lr, const T* __restrict__ l2,
             unsigned char* __restrict__ active,
             long long* __restrict__ iterations, long long B, int N, int tile, int n_iter, int use_bias, T tol) {
    extern __shared__ __align__(16) unsigned char fp_smem[];
    Samples<T, XS, YS, SW, D, K> data(X, Y, S, B, N, tile, reinterpret_cast<T*>(fp_smem));
    const long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const bool use_tol = tol > T(0);
    const bool mine = b < B && (!use_tol || active[b]);  // a model this thread trains
    bool live = mine;
    data.begin();

    T w[D * K], c[K];
    T eta = T(0), lam = T(0);
    if (mine) {
#pragma unroll
        for (int j = 0; j < D * K; ++j) w[j] = W[(long long)j * B + b];
#pragma unroll
        for (int k = 0; k < K; ++k) c[k] = C[(long long)k * B + b];
        eta = lr[b];
        lam = l2[b];
    }
    int done = 0;
    for (int it = 0; it < n_iter; ++it) {
        // A thread with no model left stops, unless the block still needs it to stage tiles.
        if (data.whole() ? !live : !__syncthreads_or(live)) break;
        T G[D * K], g[K];
#pragma unroll
        for (int j = 0; j < D * K; ++j) G[j] = T(0);
#pragma unroll
        for (int k = 0; k < K; ++k) g[k] = T(0);
        data.sweep(b, live, [&](const Sample<T, D, K>& s) {
#pragma unroll
            for (int k = 0; k < K; ++k) {
                const T o = fp_sigmoid<T>(fp_logit<T, D, K>(s, w, c, k));
                T delta = SEED ? (s.y[k] - o) * ((T(1) - o) * o) : s.y[k] - o;
                if (SW) delta *= s.s;
#pragma unroll
                for (int d = 0; d < D; ++d) G[d * K + k] += s.x[d] * delta;
                g[k] += delta;
            }
        });
        if (!live) continue;
        T largest = T(0);
#pragma unroll
        for (int j = 0; j < D * K; ++j) {
            const T u = (G[j] - lam * w[j]) * eta;
            largest = fmax(largest, fabs(u));
            w[j] += u;
        }
        if (use_bias) {
#pragma unroll
            for (int k = 0; k < K; ++k) {
                const T u = g[k] * eta;
                largest = fmax(largest, fabs(u));
                c[k] += u;
            }
        }
        ++done;
        if (use_tol && largest < tol) live = false;  // this update was the last one
    }
    if (mine) {
#pragma unroll
        for (int j = 0; j < D * K; ++j) W[(long long)j * B + b] = w[j];
#pragma unroll
        for (int k = 0; k < K; ++k) C[(long long)k * B + b] = c[k];
        iterations[b] += done;
        if (!live) active[b] = 0;
    }
}

// out[b] = sum over samples and outputs of s_n * (y - sigma(z))^2 (the host divides by the total).
template <typename T, bool XS, bool YS, int SW, int D, int K>
__global__ void __launch_bounds__(FP_THREADS)
loss_models(const T* __restrict__ X, const T* __restrict__ Y, const T* __restrict__ S, const T* __restrict__ W,
            const T* __restrict__ C, T* __restrict__ out, long long B, int N, int tile) {
    extern __shared__ __align__(16) unsigned char fp_smem[];
    Samples<T, XS, YS, SW, D, K> data(X, Y, S, B, N, tile, reinterpret_cast<T*>(fp_smem));
    const long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const bool live = b < B;
    data.begin();
    T w[D * K], c[K];
    if (live) {
#pragma unroll
        for (int j = 0; j < D * K; ++j) w[j] = W[(long long)j * B + b];
#pragma unroll
        for (int k = 0; k < K; ++k) c[k] = C[(long long)k * B + b];
    }
    T total = T(0);
    data.sweep(b, live, [&](const Sample<T, D, K>& s) {
#pragma unroll
        for (int k = 0; k < K; ++k) {
            const T e = s.y[k] - fp_sigmoid<T>(fp_logit<T, D, K>(s, w, c, k));
            total += SW ? (e * e) * s.s : e * e;
        }
    });
    if (live) out[b] = total;
}

#ifdef FASTPERCEPTRON_INSTANTIATE
// For `nvcc -DFASTPERCEPTRON_INSTANTIATE` in CI: every data layout and rule at two small shapes
// (the seed's 3x1 and a multi-output 8x2), and the largest model the host allows (D*K = 256).
#define FP_ONE(T, XS, YS, SW, D, K)                                                                        \
    template __global__ void train_models<T, XS, YS, SW, D, K, true>(const T*, const T*, const T*, T*, T*,  \
        const T*, const T*, unsigned char*, long long*, long long, int, int, int, int, T);                 \
    template __global__ void train_models<T, XS, YS, SW, D, K, false>(const T*, const T*, const T*, T*, T*, \
        const T*, const T*, unsigned char*, long long*, long long, int, int, int, int, T);                 \
    template __global__ void loss_models<T, XS, YS, SW, D, K>(const T*, const T*, const T*, const T*,       \
        const T*, T*, long long, int, int);
#define FP_SHAPES(T, XS, YS, SW) FP_ONE(T, XS, YS, SW, 3, 1) FP_ONE(T, XS, YS, SW, 8, 2)
#define FP_SW(T, XS, YS) FP_SHAPES(T, XS, YS, 0) FP_SHAPES(T, XS, YS, 1) FP_SHAPES(T, XS, YS, 2)
#define FP_ALL(T) FP_SW(T, true, true) FP_SW(T, true, false) FP_SW(T, false, true) FP_SW(T, false, false)
FP_ALL(float)
FP_ALL(double)
FP_ONE(double, true, true, 1, 64, 4)
FP_ONE(float, false, false, 2, 256, 1)
#endif

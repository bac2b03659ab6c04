// Runs fastperceptron's CUDA kernels on the host, for the tests (tests/hostcupy.py compiles
// kernels/perceptron.cu with g++ and this header). Every CUDA thread of a block is a fiber (a
// ucontext with its own stack) on one host thread: a fiber runs until it reaches a barrier or
// exits, and a barrier opens when every fiber of the block that has not exited reached it (as on
// a GPU). Blocks run one after another, sharing one buffer as their shared memory. Only what the
// kernels use is provided: 1-D grids and blocks, dynamic shared memory, __syncthreads(_or).
#pragma once
#include <ucontext.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)

struct fp_dim3 {
    unsigned x = 1, y = 1, z = 1;
};
inline fp_dim3 threadIdx, blockIdx, blockDim, gridDim;  // the scheduler sets threadIdx per fiber

// The dynamic shared memory of the block that runs (blocks run one at a time).
alignas(16) unsigned char fp_smem[1 << 17];

namespace fp_host {
struct Fiber {
    ucontext_t context;
    std::vector<char> stack;
    bool waiting = false, done = false;
    int vote = 0;
};
inline ucontext_t scheduler;
inline std::vector<Fiber> fibers;
inline Fiber* running = nullptr;
inline int barrier_any = 0;
inline void (*body)(void*) = nullptr;  // runs the kernel for the current fiber
inline void* body_state = nullptr;

inline void fiber_main() {
    body(body_state);
    running->done = true;  // returning resumes the scheduler (uc_link)
}

// One block: run every fiber to its next barrier (or its end), open the barrier, repeat.
inline void run_block(unsigned threads) {
    const std::size_t stack_bytes = 256 * 1024;
    fibers.resize(threads);
    for (unsigned t = 0; t < threads; ++t) {
        Fiber& f = fibers[t];
        f.stack.resize(stack_bytes);
        f.waiting = f.done = false;
        f.vote = 0;
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = f.stack.data();
        f.context.uc_stack.ss_size = stack_bytes;
        f.context.uc_link = &scheduler;
        makecontext(&f.context, fiber_main, 0);
    }
    for (;;) {
        bool any_waiting = false;
        int votes = 0;
        for (unsigned t = 0; t < threads; ++t) {
            Fiber& f = fibers[t];
            if (f.done) continue;
            threadIdx = {t, 0, 0};
            running = &f;
            swapcontext(&scheduler, &f.context);
            if (f.waiting) {
                any_waiting = true;
                votes += f.vote;
            }
        }
        if (!any_waiting) return;
        barrier_any = votes > 0;
        for (auto& f : fibers) f.waiting = false, f.vote = 0;
    }
}

template <typename... A, std::size_t... I>
void call(void (*kernel)(A...), void** args, std::index_sequence<I...>) {
    kernel(*static_cast<A*>(args[I])...);
}

template <typename... A>
struct Launch {
    void (*kernel)(A...);
    void** args;
    static void run(void* self) {
        auto* l = static_cast<Launch*>(self);
        call(l->kernel, l->args, std::index_sequence_for<A...>{});
    }
};

// Launch kernel on a (grid,) x (threads,) configuration; args as cuLaunchKernel takes them.
template <typename... A>
void launch(void (*kernel)(A...), unsigned grid, unsigned threads, std::size_t shared_bytes, void** args) {
    if (shared_bytes > sizeof(fp_smem)) {
        std::fprintf(stderr, "host emulation: %zu bytes of shared memory asked for\n", shared_bytes);
        std::abort();
    }
    Launch<A...> l{kernel, args};
    body = &Launch<A...>::run;
    body_state = &l;
    gridDim = {grid, 1, 1};
    blockDim = {threads, 1, 1};
    for (unsigned bx = 0; bx < grid; ++bx) {
        blockIdx = {bx, 0, 0};
        run_block(threads);
    }
}

inline int wait_at_barrier(int vote) {
    Fiber* self = running;
    self->waiting = true;
    self->vote = vote;
    swapcontext(&self->context, &scheduler);
    return barrier_any;
}
}  // namespace fp_host

inline void __syncthreads() { fp_host::wait_at_barrier(0); }
inline int __syncthreads_or(int predicate) { return fp_host::wait_at_barrier(predicate != 0); }

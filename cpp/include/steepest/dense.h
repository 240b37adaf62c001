// A dense layer's forward and backward passes over whole batches, threaded; and the
// activations and their derivatives over whole arrays. Weights are (in_features,
// out_features): Y = act(X·W + b).
#pragma once

#include "steepest/kernels.h"

namespace steepest {

struct Bf16KernelSet;

// x: M x K, weight: K x N, bias: N or null, y: M x N.  y = act(x·weight + bias).
// With bf16 (float32 only), the products' operands are rounded to bfloat16 (bfloat16.h).
template <class T>
void dense_forward(const KernelSet<T>& kernels, index_t M, index_t K, index_t N, const T* x, const T* weight,
                   const T* bias, Activation activation, T* y, const Bf16KernelSet* bf16 = nullptr);

// x: M x K, weight: K x N, y (the forward output) and dy: M x N.
// dz = dy ∘ act'(y) (M x N, may alias dy); dx = dz·weightᵀ (M x K, skipped if null);
// dweight = xᵀ·dz (K x N); dbias = Σ_rows dz (N, skipped if null).
template <class T>
void dense_backward(const KernelSet<T>& kernels, index_t M, index_t K, index_t N, const T* x, const T* weight,
                    const T* y, const T* dy, Activation activation, T* dz, T* dx, T* dweight, T* dbias,
                    const OutputCount<T>* count = nullptr, const Bf16KernelSet* bf16 = nullptr);

// The same layer over a sparse input X (M x K in CSR form, as KernelSet::csr_matmul takes
// it): y = act(X·weight + bias); and its backward pass, dz = dy ∘ act'(y) (may alias dy),
// dweight = Xᵀ·dz, dbias = Σ_rows dz (no dx: a sparse input is the network's data).
template <class T>
void sparse_dense_forward(const KernelSet<T>& kernels, index_t M, index_t N, const std::int64_t* indptr,
                          const std::int64_t* indices, const T* values, const T* weight, const T* bias,
                          Activation activation, T* y);
template <class T>
void sparse_dense_backward(const KernelSet<T>& kernels, index_t M, index_t K, index_t N, const std::int64_t* indptr,
                           const std::int64_t* indices, const T* values, const T* y, const T* dy,
                           Activation activation, T* dz, T* dweight, T* dbias, const OutputCount<T>* count = nullptr);

// y = act(x) and dx = dy ∘ act'(y) over rows x cols (softmax row-wise), split into tasks of
// whole rows.
template <class T>
void activation_forward(const KernelSet<T>& kernels, Activation activation, index_t rows, index_t cols,
                        const T* x, T* y);
template <class T>
void activation_backward(const KernelSet<T>& kernels, Activation activation, index_t rows, index_t cols,
                         const T* y, const T* dy, T* dx);

}  // namespace steepest

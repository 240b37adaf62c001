// The table of kernels one instruction set provides: plain function pointers over plain
// pointers and sizes, so that code compiled for one instruction set is only ever reached
// through this table (never through shared inline code: see the top of cpp/kernels/kernels.inc).
//
// Conventions shared by every kernel:
// - matrices are row-major; "rows x cols" with a leading dimension equal to cols unless named;
// - weights are stored (in_features, out_features), so a dense layer is Y = X·W + b;
// - kernels never allocate; the caller owns every buffer.
#pragma once

#include <cstddef>
#include <cstdint>

namespace steepest {

using index_t = std::ptrdiff_t;

enum class Activation : int { identity = 0, relu = 1, sigmoid = 2, tanh = 3, softmax = 4, exp = 5 };

// Applied to a tile of C after its last block of K, while the tile is still in registers:
// C = act(C + bias). Softmax is row-wise over all of C, so it is never applied here.
template <class T>
struct Epilogue {
  const T* bias;  // bias of the tile's first column, or nullptr
  Activation activation;
};

// The training diagnostics' count of outputs (issue 15: counted in the backward pass, which
// reads the outputs anyway): counts[j] += the rows i with |y(i, j) − center| > radius. A ReLU
// unit is active where y > 0 (center 0, radius 0); a sigmoid output is saturated within 1%
// of its bounds (center 0.5, radius 0.49), a tanh one likewise (0, 0.99). center must be 0
// except for sigmoid: the others are counted as |y| > radius (a ReLU's as y > radius), which
// saves the subtraction in this inner loop.
template <class T>
struct OutputCount {
  T center;
  T radius;
  std::int64_t* counts;  // one per column of y
};

// What an optimizer's pass adds up for the diagnostics (issue 15: in the pass that reads the
// gradient and the parameters anyway): Σ grad² over its elements, and with with_change (an
// input: only a run's last step needs them) Σ p² and Σ (p_new − p)².
struct UpdateSums {
  bool with_change = false;
  double gradient_squares = 0;
  double parameter_squares = 0;
  double change_squares = 0;
};

template <class T>
struct KernelSet {
  // Register tile of the GEMM micro-kernel: mr rows by nr = nv · lanes columns of C.
  int mr;
  int nr;
  int lanes;
  // Cache blocks (BLIS's names), chosen per instruction set by measurement: the micro-kernel
  // sweeps the mc x kc block of A held in L2 against one kc x nr micro-panel of B; the kc x nc
  // block of B is shared through L2/L3. A long kc (512 on x86-64) spreads the read and write
  // of each tile of C over more multiply-adds, which outweighs keeping the micro-panel of B in
  // L1 (the hardware prefetcher streams it from L2). mc is a multiple of mr and nc of nr.
  index_t mc;
  index_t kc;
  index_t nc;

  // Packs the mc x kc block op(A)(i, k) = a[i * row_stride + k * col_stride] into panels of mr
  // rows: (i, k) goes to dst[(i / mr) * kc * mr + k * mr + i % mr]; rows past mc are zero.
  void (*pack_a)(index_t mc, index_t kc, const T* a, index_t row_stride, index_t col_stride, T* dst);
  // Packs the kc x nc block op(B)(k, j) = b[k * row_stride + j * col_stride] into panels of nr
  // columns: (k, j) goes to dst[(j / nr) * kc * nr + k * nr + j % nr]; columns past nc are zero.
  void (*pack_b)(index_t kc, index_t nc, const T* b, index_t row_stride, index_t col_stride, T* dst);
  // dst[j * ld_dst + i] = src[i * ld_src + j] for i < rows, j < cols.
  void (*transpose)(index_t rows, index_t cols, const T* src, index_t ld_src, T* dst, index_t ld_dst);
  // C[mc x nc] = (accumulate ? C : 0) + A · B, then the epilogue if not null.
  //   a: packed by pack_a if a_row_stride == 0, else read in place:
  //      A(i, k) = a[i * a_row_stride + k * a_col_stride] (row-major A or its transpose);
  //   b: packed by pack_b if ldb == 0, else read in place: row-major kc x nc, row stride ldb.
  // Packed or not, every element of C is summed in the same order (k ascending).
  void (*macro_kernel)(index_t mc, index_t nc, index_t kc, const T* a, index_t a_row_stride,
                       index_t a_col_stride, const T* b, index_t ldb, T* c, index_t ldc, bool accumulate,
                       const Epilogue<T>* epilogue);

  // y = act(x) over rows x cols (softmax is row-wise; the others are element-wise).
  void (*activation_forward)(Activation activation, index_t rows, index_t cols, const T* x, T* y);
  // dx = dy ∘ act'(x), computed from the output y (softmax: the row-wise Jacobian product).
  // dx may alias dy.
  void (*activation_backward)(Activation activation, index_t rows, index_t cols, const T* y,
                              const T* dy, T* dx);
  // For columns [col_begin, col_end) of rows x cols: dz = dy ∘ act'(y) and, if dbias is not
  // null, dbias[j] = Σ_i dz[i, j] summed in row order; and, if count is not null, its counts
  // of those columns. Split by columns so that threads never split a sum (results do not
  // depend on the thread count). Not for softmax. dz may alias dy.
  void (*backward_epilogue)(Activation activation, index_t rows, index_t cols, index_t col_begin,
                            index_t col_end, const T* y, const T* dy, T* dz, T* dbias,
                            const OutputCount<T>* count);

  // Losses return the mean loss and, if dpred is not null, write its gradient (the
  // conventions of PyTorch's MSELoss, BCELoss, BCEWithLogitsLoss and CrossEntropyLoss).
  double (*mse)(index_t n, const T* pred, const T* target, T* dpred);
  double (*binary_cross_entropy)(index_t n, const T* prob, const T* target, T* dprob);
  double (*sigmoid_binary_cross_entropy)(index_t n, const T* logits, const T* target, T* dlogits);
  double (*softmax_cross_entropy)(index_t rows, index_t cols, const T* logits,
                                  const std::int64_t* labels, T* dlogits);
  // Cross entropy against a target distribution per row (one-hot or soft labels).
  double (*softmax_cross_entropy_dense)(index_t rows, index_t cols, const T* logits,
                                        const T* target, T* dlogits);
  // Half the Poisson deviance of the mean exp(z) from its log z (an exp output layer's
  // input): mean(exp(z) - t·z + t·log t - t) (PyTorch's PoissonNLLLoss(log_input=True) plus
  // the constant that makes a perfect fit 0, as scikit-learn reports it); gradient
  // (exp(z) - t)/n.
  double (*poisson_from_log)(index_t n, const T* log_mean, const T* target, T* dlog_mean);

  // One fused pass: g = grad + l2·p (+ l1·sign(p) unless l1_proximal); with momentum
  // v = μ·v + g and d = nesterov ? g + μ·v : v, else d = g; p -= lr·d; then, if l1_proximal,
  // p = sign(p)·max(|p| − lr·l1, 0) (see cpp/kernels/optimizers.inc). velocity may be null
  // when μ = 0. If sums is not null, the pass adds its sums to it (see UpdateSums).
  void (*sgd_update)(index_t n, T* param, const T* grad, T* velocity, T lr, T momentum,
                     bool nesterov, T l1, T l2, bool l1_proximal, UpdateSums* sums);
  // Adam (Kingma & Ba) with L2 added to the gradient and L1 as in sgd_update (the proximal
  // threshold divided by Adam's denominator √v̂ + ε); correction1 and correction2 are
  // 1 - β1^t and 1 - β2^t. sums as in sgd_update.
  void (*adam_update)(index_t n, T* param, const T* grad, T* m, T* v, T lr, T beta1, T beta2,
                      T eps, T correction1, T correction2, T l1, T l2, bool l1_proximal,
                      UpdateSums* sums);

  // Σ x² (for gradient norms).
  double (*sum_squares)(index_t n, const T* x);

  // Inverted dropout (x, mask, y: n; y may be x): element i is kept, mask[i] = 1, when the
  // i-th uniform draw of `stream` (cpp/kernels/random.inc) is >= rate, else mask[i] = 0; then
  // y[i] = mask[i] ? x[i] · T(1/(1 - rate)) : 0. The mask depends on (stream, i) only.
  void (*dropout_forward)(index_t n, std::uint64_t stream, double rate, const T* x, std::uint8_t* mask, T* y);
  // Its backward pass, given the forward's mask and rate (mask, dy, dx: n; dx may be dy):
  // dx[i] = mask[i] ? dy[i] · T(1/(1 - rate)) : 0.
  void (*dropout_backward)(index_t n, double rate, const std::uint8_t* mask, const T* dy, T* dx);
  // out: n. out[j] = the standard normal draw (first_index + j) of `stream`, by Box–Muller from
  // the same generator's uniforms, rounded to T: bitwise the same at every level, and the same
  // however a run of indices is split over calls.
  void (*standard_normal)(index_t n, std::uint64_t stream, std::uint64_t first_index, T* out);

  // A variational autoencoder's sampling layer (cpp/kernels/sampling.inc): a is rows x 2L, each
  // row [mean | log_var]; eps and z are rows x L. z = mean + exp(½ log_var) ∘ eps; returns
  // Σ_r KL(N(mean_r, exp(log_var_r)) ‖ N(0, I)), writing each row's KL to kl_rows and adding
  // each dimension's sum over rows to kl_dims (both skipped if null).
  double (*gaussian_sample_forward)(index_t rows, index_t latent, const T* a, const T* eps, T* z, double* kl_rows,
                                    double* kl_dims);
  // da (rows x 2L, not aliasing a) = the gradient of (loss through z) + kl_weight · Σ_r KL_r
  // with respect to a, given dz (rows x L) and the forward's a and eps.
  void (*gaussian_sample_backward)(index_t rows, index_t latent, const T* a, const T* eps, const T* dz, T kl_weight,
                                   T* da);

  // A dense layer over a sparse input X (rows x K, CSR: row r's entries are
  // values[indptr[r] .. indptr[r + 1]) at columns indices[...], each column once), weight
  // K x N (cpp/kernels/sparse.inc). Both touch the columns [col_begin, col_end) of their
  // output only, so threads split the columns, never a sum.
  // y (rows x N) = X·weight + bias (bias: N, or null).
  void (*csr_matmul)(index_t rows, index_t N, index_t col_begin, index_t col_end, const std::int64_t* indptr,
                     const std::int64_t* indices, const T* values, const T* weight, const T* bias, T* y);
  // dweight (K x N) += Xᵀ·dz (dz: rows x N), X's rows in order.
  void (*csr_transpose_matmul)(index_t rows, index_t N, index_t col_begin, index_t col_end,
                               const std::int64_t* indptr, const std::int64_t* indices, const T* values,
                               const T* dz, T* dweight);

  // Runs `iterations` rounds of 12 independent multiply-add chains, each one vector wide, and
  // returns the floating-point operations done, exactly 2 · 12 · lanes · iterations (the
  // benchmark report's measure of the machine's peak); *sink is read as the multiplier and
  // receives the chains' sum, so the work cannot be optimized away.
  double (*fma_throughput)(index_t iterations, T* sink);
};

struct KernelTable {
  const char* isa;
  KernelSet<float> f32;
  KernelSet<double> f64;
};

template <class T> const KernelSet<T>& kernels_for(const KernelTable& table);
template <> inline const KernelSet<float>& kernels_for<float>(const KernelTable& t) { return t.f32; }
template <> inline const KernelSet<double>& kernels_for<double>(const KernelTable& t) { return t.f64; }

}  // namespace steepest

// Every kernel of every instruction set compiled in and runnable here, against naive
// references written below: the matrix products (through steepest::gemm, in the layouts a
// dense layer uses, packed and read in place; the bfloat16 products at every bfloat16 level
// this CPU runs, against the exact product of the rounded operands), the dense layer's forward and backward
// passes, the activations and their derivatives, the losses with their gradients, SGD and
// Adam, dropout and standard normal noise (also bitwise against the scalar level), in
// float32 and float64.
//
// Dimension letters: M rows of the output (the batch), K the length of the reduction, N the
// columns of the output.
//
// The references compute in double from the same T inputs, products summed with an
// error-free transformation (Dot2: Ogita, Rump & Oishi, "Accurate sum and dot product",
// 2005), so they are exact to well below a float64 ulp and only the kernel's own rounding is
// measured. A result passes when |got - want| <= tolerance * magnitude, where magnitude
// bounds the size of the terms that make up the result (Σ|a||b| for a product): cancellation
// in the exact answer must not turn rounding into a failure. The tolerance is 8 units of
// rounding times sqrt(K), since the rounding errors of a K-term sum grow like a random walk.
//
// Usage: steepest_test_kernels [--require isa[,isa...]]
//   Tests every level in steepest::available_isas(), or only STEEPEST_ISA when it is set;
//   --require fails the run if a named level was not tested (CI uses it so that a missing
//   level cannot pass silently). Prints the largest error per kernel; exits 1 on a failure.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "steepest/bfloat16.h"
#include "steepest/dense.h"
#include "steepest/dispatch.h"
#include "steepest/gemm.h"
#include "steepest/kernels.h"
#include "steepest/thread_pool.h"

using steepest::Activation;
using steepest::index_t;
using steepest::KernelSet;

namespace {

// ------------------------------------------------------------------ bookkeeping ----

template <class T>
const char* dtype_name() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

template <class T>
double tolerance(index_t reduction_length = 1) {
  const double eps = std::numeric_limits<T>::epsilon();
  return 8 * eps * std::sqrt(double(std::max<index_t>(reduction_length, 1)));
}

const char* activation_name(Activation activation) {
  switch (activation) {
    case Activation::identity: return "identity";
    case Activation::relu: return "relu";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
    case Activation::softmax: return "softmax";
    case Activation::exp: return "exp";
  }
  return "?";
}

const Activation kElementwise[] = {Activation::identity, Activation::relu, Activation::sigmoid, Activation::tanh,
                                   Activation::exp};
const Activation kAll[] = {Activation::identity, Activation::relu, Activation::sigmoid, Activation::tanh,
                           Activation::softmax, Activation::exp};

// The largest |got - want| / magnitude per (kernel, dtype) and level, and the failures.
class Ledger {
 public:
  std::string isa;

  // Returns whether the value passed; records the error either way.
  bool check(const std::string& kernel, const char* dtype, double got, double want, double magnitude,
             double tol, const std::string& where) {
    const double difference = std::fabs(got - want);
    double error;
    if (std::isnan(got) != std::isnan(want)) error = std::numeric_limits<double>::infinity();
    else if (std::isnan(got) || difference == 0) error = 0;  // NaN where NaN is due, or exact
    else if (magnitude > 0) error = difference / magnitude;
    else error = std::numeric_limits<double>::infinity();    // the exact 0 must come out exact
    double& worst = worst_[{kernel, dtype}][isa];
    worst = std::max(worst, error);
    ++checks_;
    if (error <= tol) return true;
    if (failures_++ < 30)
      std::printf("FAIL %s %s %s %s: got %.17g, want %.17g, |got - want| / magnitude = %.3g > %.3g "
                  "(magnitude %.3g)\n",
                  kernel.c_str(), dtype, isa.c_str(), where.c_str(), got, want, error, tol, magnitude);
    return false;
  }

  // For results that must equal the expected ones bit for bit: recorded as an error of 0 or
  // infinity.
  bool check_bits(const std::string& kernel, const char* dtype, double got, double want, bool same,
                  const std::string& where) {
    double& worst = worst_[{kernel, dtype}][isa];
    if (!same) worst = std::numeric_limits<double>::infinity();
    ++checks_;
    if (same) return true;
    if (failures_++ < 30)
      std::printf("FAIL %s %s %s %s: got %.17g, want %.17g bit for bit\n", kernel.c_str(), dtype, isa.c_str(),
                  where.c_str(), got, want);
    return false;
  }

  void fail(const std::string& message) {
    if (failures_++ < 30) std::printf("FAIL %s: %s\n", isa.c_str(), message.c_str());
  }

  int failures() const { return failures_; }

  void print_summary(const std::vector<std::string>& levels) const {
    std::printf("\nlargest |got - want| / magnitude per kernel (%ld checks; float32 tolerance %.2g·sqrt(K), "
                "float64 %.2g·sqrt(K))\n",
                checks_, tolerance<float>(), tolerance<double>());
    std::printf("%-34s %-8s", "kernel", "dtype");
    for (const std::string& level : levels) std::printf("%14s", level.c_str());
    std::printf("\n");
    for (const auto& [key, per_level] : worst_) {
      std::printf("%-34s %-8s", key.first.c_str(), key.second.c_str());
      for (const std::string& level : levels) {
        auto found = per_level.find(level);
        if (found == per_level.end()) std::printf("%14s", "-");
        else std::printf("%14.2e", found->second);
      }
      std::printf("\n");
    }
  }

 private:
  std::map<std::pair<std::string, std::string>, std::map<std::string, double>> worst_;
  int failures_ = 0;
  long checks_ = 0;
};

std::string shape(index_t a, index_t b, index_t c = -1) {
  std::string s = std::to_string(a) + "x" + std::to_string(b);
  if (c >= 0) s += "x" + std::to_string(c);
  return s;
}

// splitmix64: the same values on every platform and compiler.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * double(next() >> 11) * 0x1.0p-53; }
  template <class T>
  std::vector<T> values(index_t n, double lo = -1, double hi = 1) {
    std::vector<T> v(n);
    for (T& x : v) x = T(uniform(lo, hi));
    return v;
  }

 private:
  std::uint64_t state_;
};

// ---------------------------------------------------------------- references ----

// Σ a_i·b_i without rounding error in the sum (Dot2): the rounding of each product and of
// each addition is carried exactly in `low` (TwoProduct by fma, TwoSum by Knuth).
class ExactDot {
 public:
  void add(double a, double b) {
    const double product = a * b;
    const double product_error = std::fma(a, b, -product);
    const double sum = high_ + product;
    const double z = sum - high_;
    low_ += (high_ - (sum - z)) + (product - z) + product_error;
    high_ = sum;
  }
  double value() const { return high_ + low_; }

 private:
  double high_ = 0, low_ = 0;
};

double sigmoid_reference(double x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}

double activate_reference(Activation activation, double x) {
  switch (activation) {
    case Activation::relu: return x > 0 ? x : 0;
    case Activation::sigmoid: return sigmoid_reference(x);
    case Activation::tanh: return std::tanh(x);
    case Activation::exp: return std::exp(x);
    default: return x;
  }
}

// dy ∘ act'(x) from the output y, and a bound on the size of its terms.
double activate_backward_reference(Activation activation, double y, double dy) {
  switch (activation) {
    case Activation::relu: return y > 0 ? dy : 0;
    case Activation::sigmoid: return dy * y * (1 - y);
    case Activation::tanh: return dy * (1 - y * y);
    case Activation::exp: return dy * y;
    default: return dy;
  }
}
double activate_backward_magnitude(Activation activation, double y, double dy) {
  switch (activation) {
    case Activation::sigmoid: return std::fabs(dy * y) * (1 + std::fabs(y));
    case Activation::tanh: return std::fabs(dy) * (1 + y * y);
    case Activation::exp: return std::fabs(dy * y);
    default: return std::fabs(dy);
  }
}

// dy ∘ act'(y) over rows x cols in double (softmax: the row's Jacobian product y ∘ (dy - Σ dy·y)),
// and for each result the magnitude of the terms that make it up.
template <class T>
void activation_backward_reference(Activation activation, index_t rows, index_t cols, const std::vector<T>& y,
                                   const std::vector<T>& dy, std::vector<double>& want,
                                   std::vector<double>& magnitude) {
  want.assign(rows * cols, 0.0);
  magnitude.assign(rows * cols, 0.0);
  for (index_t i = 0; i < rows; ++i) {
    ExactDot dot;
    double dot_magnitude = 0;
    for (index_t j = 0; j < cols; ++j) {
      dot.add(double(dy[i * cols + j]), double(y[i * cols + j]));
      dot_magnitude += std::fabs(double(dy[i * cols + j]) * double(y[i * cols + j]));
    }
    for (index_t j = 0; j < cols; ++j) {
      const index_t p = i * cols + j;
      const double yv = y[p], dyv = dy[p];
      if (activation == Activation::softmax) {
        want[p] = yv * (dyv - dot.value());
        magnitude[p] = std::fabs(yv) * (std::fabs(dyv) + dot_magnitude);
      } else {
        want[p] = activate_backward_reference(activation, yv, dyv);
        magnitude[p] = activate_backward_magnitude(activation, yv, dyv);
      }
    }
  }
}

// Softmax of each row of x (rows x cols), in double.
std::vector<double> softmax_reference(index_t rows, index_t cols, const std::vector<double>& x) {
  std::vector<double> y(x.size());
  for (index_t i = 0; i < rows; ++i) {
    double row_max = -std::numeric_limits<double>::infinity();
    for (index_t j = 0; j < cols; ++j) row_max = std::max(row_max, x[i * cols + j]);
    double sum = 0;
    for (index_t j = 0; j < cols; ++j) sum += y[i * cols + j] = std::exp(x[i * cols + j] - row_max);
    for (index_t j = 0; j < cols; ++j) y[i * cols + j] /= sum;
  }
  return y;
}

// A bound on softmax's rounding relative to each output: exp(x - max) inherits the rounding
// of its argument, |x - max|·eps, besides its own.
template <class T>
std::vector<double> softmax_condition(index_t rows, index_t cols, const std::vector<T>& x) {
  std::vector<double> condition(x.size());
  for (index_t i = 0; i < rows; ++i) {
    double row_max = -std::numeric_limits<double>::infinity();
    for (index_t j = 0; j < cols; ++j) row_max = std::max(row_max, double(x[i * cols + j]));
    for (index_t j = 0; j < cols; ++j) condition[i * cols + j] = 1 + (row_max - double(x[i * cols + j]));
  }
  return condition;
}

template <class T>
std::vector<double> widen(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// Element (i, k) of op(A) when A is stored with leading dimension lda, transposed or not.
template <class T>
double element(const std::vector<T>& a, index_t lda, bool transposed, index_t row, index_t col) {
  return transposed ? double(a[col * lda + row]) : double(a[row * lda + col]);
}

// ----------------------------------------------------------------------- GEMM ----

// C = act(op(A)·op(B) + bias) with op(A): M x K, op(B): K x N, each operand stored with a
// leading dimension `pad` larger than needed, and C inside a larger buffer whose cells
// outside the M x N block must come out untouched.
template <class T>
void check_gemm(Ledger& ledger, const KernelSet<T>& kernels, Random& random, index_t M, index_t N, index_t K,
                bool trans_a, bool trans_b, bool with_bias, Activation activation, index_t pad) {
  const std::string kernel = std::string("gemm_") + (trans_a ? "T" : "N") + (trans_b ? "T" : "N") +
                             (with_bias || activation != Activation::identity
                                  ? std::string("+bias+") + activation_name(activation)
                                  : std::string());
  const index_t lda = (trans_a ? M : K) + pad, ldb = (trans_b ? K : N) + pad, ldc = N + pad;
  const std::vector<T> a = random.values<T>((trans_a ? K : M) * lda);
  const std::vector<T> b = random.values<T>((trans_b ? N : K) * ldb);
  const std::vector<T> bias = random.values<T>(N);
  const T sentinel = T(-7.25);
  std::vector<T> c(std::max<index_t>(M * ldc + pad, 1), sentinel);

  steepest::gemm(kernels, M, N, K, a.data(), lda, trans_a, b.data(), ldb, trans_b, c.data(), ldc,
                 with_bias ? bias.data() : nullptr, activation);

  const double tol = tolerance<T>(K + 1);
  const std::string where = shape(M, K, N) + (pad ? " pad " + std::to_string(pad) : std::string());
  for (index_t i = 0; i < M; ++i) {
    for (index_t j = 0; j < N; ++j) {
      ExactDot dot;
      double magnitude = 0;
      for (index_t k = 0; k < K; ++k) {
        const double x = element(a, lda, trans_a, i, k), w = element(b, ldb, trans_b, k, j);
        dot.add(x, w);
        magnitude += std::fabs(x * w);
      }
      double z = dot.value();
      if (with_bias) {
        z += double(bias[j]);
        magnitude += std::fabs(double(bias[j]));
      }
      // The activations are 1-Lipschitz, and their own rounding is relative to outputs <= 1;
      // exp multiplies an error in z by its output, to which its own rounding is relative.
      if (activation == Activation::sigmoid || activation == Activation::tanh) magnitude += 1;
      if (activation == Activation::exp) magnitude = std::exp(z) * (magnitude + 1);
      if (!ledger.check(kernel, dtype_name<T>(), double(c[i * ldc + j]), activate_reference(activation, z),
                        magnitude, tol, where + " at " + shape(i, j)))
        return;
    }
  }
  for (index_t p = 0; p < index_t(c.size()); ++p) {
    const bool inside = p < M * ldc && p % ldc < N;
    if (!inside && c[p] != sentinel) {
      ledger.fail(kernel + " " + dtype_name<T>() + " " + where + ": wrote outside C at offset " + std::to_string(p));
      return;
    }
  }
}

template <class T>
void test_gemm(Ledger& ledger, const KernelSet<T>& kernels) {
  Random random(1);
  // Sweeps of each dimension from 1 past every register tile (lanes ± 1, tile ± 1), the
  // others fixed at odd sizes.
  std::vector<std::vector<index_t>> shapes;
  for (index_t s = 1; s <= 40; ++s) {
    shapes.push_back({s, 13, 7});
    shapes.push_back({11, s, 5});
    shapes.push_back({9, 3, s});
    shapes.push_back({s, s, s});
  }
  // Odd shapes, and operands read in place across K blocks.
  for (auto s : std::vector<std::vector<index_t>>{{45, 65, 33}, {3, 255, 5}, {4, 256, 9}, {5, 257, 3},
                                                  {119, 2, 17}, {120, 3, 31}, {121, 5, 2}, {2, 513, 3}})
    shapes.push_back(s);
  // Shapes past this level's cache blocks, large enough that gemm packs its operands rather
  // than reading them in place (cpp/gemm.cpp): across mc, kc and a partial register tile; and
  // across nc with B packed.
  const index_t mr = kernels.mr, nr = kernels.nr;
  shapes.push_back({kernels.mc + mr + 1, kernels.kc + 1, 4 * nr + 1});
  shapes.push_back({4 * mr + 1, 9, kernels.nc + 1});

  const bool layouts[][2] = {{false, false}, {false, true}, {true, false}, {true, true}};
  for (const auto& s : shapes)
    for (const auto& layout : layouts)
      check_gemm(ledger, kernels, random, s[0], s[2], s[1], layout[0], layout[1], false, Activation::identity, 0);
  for (index_t s = 1; s <= 40; s += 3)
    for (const auto& layout : layouts) check_gemm(ledger, kernels, random, s, s + 2, 7, layout[0], layout[1], false,
                                                  Activation::identity, 3);
  // The fused epilogue: bias then activation on the tile in registers.
  for (Activation activation : kElementwise)
    for (index_t s = 1; s <= 40; s += 3) {
      check_gemm(ledger, kernels, random, s, 41 - s, 9, false, false, true, activation, 0);
      check_gemm(ledger, kernels, random, 7, s, 300, false, false, true, activation, 1);
    }
  // K = 0: C is the epilogue of zero.
  check_gemm(ledger, kernels, random, 5, 6, 0, false, false, true, Activation::sigmoid, 0);
}

// A product large enough to be split over threads (and over K blocks): the result must be
// bitwise the same for any number of threads.
template <class T>
void test_gemm_threads(Ledger& ledger, const KernelSet<T>& kernels) {
  Random random(2);
  const index_t M = 130, K = 270, N = 150;
  const std::vector<T> a = random.values<T>(M * K), b = random.values<T>(K * N), bias = random.values<T>(N);
  std::vector<T> c(M * N);
  std::vector<std::vector<T>> results;
  const int original = steepest::num_threads();
  for (int threads : {1, 2, 3}) {
    steepest::set_num_threads(threads);
    steepest::gemm(kernels, M, N, K, a.data(), K, false, b.data(), N, false, c.data(), N, bias.data(),
                   Activation::tanh);
    results.push_back(c);
  }
  steepest::set_num_threads(original);
  for (std::size_t r = 1; r < results.size(); ++r)
    if (results[r] != results[0])
      ledger.fail(std::string("gemm ") + dtype_name<T>() + " " + shape(M, K, N) + ": result differs between 1 and " +
                  std::to_string(r + 1) + " threads");
  const std::vector<T>& got = results[0];
  for (index_t i = 0; i < M; ++i)
    for (index_t j = 0; j < N; ++j) {
      ExactDot dot;
      double magnitude = 1 + std::fabs(double(bias[j]));
      for (index_t k = 0; k < K; ++k) {
        dot.add(double(a[i * K + k]), double(b[k * N + j]));
        magnitude += std::fabs(double(a[i * K + k]) * double(b[k * N + j]));
      }
      if (!ledger.check("gemm_NN+bias+tanh", dtype_name<T>(), double(got[i * N + j]),
                        std::tanh(dot.value() + double(bias[j])), magnitude, tolerance<T>(K + 1),
                        shape(M, K, N) + " at " + shape(i, j)))
        return;
    }
}

// Every layout must give bitwise the product of the same matrices stored plainly: each
// element is the same products summed in the same order however the operands are stored,
// packed, read in place, or the product computed as its transpose (a narrow weight
// gradient, cpp/gemm.cpp). Shapes across that case (N < one vector, M >= one tile) and
// across K blocks. (The NN product itself is checked against the exact reference in
// test_gemm; this checks the other paths agree with it to the bit.)
template <class T>
void test_gemm_layouts_agree(Ledger& ledger, const KernelSet<T>& kernels) {
  Random random(3);
  const index_t nr = kernels.nr, lanes = kernels.lanes;
  const std::vector<std::vector<index_t>> shapes = {
      {nr, 9, lanes - 1}, {3 * nr + 5, 40, lanes + 3}, {2 * nr + 1, kernels.kc + 7, 3}, {17, 5, 2 * nr + 1}};
  for (const auto& s : shapes) {
    const index_t M = s[0], K = s[1], N = s[2];
    const std::vector<T> a = random.values<T>(M * K), b = random.values<T>(K * N);
    std::vector<T> a_t(K * M), b_t(N * K);
    for (index_t i = 0; i < M; ++i)
      for (index_t k = 0; k < K; ++k) a_t[k * M + i] = a[i * K + k];
    for (index_t k = 0; k < K; ++k)
      for (index_t j = 0; j < N; ++j) b_t[j * K + k] = b[k * N + j];
    std::vector<T> plain(M * N), c(M * N);
    steepest::gemm(kernels, M, N, K, a.data(), K, false, b.data(), N, false, plain.data(), N);
    for (bool trans_a : {false, true})
      for (bool trans_b : {false, true}) {
        steepest::gemm(kernels, M, N, K, trans_a ? a_t.data() : a.data(), trans_a ? M : K, trans_a,
                       trans_b ? b_t.data() : b.data(), trans_b ? K : N, trans_b, c.data(), N);
        if (c != plain)
          ledger.fail(std::string("gemm ") + dtype_name<T>() + " " + shape(M, K, N) + ": layout " +
                      (trans_a ? "T" : "N") + (trans_b ? "T" : "N") + " differs bitwise from NN");
      }
  }
}

// ---------------------------------------------------------------- dense layer ----

template <class T>
void check_dense(Ledger& ledger, const KernelSet<T>& kernels, Random& random, index_t M, index_t K, index_t N,
                 Activation activation) {
  const std::string name = activation_name(activation);
  const std::string where = shape(M, K, N);
  const std::vector<T> x = random.values<T>(M * K), weight = random.values<T>(K * N), bias = random.values<T>(N);
  const std::vector<T> dy = random.values<T>(M * N);

  // Forward: y = act(x·weight + bias).
  std::vector<T> y(M * N);
  steepest::dense_forward(kernels, M, K, N, x.data(), weight.data(), bias.data(), activation, y.data());
  std::vector<double> z(M * N), z_magnitude(M * N);
  for (index_t i = 0; i < M; ++i)
    for (index_t j = 0; j < N; ++j) {
      ExactDot dot;
      double magnitude = std::fabs(double(bias[j]));
      for (index_t k = 0; k < K; ++k) {
        dot.add(double(x[i * K + k]), double(weight[k * N + j]));
        magnitude += std::fabs(double(x[i * K + k]) * double(weight[k * N + j]));
      }
      z[i * N + j] = dot.value() + double(bias[j]);
      z_magnitude[i * N + j] = magnitude;
    }
  std::vector<double> want_y(M * N);
  if (activation == Activation::softmax) want_y = softmax_reference(M, N, z);
  else
    for (index_t p = 0; p < M * N; ++p) want_y[p] = activate_reference(activation, z[p]);
  for (index_t p = 0; p < M * N; ++p) {
    // Softmax: an error e in z moves each output by at most about e (relative to outputs <= 1).
    const bool exact_activation = activation == Activation::relu || activation == Activation::identity;
    double magnitude = exact_activation ? z_magnitude[p] : z_magnitude[p] + 1;
    if (activation == Activation::exp) magnitude *= want_y[p];
    const index_t length = activation == Activation::softmax ? K + 1 + N : K + 1;
    if (!ledger.check("dense_forward_" + name, dtype_name<T>(), double(y[p]), want_y[p], magnitude,
                      tolerance<T>(length), where))
      break;
  }

  // Backward from the reference's y rounded to T, so both sides start from the same input:
  // dz = dy ∘ act'(y), dx = dz·weightᵀ, dweight = xᵀ·dz, dbias = Σ_rows dz.
  std::vector<T> y_in(M * N);
  for (index_t p = 0; p < M * N; ++p) y_in[p] = T(want_y[p]);
  std::vector<T> dz(M * N), dx(M * K), dweight(K * N), dbias(N);
  steepest::dense_backward(kernels, M, K, N, x.data(), weight.data(), y_in.data(), dy.data(), activation, dz.data(),
                           dx.data(), dweight.data(), dbias.data());

  std::vector<double> want_dz, dz_magnitude;
  activation_backward_reference(activation, M, N, y_in, dy, want_dz, dz_magnitude);
  const index_t dz_length = activation == Activation::softmax ? N : 1;
  for (index_t p = 0; p < M * N; ++p)
    if (!ledger.check("dense_backward_" + name + " dz", dtype_name<T>(), double(dz[p]), want_dz[p],
                      dz_magnitude[p], tolerance<T>(dz_length), where))
      break;
  // The products read the kernel's dz, whose own error was checked above; dz's rounding
  // (relative to its magnitude) is carried into the magnitudes here.
  for (index_t i = 0; i < M; ++i)
    for (index_t k = 0; k < K; ++k) {
      ExactDot dot;
      double magnitude = 0;
      for (index_t j = 0; j < N; ++j) {
        dot.add(want_dz[i * N + j], double(weight[k * N + j]));
        magnitude += dz_magnitude[i * N + j] * std::fabs(double(weight[k * N + j]));
      }
      if (!ledger.check("dense_backward_" + name + " dx", dtype_name<T>(), double(dx[i * K + k]), dot.value(),
                        magnitude, tolerance<T>(N + dz_length), where + " at " + shape(i, k)))
        return;
    }
  for (index_t k = 0; k < K; ++k)
    for (index_t j = 0; j < N; ++j) {
      ExactDot dot;
      double magnitude = 0;
      for (index_t i = 0; i < M; ++i) {
        dot.add(double(x[i * K + k]), want_dz[i * N + j]);
        magnitude += std::fabs(double(x[i * K + k])) * dz_magnitude[i * N + j];
      }
      if (!ledger.check("dense_backward_" + name + " dweight", dtype_name<T>(), double(dweight[k * N + j]),
                        dot.value(), magnitude, tolerance<T>(M + dz_length), where + " at " + shape(k, j)))
        return;
    }
  for (index_t j = 0; j < N; ++j) {
    ExactDot sum;
    double magnitude = 0;
    for (index_t i = 0; i < M; ++i) {
      sum.add(want_dz[i * N + j], 1.0);
      magnitude += dz_magnitude[i * N + j];
    }
    if (!ledger.check("dense_backward_" + name + " dbias", dtype_name<T>(), double(dbias[j]), sum.value(), magnitude,
                      tolerance<T>(M + dz_length), where + " at column " + std::to_string(j)))
      return;
  }
}

template <class T>
void test_dense(Ledger& ledger, const KernelSet<T>& kernels) {
  Random random(3);
  for (Activation activation : kAll) {
    for (index_t s = 1; s <= 40; s += 3) {
      check_dense(ledger, kernels, random, s, 7, 41 - s, activation);
      check_dense(ledger, kernels, random, 5, s, 9, activation);
    }
    check_dense(ledger, kernels, random, 45, 65, 33, activation);
    check_dense(ledger, kernels, random, 1, 1, 1, activation);
  }
}

// ---------------------------------------------------------------- activations ----

// Inputs that stress the tails: ±1000 (no overflow, no NaN), the ends of exp's range, the
// switch between tanh's two formulas at 0.625, zeros and subnormals.
template <class T>
std::vector<T> activation_inputs(Random& random, index_t n) {
  std::vector<T> x = random.values<T>(n, -6, 6);
  const T specials[] = {T(1000), T(-1000), T(88), T(-88), T(700), T(-700), T(0.625), T(-0.625), T(0), T(-0.0),
                        std::numeric_limits<T>::denorm_min(), T(20), T(-20), T(1e-4)};
  for (index_t i = 0; i < n; i += 3) x[i] = specials[(i / 3) % (sizeof specials / sizeof specials[0])];
  return x;
}

template <class T>
void test_activations(Ledger& ledger, const KernelSet<T>& kernels) {
  Random random(4);
  // Outputs this small (1e-20) are compared absolutely: exp is clamped to the finite range.
  const double floor = 1e-20;
  std::vector<std::pair<index_t, index_t>> shapes;
  for (index_t n = 1; n <= 40; ++n) shapes.push_back({1, n});
  for (auto s : std::vector<std::pair<index_t, index_t>>{{3, 5}, {4, 16}, {7, 17}, {2, 33}, {45, 65}})
    shapes.push_back(s);

  for (auto [rows, cols] : shapes) {
    const index_t n = rows * cols;
    const std::string where = shape(rows, cols);
    const std::vector<T> x = activation_inputs<T>(random, n), dy = random.values<T>(n);
    for (Activation activation : kAll) {
      const std::string name = activation_name(activation);
      std::vector<T> y(n);
      kernels.activation_forward(activation, rows, cols, x.data(), y.data());
      std::vector<double> want(n), condition(n, 1.0);
      if (activation == Activation::softmax) {
        want = softmax_reference(rows, cols, widen(x));
        condition = softmax_condition(rows, cols, x);
      } else {
        for (index_t p = 0; p < n; ++p) want[p] = activate_reference(activation, double(x[p]));
      }
      // exp: an input's rounding grows by |x| in the output; inputs past T's range overflow.
      if (activation == Activation::exp)
        for (index_t p = 0; p < n; ++p) condition[p] = 1 + std::fabs(double(x[p]));
      for (index_t p = 0; p < n; ++p)
        if (activation == Activation::exp && std::fabs(double(x[p])) > 80) continue;
        else if (!ledger.check("activation_" + name, dtype_name<T>(), double(y[p]), want[p],
                          std::max(std::fabs(want[p]) * condition[p], floor),
                          tolerance<T>(activation == Activation::softmax ? cols : 1), where + " x=" +
                          std::to_string(double(x[p]))))
          break;

      // Backward from the reference output rounded to T; dx aliases dy as the training loop
      // uses it.
      std::vector<T> y_in(n), dx(dy);
      for (index_t p = 0; p < n; ++p) y_in[p] = T(want[p]);
      kernels.activation_backward(activation, rows, cols, y_in.data(), dx.data(), dx.data());
      std::vector<double> want_dx, magnitude;
      activation_backward_reference(activation, rows, cols, y_in, dy, want_dx, magnitude);
      for (index_t p = 0; p < n; ++p)
        if (activation == Activation::exp && std::fabs(double(x[p])) > 80) continue;
        else if (!ledger.check("activation_backward_" + name, dtype_name<T>(), double(dx[p]), want_dx[p],
                          std::max(magnitude[p], floor), tolerance<T>(activation == Activation::softmax ? cols : 1),
                          where))
          break;
    }
  }
}

// ---------------------------------------------------------------------- losses ----

template <class T>
void test_losses(Ledger& ledger, const KernelSet<T>& kernels) {
  Random random(5);
  const char* dtype = dtype_name<T>();
  for (index_t n = 1; n <= 40; ++n) {
    const std::string where = "n=" + std::to_string(n);
    const std::vector<T> pred = random.values<T>(n, -3, 3), target = random.values<T>(n, -3, 3);
    std::vector<T> grad(n);

    // mse = mean((pred - target)²); gradient 2(pred - target)/n.
    double value = kernels.mse(n, pred.data(), target.data(), grad.data());
    double sum = 0;
    for (index_t i = 0; i < n; ++i) sum += (double(pred[i]) - target[i]) * (double(pred[i]) - target[i]);
    ledger.check("loss_mse", dtype, value, sum / n, sum / n, tolerance<T>(n), where);
    for (index_t i = 0; i < n; ++i) {
      const double want = 2 * (double(pred[i]) - target[i]) / n;
      if (!ledger.check("loss_mse grad", dtype, grad[i], want, std::fabs(want), tolerance<T>(), where)) break;
    }

    // Binary cross entropy on probabilities, logs clamped at -100, the gradient's denominator
    // at 1e-12 (PyTorch's BCELoss); some probabilities exactly 0 and 1.
    std::vector<T> prob = random.values<T>(n, 0.001, 0.999), labels = random.values<T>(n, 0, 1);
    for (index_t i = 0; i < n; i += 7) prob[i] = T(i % 2);
    for (index_t i = 0; i < n; i += 2) labels[i] = T(labels[i] > T(0.5));
    value = kernels.binary_cross_entropy(n, prob.data(), labels.data(), grad.data());
    double want_value = 0, magnitude = 0;
    for (index_t i = 0; i < n; ++i) {
      const double p = prob[i], t = labels[i];
      // The kernel takes its logs in T: a log's rounding is relative to the log, and an
      // argument's rounding (1 - p) is relative to the argument.
      const double log_p = std::max(-100.0, std::log(p)), log_1p = std::max(-100.0, std::log(1 - p));
      want_value -= t * log_p + (1 - t) * log_1p;
      magnitude += std::fabs(t * log_p) + std::fabs((1 - t) * log_1p) + 1;
    }
    ledger.check("loss_binary_cross_entropy", dtype, value, want_value / n, magnitude / n, tolerance<T>(n), where);
    for (index_t i = 0; i < n; ++i) {
      const double p = prob[i], t = labels[i];
      const double want = (p - t) / std::max(1e-12, (1 - p) * p) / n;
      if (!ledger.check("loss_binary_cross_entropy grad", dtype, grad[i], want, std::fabs(want) + 1e-30,
                        tolerance<T>(), where))
        break;
    }

    // The same from logits: max(z, 0) - z·t + log(1 + e^-|z|); gradient (sigmoid(z) - t)/n.
    std::vector<T> logits = random.values<T>(n, -30, 30);
    if (n > 2) logits[1] = T(1000), logits[2] = T(-1000);
    value = kernels.sigmoid_binary_cross_entropy(n, logits.data(), labels.data(), grad.data());
    want_value = magnitude = 0;
    for (index_t i = 0; i < n; ++i) {
      const double z = logits[i], t = labels[i];
      want_value += std::max(z, 0.0) - z * t + std::log1p(std::exp(-std::fabs(z)));
      magnitude += std::fabs(z) + std::fabs(z * t) + 1;
    }
    ledger.check("loss_sigmoid_bce", dtype, value, want_value / n, magnitude / n, tolerance<T>(n), where);
    for (index_t i = 0; i < n; ++i) {
      const double want = (sigmoid_reference(double(logits[i])) - double(labels[i])) / n;
      if (!ledger.check("loss_sigmoid_bce grad", dtype, grad[i], want, (1 + std::fabs(double(labels[i]))) / n,
                        tolerance<T>(), where))
        break;
    }
  }

  // Softmax cross entropy: rows x cols logits, against integer labels and against target
  // distributions; mean over rows.
  for (index_t cols = 1; cols <= 40; ++cols) {
    const index_t rows = 1 + cols % 5;
    const std::string where = shape(rows, cols);
    std::vector<T> logits = random.values<T>(rows * cols, -10, 10);
    if (cols > 3) logits[1] = T(1000), logits[2] = T(-1000);
    std::vector<std::int64_t> labels(rows);
    std::vector<T> target(rows * cols, T(0));
    for (index_t i = 0; i < rows; ++i) {
      labels[i] = std::int64_t(random.next() % std::uint64_t(cols));
      double total = 0;
      for (index_t j = 0; j < cols; ++j) total += target[i * cols + j] = T(random.uniform(0, 1));
      for (index_t j = 0; j < cols; ++j) target[i * cols + j] = T(target[i * cols + j] / total);
    }
    const std::vector<double> prob = softmax_reference(rows, cols, widen(logits));
    const std::vector<double> condition = softmax_condition(rows, cols, logits);
    for (bool dense_target : {false, true}) {
      const std::string kernel = dense_target ? "loss_softmax_ce_dense" : "loss_softmax_ce";
      std::vector<T> grad(rows * cols);
      const double value = dense_target
                               ? kernels.softmax_cross_entropy_dense(rows, cols, logits.data(), target.data(),
                                                                     grad.data())
                               : kernels.softmax_cross_entropy(rows, cols, logits.data(), labels.data(), grad.data());
      double want_value = 0, magnitude = 0;
      for (index_t i = 0; i < rows; ++i) {
        double row_max = -std::numeric_limits<double>::infinity();
        for (index_t j = 0; j < cols; ++j) row_max = std::max(row_max, double(logits[i * cols + j]));
        double sum = 0;
        for (index_t j = 0; j < cols; ++j) sum += std::exp(double(logits[i * cols + j]) - row_max);
        const double log_sum = std::log(sum) + row_max;
        for (index_t j = 0; j < cols; ++j) {
          const double t = dense_target ? double(target[i * cols + j]) : double(j == labels[i]);
          want_value += t * (log_sum - double(logits[i * cols + j]));
          magnitude += t * (std::fabs(log_sum) + std::fabs(double(logits[i * cols + j])) + 1);
        }
      }
      ledger.check(kernel, dtype, value, want_value / rows, magnitude / rows, tolerance<T>(cols), where);
      for (index_t i = 0; i < rows; ++i) {
        // (softmax·Σt - t)/rows: the targets, rounded to T, need not sum to exactly 1.
        double target_sum = 0;
        for (index_t j = 0; j < cols; ++j)
          target_sum += dense_target ? double(target[i * cols + j]) : double(j == labels[i]);
        for (index_t j = 0; j < cols; ++j) {
          const index_t p = i * cols + j;
          const double t = dense_target ? double(target[p]) : double(j == labels[i]);
          const double want = (prob[p] * target_sum - t) / rows;
          // Probabilities below 1e-20 are compared absolutely (exp is clamped to the finite range).
          if (!ledger.check(kernel + " grad", dtype, grad[p], want, std::max((prob[p] * condition[p] * target_sum + t) / rows, 1e-20),
                            tolerance<T>(cols), where))
            break;
        }
      }
    }
  }
}

// ------------------------------------------------------------------ optimizers ----

template <class T>
void test_optimizers(Ledger& ledger, const KernelSet<T>& kernels) {
  Random random(6);
  const char* dtype = dtype_name<T>();
  struct Sgd {
    double lr, momentum;
    bool nesterov;
    double l1, l2;
  };
  const Sgd settings[] = {{0.1, 0, false, 0, 0}, {0.05, 0.9, false, 0, 0}, {0.05, 0.9, true, 0, 0},
                          {0.1, 0.5, true, 0.01, 0.02}, {0.2, 0, false, 0.03, 0.001}};
  for (index_t n = 1; n <= 40; ++n) {
    for (const Sgd& s : settings) {
      const std::string where = "n=" + std::to_string(n) + " momentum=" + std::to_string(s.momentum) +
                                (s.nesterov ? " nesterov" : "") + " l1=" + std::to_string(s.l1) +
                                " l2=" + std::to_string(s.l2);
      std::vector<T> param = random.values<T>(n), grad = random.values<T>(n), velocity = random.values<T>(n);
      if (n > 1) param[0] = T(0);  // sign(0) = 0 for L1
      const std::vector<T> param0 = param, velocity0 = velocity;
      for (bool proximal : {false, true}) {
        param = param0;
        velocity = velocity0;
        steepest::UpdateSums sums;
        sums.with_change = true;
        kernels.sgd_update(n, param.data(), grad.data(), s.momentum != 0 ? velocity.data() : nullptr, T(s.lr),
                           T(s.momentum), s.nesterov, T(s.l1), T(s.l2), proximal, &sums);
        // The diagnostics' sums of the same pass: Σ grad², Σ p², Σ (p_new − p)².
        ExactDot gradient_squares, parameter_squares, change_squares;
        for (index_t i = 0; i < n; ++i) {
          const double change = double(param[i]) - double(param0[i]);
          gradient_squares.add(double(grad[i]), double(grad[i]));
          parameter_squares.add(double(param0[i]), double(param0[i]));
          change_squares.add(change, change);
        }
        ledger.check("sgd_update sums", dtype, sums.gradient_squares, gradient_squares.value(),
                     gradient_squares.value(), tolerance<T>(n), where);
        ledger.check("sgd_update sums", dtype, sums.parameter_squares, parameter_squares.value(),
                     parameter_squares.value(), tolerance<T>(n), where);
        // p_new − p is rounded to T by the kernel: relative to |p| + |p_new|, not to the change.
        ledger.check("sgd_update sums", dtype, sums.change_squares, change_squares.value(),
                     change_squares.value() + parameter_squares.value(), tolerance<T>(n), where);
        for (index_t i = 0; i < n; ++i) {
          const double p = param0[i], v = velocity0[i];
          const double sign = p > 0 ? 1 : p < 0 ? -1 : 0;
          // The proximal form leaves l1 out of the gradient and soft-thresholds the result.
          const double l1_in_gradient = proximal ? 0.0 : double(T(s.l1));
          const double g = double(grad[i]) + T(s.l2) * p + l1_in_gradient * sign;
          const double g_magnitude = std::fabs(double(grad[i])) + std::fabs(T(s.l2) * p) + l1_in_gradient;
          double step = g, step_magnitude = g_magnitude;
          if (s.momentum != 0) {
            const double mu = T(s.momentum);
            const double v_new = mu * v + g, v_magnitude = std::fabs(mu * v) + g_magnitude;
            if (!ledger.check("sgd_update velocity", dtype, velocity[i], v_new, v_magnitude, tolerance<T>(4), where))
              break;
            step = s.nesterov ? g + mu * v_new : v_new;
            step_magnitude = s.nesterov ? g_magnitude + mu * v_magnitude : v_magnitude;
          } else if (velocity[i] != velocity0[i]) {
            ledger.fail("sgd_update " + std::string(dtype) + " " + where + ": wrote velocity without momentum");
          }
          const double lr = T(s.lr);
          const double stepped = p - lr * step, threshold = proximal ? double(T(lr * T(s.l1))) : 0.0;
          const double want = std::copysign(std::max(std::fabs(stepped) - threshold, 0.0), stepped);
          if (!ledger.check(proximal ? "sgd_update proximal" : "sgd_update", dtype, param[i], want,
                            std::fabs(p) + lr * step_magnitude + threshold, tolerance<T>(4), where))
            break;
        }
      }
    }

    // Adam after 3 steps' worth of state: m and v are random, v >= 0.
    const std::string where = "n=" + std::to_string(n);
    std::vector<T> param = random.values<T>(n), grad = random.values<T>(n), m = random.values<T>(n),
                   v = random.values<T>(n, 0, 1);
    const std::vector<T> param0 = param, m0 = m, v0 = v;
    const T lr = T(0.01), beta1 = T(0.9), beta2 = T(0.999), eps = T(1e-8), l1 = T(0.001), l2 = T(0.01);
    const T c1 = T(1 - std::pow(double(beta1), 3)), c2 = T(1 - std::pow(double(beta2), 3));
    kernels.adam_update(n, param.data(), grad.data(), m.data(), v.data(), lr, beta1, beta2, eps, c1, c2, l1, l2, false, nullptr);
    for (index_t i = 0; i < n; ++i) {
      const double p = param0[i], sign = p > 0 ? 1 : p < 0 ? -1 : 0;
      const double g = double(grad[i]) + double(l2) * p + double(l1) * sign;
      const double g_magnitude = std::fabs(double(grad[i])) + std::fabs(double(l2) * p) + double(l1);
      const double b1 = beta1, b2 = beta2;
      // 1 - β is formed in T by the kernel, as PyTorch does: use the same rounded weights.
      const double one_minus_b1 = T(T(1) - beta1), one_minus_b2 = T(T(1) - beta2);
      const double m_new = b1 * m0[i] + one_minus_b1 * g;
      const double v_new = b2 * v0[i] + one_minus_b2 * g * g;
      const double m_magnitude = b1 * std::fabs(double(m0[i])) + one_minus_b1 * g_magnitude;
      const double v_magnitude = b2 * v0[i] + one_minus_b2 * g_magnitude * g_magnitude;
      if (!ledger.check("adam_update m", dtype, m[i], m_new, m_magnitude, tolerance<T>(4), where)) break;
      if (!ledger.check("adam_update v", dtype, v[i], v_new, v_magnitude, tolerance<T>(4), where)) break;
      const double denominator = std::sqrt(v_new / double(c2)) + double(eps);
      const double step = m_new / double(c1) / denominator;
      // Relative errors in m and v carry into the step: |step| bounds them, scaled by 1 + the
      // ratio of the terms' size to the result's.
      const double step_magnitude = (m_magnitude / double(c1)) / denominator *
                                    (1 + std::sqrt(v_magnitude / double(c2)) / denominator);
      if (!ledger.check("adam_update", dtype, param[i], p - double(lr) * step,
                        std::fabs(p) + double(lr) * step_magnitude, tolerance<T>(8), where))
        break;
    }

    // Σ x² (for gradient norms).
    const std::vector<T> x = random.values<T>(n);
    ExactDot squares;
    for (T value : x) squares.add(double(value), double(value));
    ledger.check("sum_squares", dtype, kernels.sum_squares(n, x.data()), squares.value(), squares.value(),
                 tolerance<T>(n), where);
  }
}

// ----------------------------------------------------------- dropout and noise ----

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Draw i of a counter-based stream as the kernels define it, written here independently of
// cpp/kernels/random.inc: the first output of splitmix64 started at stream + i, its top 53
// bits as a fraction.
double reference_uniform(std::uint64_t stream, std::uint64_t i) {
  return double(Random(stream + i).next() >> 11) * 0x1.0p-53;
}

// Inverted dropout over sizes across every vector width and its tails (n = 1, lanes - 1,
// lanes + 1, odd sizes), rates from none to most, inputs with infinities, NaN and signed
// zeros: the mask against the reference draws, outputs bit for bit against x·T(1/(1 - rate))
// or +0, forward and backward against each other and against the scalar level, in place
// and with nothing written past n.
template <class T>
void test_dropout(Ledger& ledger, const KernelSet<T>& kernels, const KernelSet<T>& scalar) {
  Random random(7);
  const char* dtype = dtype_name<T>();
  const index_t lanes = kernels.lanes;
  std::vector<index_t> sizes;
  for (index_t n = 0; n <= 40; ++n) sizes.push_back(n);
  for (index_t n : {lanes - 1, lanes + 1, 2 * lanes - 1, 3 * lanes + 1, index_t(257), index_t(1001)})
    sizes.push_back(n);
  const index_t pad = 3;
  const std::uint8_t byte_sentinel = 0xAB;
  const T sentinel = T(-7.25);
  for (index_t n : sizes) {
    for (double rate : {0.0, 0.1, 0.5, 0.9}) {
      const std::string where = "n=" + std::to_string(n) + " rate=" + std::to_string(rate);
      const T scale = T(1 / (1 - rate));
      std::vector<T> x = random.values<T>(n, -3, 3);
      const T specials[] = {std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity(),
                            std::numeric_limits<T>::quiet_NaN(), T(-0.0), T(0), std::numeric_limits<T>::denorm_min()};
      for (index_t i = 0; i < n; i += 5) x[i] = specials[(i / 5) % 6];
      const std::uint64_t stream = random.next();

      std::vector<std::uint8_t> mask(n + pad, byte_sentinel), scalar_mask(n + pad, byte_sentinel);
      std::vector<T> y(n + pad, sentinel), scalar_y(n + pad, sentinel);
      kernels.dropout_forward(n, stream, rate, x.data(), mask.data(), y.data());
      scalar.dropout_forward(n, stream, rate, x.data(), scalar_mask.data(), scalar_y.data());
      for (index_t i = 0; i < n; ++i) {
        const bool kept = reference_uniform(stream, std::uint64_t(i)) >= rate;
        const T want = kept ? T(x[i] * scale) : T(0);
        if (!ledger.check_bits("dropout_forward mask", dtype, mask[i], kept, mask[i] == kept, where) ||
            !ledger.check_bits("dropout_forward", dtype, double(y[i]), double(want), same_bits(y[i], want), where) ||
            !ledger.check_bits("dropout_forward vs scalar", dtype, double(y[i]), double(scalar_y[i]),
                               same_bits(y[i], scalar_y[i]) && mask[i] == scalar_mask[i], where))
          break;
      }
      for (index_t i = n; i < n + pad; ++i)
        if (mask[i] != byte_sentinel || !same_bits(y[i], sentinel))
          ledger.fail("dropout_forward " + std::string(dtype) + " " + where + ": wrote past n");

      // In place, as a layer's buffer may be reused.
      std::vector<std::uint8_t> mask_in_place(n);
      std::vector<T> in_place(x);
      kernels.dropout_forward(n, stream, rate, in_place.data(), mask_in_place.data(), in_place.data());
      for (index_t i = 0; i < n; ++i)
        if (!ledger.check_bits("dropout_forward in place", dtype, double(in_place[i]), double(y[i]),
                               same_bits(in_place[i], y[i]) && mask_in_place[i] == mask[i], where))
          break;

      // Backward through the forward's mask: dx = mask ? dy·scale : +0, in place over dy; with
      // dy = x it must give the forward's output (the same map).
      const std::vector<T> dy = random.values<T>(n);
      std::vector<T> dx(dy), scalar_dx(n + pad, sentinel), through(n + pad, sentinel);
      kernels.dropout_backward(n, rate, mask.data(), dx.data(), dx.data());
      scalar.dropout_backward(n, rate, mask.data(), dy.data(), scalar_dx.data());
      kernels.dropout_backward(n, rate, mask.data(), x.data(), through.data());
      for (index_t i = 0; i < n; ++i) {
        const T want = mask[i] ? T(dy[i] * scale) : T(0);
        if (!ledger.check_bits("dropout_backward", dtype, double(dx[i]), double(want), same_bits(dx[i], want), where) ||
            !ledger.check_bits("dropout_backward vs scalar", dtype, double(dx[i]), double(scalar_dx[i]),
                               same_bits(dx[i], scalar_dx[i]), where) ||
            !ledger.check_bits("dropout_backward vs forward", dtype, double(through[i]), double(y[i]),
                               same_bits(through[i], y[i]), where))
          break;
      }
      for (index_t i = n; i < n + pad; ++i)
        if (!same_bits(through[i], sentinel))
          ledger.fail("dropout_backward " + std::string(dtype) + " " + where + ": wrote past n");
    }

    // Any nonzero byte keeps (the vocabulary's load_mask tests bytes, not their sign or low bit).
    std::vector<std::uint8_t> bytes(n);
    for (index_t i = 0; i < n; ++i) bytes[i] = std::uint8_t(i % 3 == 0 ? 0 : random.next() % 255 + 1);
    const std::vector<T> dy = random.values<T>(n);
    std::vector<T> dx(n);
    kernels.dropout_backward(n, 0.5, bytes.data(), dy.data(), dx.data());
    for (index_t i = 0; i < n; ++i) {
      const T want = bytes[i] ? T(dy[i] * T(2)) : T(0);
      if (!ledger.check_bits("dropout_backward any byte", dtype, double(dx[i]), double(want), same_bits(dx[i], want),
                             "n=" + std::to_string(n) + " byte " + std::to_string(int(bytes[i]))))
        break;
    }
  }
}

// Standard normal noise: against Box–Muller computed here from the reference uniforms, bit
// for bit against the scalar level, the same when a run of indices is split over calls (at
// tails and offsets), finite, and 10^5 draws per stream with mean within 5 standard errors of
// 0 (5/sqrt(n) = 0.016) and variance within 5 standard errors of 1 (5·sqrt(2/n) = 0.022, the
// sample variance of a normal having variance 2/n): a correct generator fails either with
// probability under 10^-6.
template <class T>
void test_standard_normal(Ledger& ledger, const KernelSet<T>& kernels, const KernelSet<T>& scalar) {
  const char* dtype = dtype_name<T>();
  const index_t n = 100000;
  const double two_pi = 2 * std::acos(-1.0);
  for (std::uint64_t stream : {std::uint64_t(0), std::uint64_t(0x5EED), ~std::uint64_t(0)}) {
    const std::string where = "stream " + std::to_string(stream);
    std::vector<T> z(n), z_scalar(n), split(n);
    kernels.standard_normal(n, stream, 0, z.data());
    scalar.standard_normal(n, stream, 0, z_scalar.data());
    index_t begin = 0;
    const index_t lanes = kernels.lanes;
    for (index_t part : {index_t(1), lanes - 1, lanes + 1, index_t(37)}) {
      kernels.standard_normal(part, stream, std::uint64_t(begin), split.data() + begin);
      begin += part;
    }
    kernels.standard_normal(n - begin, stream, std::uint64_t(begin), split.data() + begin);

    double sum = 0, sum_squares = 0;
    for (index_t i = 0; i < n; ++i) {
      const double u1 = 1 - reference_uniform(stream, 2 * std::uint64_t(i));
      const double u2 = reference_uniform(stream, 2 * std::uint64_t(i) + 1);
      const double want = std::sqrt(-2 * std::log(u1)) * std::cos(two_pi * u2);
      const std::string at = where + " at " + std::to_string(i);
      if (!ledger.check("standard_normal", dtype, double(z[i]), want, std::max(1.0, std::fabs(want)), tolerance<T>(),
                        at) ||
          !ledger.check_bits("standard_normal vs scalar", dtype, double(z[i]), double(z_scalar[i]),
                             same_bits(z[i], z_scalar[i]), at) ||
          !ledger.check_bits("standard_normal split", dtype, double(split[i]), double(z[i]), same_bits(split[i], z[i]),
                             at) ||
          !ledger.check_bits("standard_normal finite", dtype, double(z[i]), double(z[i]), std::isfinite(double(z[i])),
                             at))
        return;
      sum += double(z[i]);
      sum_squares += double(z[i]) * double(z[i]);
    }
    const double mean = sum / n, variance = sum_squares / n - mean * mean;
    if (!(std::fabs(mean) <= 5 / std::sqrt(double(n))) || !(std::fabs(variance - 1) <= 5 * std::sqrt(2.0 / n)))
      ledger.fail("standard_normal " + std::string(dtype) + " " + where + ": mean " + std::to_string(mean) +
                  ", variance " + std::to_string(variance) + " over " + std::to_string(n) + " draws");
  }
}

// The benchmark's peak-rate probe: 12 chains one vector wide (kernels.h), so exactly
// 2 · 12 · lanes · iterations operations. The sink must hold the chains' sum, which a kernel
// that skipped chains, lanes or rounds would get wrong: chain c starts at c and each round is
// acc·multiplier + 1e-3; with a multiplier near 1 a round less moves a chain by 1e-3 of
// itself, far more than the rounding of 100 rounds.
template <class T>
void test_fma_throughput(Ledger& ledger, const KernelSet<T>& kernels) {
  const char* dtype = dtype_name<T>();
  constexpr index_t chains = 12;
  const index_t iterations = 100;
  const T multiplier = T(0.999), shift = T(1e-3);
  T sink = multiplier;
  const double operations = kernels.fma_throughput(iterations, &sink);
  const double want_operations = 2.0 * chains * double(kernels.lanes) * double(iterations);
  const std::string where = std::to_string(iterations) + " rounds";
  ledger.check_bits("fma_throughput operations", dtype, operations, want_operations, operations == want_operations,
                    where);
  double want_sink = 0;
  for (index_t c = 0; c < chains; ++c) {
    double acc = double(c);
    for (index_t round = 0; round < iterations; ++round) acc = acc * double(multiplier) + double(shift);
    want_sink += acc * double(kernels.lanes);
  }
  ledger.check("fma_throughput sink", dtype, double(sink), want_sink, want_sink,
               tolerance<T>() * double(iterations), where);
}

// scalar: the same dtype's kernels at the scalar level, which the kernels that promise the
// same bits at every level are compared with.
template <class T>
void test_all(Ledger& ledger, const KernelSet<T>& kernels, const KernelSet<T>& scalar) {
  test_gemm(ledger, kernels);
  test_gemm_threads(ledger, kernels);
  test_gemm_layouts_agree(ledger, kernels);
  test_dense(ledger, kernels);
  test_activations(ledger, kernels);
  test_losses(ledger, kernels);
  test_optimizers(ledger, kernels);
  test_dropout(ledger, kernels, scalar);
  test_standard_normal(ledger, kernels, scalar);
  test_fma_throughput(ledger, kernels);
}

// ------------------------------------------------------------------ bfloat16 ----

// x rounded to bfloat16's 8 significant bits, to nearest with ties to even (nearbyint in the
// default rounding mode), written independently of the library's bit manipulation; float32
// denormals flush to a zero of their sign, as VCVTNE2PS2BF16 does.
double bfloat16_reference(float x) {
  if (std::isnan(x) || std::isinf(x)) return double(x);
  if (std::fpclassify(x) == FP_SUBNORMAL || x == 0) return std::copysign(0.0, double(x));
  int exponent;
  const double mantissa = std::frexp(double(x), &exponent);  // [0.5, 1)
  const double rounded = std::ldexp(std::nearbyint(std::ldexp(mantissa, 8)), exponent - 8);
  return std::fabs(rounded) > double(std::numeric_limits<float>::max()) ? std::copysign(HUGE_VAL, rounded) : rounded;
}

bool same_value(double got, double want) {
  return (std::isnan(got) && std::isnan(want)) ||
         (got == want && std::signbit(got) == std::signbit(want));
}

// Rounding edge cases, through the product x·1 (K = 1: the sum is the rounded x itself).
void test_bfloat16_rounding(Ledger& ledger, const steepest::Bf16KernelSet& bf16, const KernelSet<float>& kernels) {
  auto from_bits = [](std::uint32_t bits) {
    float x;
    std::memcpy(&x, &bits, sizeof x);
    return x;
  };
  std::vector<float> x = {
      1.0f, -1.0f, 0.0f, -0.0f,
      from_bits(0x3F808000u),  // a tie between 0x3F80 and 0x3F81: to the even 0x3F80
      from_bits(0x3F818000u),  // a tie between 0x3F81 and 0x3F82: to the even 0x3F82
      from_bits(0x3F808001u),  // just above a tie: up
      from_bits(0x3F807FFFu),  // just below: down
      from_bits(0x00000001u), from_bits(0x807FFFFFu),  // denormals: to zeros of their sign
      from_bits(0x00800000u),                          // the smallest normal stays
      std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
      std::numeric_limits<float>::quiet_NaN(), from_bits(0x7F800001u),  // quiet and signalling NaN
      std::numeric_limits<float>::max(),      // above bfloat16's largest: to inf
      from_bits(0x7F7F7FFFu),                 // just below the tie with inf: bfloat16's largest
      3.14159265f, -2.71828183e-20f, 6.5e37f,
  };
  Random random(11);
  for (int i = 0; i < 64; ++i) x.push_back(float(random.uniform(-1e3, 1e3)));
  const index_t M = index_t(x.size());
  const float one = 1.0f;
  std::vector<float> c(M);
  steepest::gemm_bfloat16(bf16, kernels, M, 1, 1, x.data(), 1, false, &one, 1, false, c.data(), 1);
  for (index_t i = 0; i < M; ++i) {
    const double want = bfloat16_reference(x[i]);
    // A sum starts from +0, so -0·1 comes out +0: only the rounding function keeps a zero's sign.
    const bool same = want == 0 ? c[i] == 0 : same_value(double(c[i]), want);
    ledger.check_bits("bf16_rounding", "float32", double(c[i]), want, same,
                      "x = " + std::to_string(x[i]));
    const double library = double(steepest::round_to_bfloat16(x[i]));
    ledger.check_bits("round_to_bfloat16", "float32", library, want, same_value(library, want),
                      "x = " + std::to_string(x[i]));
  }
}

// The products of the rounded operands, summed exactly, against the kernel's float32 sums.
void check_gemm_bfloat16(Ledger& ledger, const steepest::Bf16KernelSet& bf16, const KernelSet<float>& kernels,
                         Random& random, index_t M, index_t N, index_t K, bool trans_a, bool trans_b, bool with_bias,
                         Activation activation, index_t pad) {
  const std::string kernel = std::string("bf16_gemm_") + (trans_a ? "T" : "N") + (trans_b ? "T" : "N") +
                             (with_bias || activation != Activation::identity
                                  ? std::string("+bias+") + activation_name(activation)
                                  : std::string());
  const index_t lda = (trans_a ? M : K) + pad, ldb = (trans_b ? K : N) + pad, ldc = N + pad;
  const std::vector<float> a = random.values<float>((trans_a ? K : M) * lda);
  const std::vector<float> b = random.values<float>((trans_b ? N : K) * ldb);
  const std::vector<float> bias = random.values<float>(N);
  const float sentinel = -7.25f;
  std::vector<float> c(std::max<index_t>(M * ldc + pad, 1), sentinel);
  steepest::gemm_bfloat16(bf16, kernels, M, N, K, a.data(), lda, trans_a, b.data(), ldb, trans_b, c.data(), ldc,
                          with_bias ? bias.data() : nullptr, activation);
  const double tol = tolerance<float>(K + 1);
  const std::string where = shape(M, K, N) + (pad ? " pad " + std::to_string(pad) : std::string());
  for (index_t i = 0; i < M; ++i)
    for (index_t j = 0; j < N; ++j) {
      ExactDot dot;
      double magnitude = 0;
      for (index_t k = 0; k < K; ++k) {
        const double x = bfloat16_reference(float(element(a, lda, trans_a, i, k)));
        const double w = bfloat16_reference(float(element(b, ldb, trans_b, k, j)));
        dot.add(x, w);
        magnitude += std::fabs(x * w);
      }
      double z = dot.value();
      if (with_bias) {
        z += double(bias[j]);
        magnitude += std::fabs(double(bias[j]));
      }
      if (activation == Activation::sigmoid || activation == Activation::tanh) magnitude += 1;
      if (activation == Activation::exp) magnitude = std::exp(z) * (magnitude + 1);
      if (!ledger.check(kernel, "float32", double(c[i * ldc + j]), activate_reference(activation, z), magnitude, tol,
                        where + " at " + shape(i, j)))
        return;
    }
  for (index_t p = 0; p < index_t(c.size()); ++p)
    if (!(p < M * ldc && p % ldc < N) && c[p] != sentinel) {
      ledger.fail(kernel + " " + where + ": wrote outside C at offset " + std::to_string(p));
      return;
    }
}

void test_gemm_bfloat16(Ledger& ledger, const steepest::Bf16KernelSet& bf16, const KernelSet<float>& kernels) {
  Random random(12);
  // Each dimension across the register tiles (12 and 32 rows, 32 columns) and the chunks of
  // 32 steps of k, the others at odd sizes; then across the cache blocks.
  std::vector<std::vector<index_t>> shapes;
  for (index_t s = 1; s <= 70; s += (s < 36 ? 1 : 5)) {
    shapes.push_back({s, 13, 7});
    shapes.push_back({11, s, 5});
    shapes.push_back({9, 3, s});
  }
  for (auto s : std::vector<std::vector<index_t>>{{45, 65, 33}, {33, 31, 17}, {2, 513, 3}, {130, 600, 70},
                                                  {20, 40, 1030}, {250, 64, 10}})
    shapes.push_back(s);
  const bool layouts[][2] = {{false, false}, {false, true}, {true, false}, {true, true}};
  for (const auto& s : shapes)
    for (const auto& layout : layouts)
      check_gemm_bfloat16(ledger, bf16, kernels, random, s[0], s[2], s[1], layout[0], layout[1], false,
                          Activation::identity, 0);
  for (index_t s = 1; s <= 40; s += 3)
    for (const auto& layout : layouts)
      check_gemm_bfloat16(ledger, bf16, kernels, random, s, s + 2, 7, layout[0], layout[1], false,
                          Activation::identity, 3);
  for (Activation activation : kElementwise)
    for (index_t s = 1; s <= 40; s += 6) {
      check_gemm_bfloat16(ledger, bf16, kernels, random, s, 41 - s, 9, false, false, true, activation, 0);
      check_gemm_bfloat16(ledger, bf16, kernels, random, 7, s, 600, false, false, true, activation, 1);
    }
  check_gemm_bfloat16(ledger, bf16, kernels, random, 5, 6, 0, false, false, true, Activation::sigmoid, 0);

  // Bitwise the same for any number of threads, across K blocks.
  const index_t M = 130, K = 1100, N = 150;
  const std::vector<float> a = random.values<float>(M * K), b = random.values<float>(K * N);
  const std::vector<float> bias = random.values<float>(N);
  std::vector<std::vector<float>> results;
  const int original = steepest::num_threads();
  for (int threads : {1, 2, 3}) {
    steepest::set_num_threads(threads);
    std::vector<float> c(M * N);
    steepest::gemm_bfloat16(bf16, kernels, M, N, K, a.data(), K, false, b.data(), N, false, c.data(), N, bias.data(),
                            Activation::tanh);
    results.push_back(c);
  }
  steepest::set_num_threads(original);
  for (std::size_t r = 1; r < results.size(); ++r)
    if (results[r] != results[0])
      ledger.fail("bf16 gemm " + shape(M, K, N) + ": result differs between 1 and " + std::to_string(r + 1) +
                  " threads");
  test_bfloat16_rounding(ledger, bf16, kernels);
  if (bf16.dot_throughput) {
    float sink = 1.0f;
    const double flops = bf16.dot_throughput(1000, &sink);
    if (!(flops > 0)) ledger.fail("bf16 dot_throughput returned no operations");
  }
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::string item;
  for (char ch : list + ",") {
    if (ch != ',') item += ch;
    else if (!item.empty()) out.push_back(item), item.clear();
  }
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> required;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--require" && i + 1 < argc) {
      required = split(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--require isa[,isa...]]\n", argv[0]);
      return 2;
    }
  }

  std::vector<std::string> levels = steepest::available_isas();
  std::printf("compiled in: %s\nthis CPU runs: %s\n", join(steepest::compiled_isas()).c_str(), join(levels).c_str());
  try {
    const char* forced = std::getenv("STEEPEST_ISA");
    if (forced && *forced) levels = {steepest::active_kernels().isa};
  } catch (const std::exception& error) {
    std::printf("FAIL: %s\n", error.what());
    return 1;
  }
  std::printf("testing: %s\n", join(levels).c_str());

  steepest::select_isa("scalar");
  const steepest::KernelTable& scalar = steepest::active_kernels();
  Ledger ledger;
  for (const std::string& level : levels) {
    steepest::select_isa(level);
    const steepest::KernelTable& table = steepest::active_kernels();
    ledger.isa = table.isa;
    test_all(ledger, table.f32, scalar.f32);
    test_all(ledger, table.f64, scalar.f64);
  }
  // The bfloat16 levels, with the best float32 kernels for their epilogues.
  steepest::select_isa(levels.back());
  for (const std::string& level : steepest::available_bfloat16_levels()) {
    steepest::select_bfloat16(level);
    ledger.isa = "bf16:" + level;
    test_gemm_bfloat16(ledger, steepest::active_bfloat16(), steepest::active_kernels().f32);
    levels.push_back(ledger.isa);
  }
  ledger.print_summary(levels);

  const std::set<std::string> tested(levels.begin(), levels.end());
  for (const std::string& level : required)
    if (!tested.count(level)) ledger.fail("required level '" + level + "' was not tested");

  if (ledger.failures() > 0) {
    std::printf("\n%d failures\n", ledger.failures());
    return 1;
  }
  std::printf("\nall kernels agree with the references\n");
  return 0;
}

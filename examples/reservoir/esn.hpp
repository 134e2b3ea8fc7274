#pragma once
// reservoir/esn.hpp: the echo state network, a leaky-integrator reservoir of tanh units with sparse
// random recurrent weights scaled to a chosen spectral radius.

#include <Spectra/GenEigsSolver.h>
#include <Spectra/MatOp/SparseGenMatProd.h>
#include <Eigen/Dense>
#include <Eigen/Sparse>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace reservoir {

/// Hyper-parameters of an echo state network (H. Jaeger, "The echo state approach to analysing and
/// training recurrent neural networks", GMD Report 148 (2001); leaky units: H. Jaeger et al., Neural
/// Networks 20 (2007) 335, eq. 2). Defaults are those of `parex-reservoir run --task mackey-glass`.
struct esn_config {
    std::size_t units = 1000;       ///< reservoir size N, in [1, max_units]
    std::size_t connections = 10;   ///< recurrent weights per unit (row of W), in [1, N]
    double spectral_radius = 0.95;  ///< largest |eigenvalue| of W after scaling, > 0
    double leak_rate = 1;           ///< a in (0, 1]: x <- (1 - a) x + a tanh(...)
    double input_scaling = 1;       ///< input weights uniform in [-s, s]
    double bias_scaling = 0.2;      ///< bias weights uniform in [-s, s]
};

/// Largest reservoir either model accepts: the readout's normal equations take (N + 2)^2 doubles per
/// chunk of time steps (about 32 MB each at this size).
inline constexpr std::size_t max_units = 4000;

/// Largest |eigenvalue| of a square sparse matrix. Computed, not estimated from the weight
/// distribution: implicitly restarted Arnoldi (Spectra's GenEigsSolver, the method of ARPACK, which
/// SciPy's eigs uses) for the eigenvalues of largest magnitude, or Eigen's dense EigenSolver below 64
/// rows. Throws std::runtime_error if Arnoldi does not converge. Cost: a few hundred sparse products.
inline double spectral_radius(const Eigen::SparseMatrix<double>& w) {
    const auto n = w.rows();
    if (n < 64) {
        const Eigen::EigenSolver<Eigen::MatrixXd> dense(Eigen::MatrixXd(w), false);
        return dense.eigenvalues().cwiseAbs().maxCoeff();
    }
    Spectra::SparseGenMatProd<double> product(w);
    Spectra::GenEigsSolver<Spectra::SparseGenMatProd<double>> solver(product, 3, std::min<Eigen::Index>(n, 40));
    solver.init();  // a fixed start vector: the result does not vary from run to run
    solver.compute(Spectra::SortRule::LargestMagn, 10'000, 1e-12);
    if (solver.info() != Spectra::CompInfo::Successful)
        throw std::runtime_error("spectral_radius: Arnoldi did not converge for a " + std::to_string(n) + " x " +
                                 std::to_string(n) + " matrix");
    return solver.eigenvalues().cwiseAbs().maxCoeff();
}

/// Throws std::invalid_argument, "`who`: units: N outside [1, max_units]" or "`who`: connections: C
/// outside [1, units]", for a reservoir size either model refuses.
inline void check_size(const std::string& who, std::size_t units, std::size_t connections) {
    if (units == 0 || units > max_units)
        throw std::invalid_argument(who + ": units: " + std::to_string(units) + " outside [1, " +
                                    std::to_string(max_units) + "]");
    if (connections == 0 || connections > units)
        throw std::invalid_argument(who + ": connections: " + std::to_string(connections) + " outside [1, units]");
}

/// An n x n sparse matrix with `per_row` nonzero entries in every row, at distinct columns drawn
/// uniformly from `rng` (the first per_row draws of a partial Fisher-Yates shuffle), each valued
/// value(column) right after its column is drawn. O(n^2) for the shuffles.
template <class Value>
Eigen::SparseMatrix<double> random_sparse(std::size_t n, std::size_t per_row, std::mt19937_64& rng, Value&& value) {
    std::vector<Eigen::Triplet<double>> entries;
    entries.reserve(n * per_row);
    std::vector<std::size_t> columns(n);
    for (std::size_t row = 0; row < n; ++row) {
        for (std::size_t j = 0; j < n; ++j) columns[j] = j;
        for (std::size_t k = 0; k < per_row; ++k) {
            std::uniform_int_distribution<std::size_t> pick(k, n - 1);
            std::swap(columns[k], columns[pick(rng)]);
            entries.emplace_back(static_cast<int>(row), static_cast<int>(columns[k]), value(columns[k]));
        }
    }
    Eigen::SparseMatrix<double> m(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
    m.setFromTriplets(entries.begin(), entries.end());
    return m;
}

/// A reservoir of N leaky tanh units driven by one input u:
///   x(t+1) = (1 - a) x(t) + a tanh(W x(t) + w_in u(t) + b)
/// W is N x N with `connections` nonzero weights per row, uniform in [-1, 1] at distinct random
/// columns, then scaled so that its spectral radius is exactly config.spectral_radius (computed with
/// reservoir::spectral_radius). The readout sees the features [1, u(t), x(t+1)] (N + 2 values).
/// Immutable after construction: one network may be stepped from many threads, each with its own state.
class echo_state_network {
public:
    using state = Eigen::VectorXd;

    /// Draws the weights from `rng` (so a seed fixes the network). Throws std::invalid_argument for a
    /// parameter outside its range, or when W has no nonzero eigenvalue to scale.
    echo_state_network(const esn_config& config, std::mt19937_64& rng) : config_(config) {
        const auto n = config.units;
        check_size("esn", n, config.connections);
        if (!(config.spectral_radius > 0) || !std::isfinite(config.spectral_radius))
            throw std::invalid_argument("esn: spectral_radius must be finite and > 0");
        if (!(config.leak_rate > 0 && config.leak_rate <= 1))
            throw std::invalid_argument("esn: leak_rate must be in (0, 1]");
        std::uniform_real_distribution<double> weight(-1.0, 1.0);
        const auto w = random_sparse(n, config.connections, rng, [&](std::size_t) { return weight(rng); });
        unscaled_radius_ = spectral_radius(w);
        if (!(unscaled_radius_ > 1e-12))
            throw std::invalid_argument("esn: the recurrent weights have no nonzero eigenvalue to scale");
        w_ = (w * (config.spectral_radius / unscaled_radius_)).eval();
        w_in_.resize(static_cast<Eigen::Index>(n));
        bias_.resize(static_cast<Eigen::Index>(n));
        for (auto& v : w_in_) v = config.input_scaling * weight(rng);
        for (auto& v : bias_) v = config.bias_scaling * weight(rng);
    }

    [[nodiscard]] std::size_t units() const noexcept { return config_.units; }
    /// Features per step: bias, input, the N states.
    [[nodiscard]] std::size_t feature_count() const noexcept { return config_.units + 2; }
    /// The spectral radius of W before scaling (as computed), and after.
    [[nodiscard]] double unscaled_spectral_radius() const noexcept { return unscaled_radius_; }
    [[nodiscard]] const Eigen::SparseMatrix<double, Eigen::RowMajor>& weights() const noexcept { return w_; }

    /// The zero state.
    [[nodiscard]] state initial_state() const { return state::Zero(static_cast<Eigen::Index>(config_.units)); }

    /// Advances `x` by one input u and writes the feature_count() features to `features`.
    /// O(N connections).
    void step(state& x, double u, double* features) const {
        const double a = config_.leak_rate;
        Eigen::Map<Eigen::VectorXd> out(features + 2, static_cast<Eigen::Index>(config_.units));
        out.noalias() = w_ * x;  // W x(t) first: x is updated below
        out = ((out + w_in_ * u + bias_).array().tanh() * a + x.array() * (1 - a)).matrix();
        x = out;
        features[0] = 1;
        features[1] = u;
    }

private:
    esn_config config_;
    double unscaled_radius_ = 0;
    Eigen::SparseMatrix<double, Eigen::RowMajor> w_;
    Eigen::VectorXd w_in_, bias_;
};

}  // namespace reservoir

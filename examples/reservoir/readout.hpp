#pragma once
// reservoir/readout.hpp: the linear readout of a reservoir, trained by ridge regression whose normal
// equations accumulate through parex's deterministic map_reduce.

#include <parex/chunked_executor.hpp>
#include <parex/chunking.hpp>

#include <Eigen/Dense>

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace reservoir {

/// Time steps per chunk of the normal equations. Fixed, so that the chunks, and with them the bits of
/// the trained readout, depend on the number of steps alone, never on the thread count.
inline constexpr std::size_t readout_grain = 256;

/// The normal equations of least squares over feature columns z_t and targets y_t: Z^T Z (lower
/// triangle only) and Z^T y, D x D and D values for D features.
struct normal_equations {
    Eigen::MatrixXd gram;    ///< sum_t z_t z_t^T, lower triangle
    Eigen::VectorXd moment;  ///< sum_t z_t y_t

    /// The sum of two partial results (the reduce of map_reduce). An empty side is the identity.
    friend normal_equations operator+(normal_equations a, const normal_equations& b) {
        if (a.gram.size() == 0) return b;
        if (b.gram.size() == 0) return a;
        a.gram.triangularView<Eigen::Lower>() += b.gram;
        a.moment += b.moment;
        return a;
    }
};

/// Z^T Z and Z^T y over the columns of `features` (D x T, one column per time step) and `targets` (T
/// values), in chunks of readout_grain steps combined in map_reduce's fixed tree: the same bits on 1
/// or N threads. With `executor` null, on the calling thread (parex::sequential_map_reduce: the same
/// bits again). Throws std::invalid_argument when the sizes disagree. Cost: T D^2 multiply-adds
/// (symmetric rank updates); memory: one D x D matrix per chunk.
inline normal_equations accumulate(parex::chunked_executor* executor, const Eigen::Ref<const Eigen::MatrixXd>& features,
                                   const Eigen::Ref<const Eigen::VectorXd>& targets) {
    if (features.cols() != targets.size())
        throw std::invalid_argument("readout: " + std::to_string(features.cols()) + " feature columns but " +
                                    std::to_string(targets.size()) + " targets");
    const auto d = features.rows();
    const auto plan = parex::chunks(static_cast<std::size_t>(features.cols()), parex::grain{readout_grain});
    const auto part = [&](const parex::chunk& c) {
        const auto begin = static_cast<Eigen::Index>(c.begin), size = static_cast<Eigen::Index>(c.size());
        normal_equations p{Eigen::MatrixXd::Zero(d, d), Eigen::VectorXd::Zero(d)};
        const auto block = features.middleCols(begin, size);
        p.gram.selfadjointView<Eigen::Lower>().rankUpdate(block);
        p.moment.noalias() = block * targets.segment(begin, size);
        return p;
    };
    const auto sum = [](normal_equations a, const normal_equations& b) { return std::move(a) + b; };
    return executor ? executor->map_reduce(plan, part, sum, normal_equations{})
                    : parex::sequential_map_reduce(plan, part, sum, normal_equations{});
}

/// Ridge regression (Tikhonov regularisation; M. Lukosevicius, "A practical guide to applying echo
/// state networks", in Neural Networks: Tricks of the Trade, Springer (2012), eq. 9):
/// w = (Z^T Z + ridge I)^-1 Z^T y, solved by LDL^T (Eigen). Throws std::invalid_argument for a ridge
/// below 0 or not finite, std::runtime_error when the system is singular (ridge 0 and too few steps).
inline Eigen::VectorXd ridge_solve(const normal_equations& eq, double ridge) {
    if (!(ridge >= 0) || !std::isfinite(ridge)) throw std::invalid_argument("readout: ridge must be finite and >= 0");
    Eigen::MatrixXd a = eq.gram;
    a.diagonal().array() += ridge;
    const Eigen::LDLT<Eigen::MatrixXd, Eigen::Lower> ldlt(a);
    if (ldlt.info() != Eigen::Success || !(ldlt.rcond() > 1e-300))
        throw std::runtime_error("readout: the normal equations are singular; raise the ridge or train longer");
    Eigen::VectorXd w = ldlt.solve(eq.moment);
    if (!w.allFinite()) throw std::runtime_error("readout: the ridge solution is not finite");
    return w;
}

}  // namespace reservoir

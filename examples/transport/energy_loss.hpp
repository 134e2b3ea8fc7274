#pragma once
// transport/energy_loss.hpp: the energy-loss operator of simulation<T> (slowing down over one step with
// Bohr straggling and nuclear removal, deposits as dose), its energy grid, and the window's upkeep.

#include <transport/kernels.hpp>
#include <transport/simulation.hpp>

#include <parex/chunking.hpp>

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace transport {

template <class T>
std::size_t simulation<T>::lose_energy() {
    if (stopped()) return 0;
    absorb_negligible();
    if (stopped()) return 0;
    const auto [lo2, hi2] = window_after_loss();
    const std::size_t lo = lo_, hi = hi_;
    clear_next_outside({lo2, hi2, zlo_, zhi_});
    const bool past_cache = store_past_cache();
    // The positions (theta, z, x) of the window's rows: one run of p_ when the window spans all rows,
    // else one run of cells per angle; each run cut into blocks of loss_grain.
    const bool all_rows = zlo_ == 0 && zhi_ == c_.nz;
    const std::size_t run = all_rows ? p_ : (zhi_ - zlo_) * c_.nx, runs = all_rows ? 1 : c_.angles;
    const std::size_t offset = all_rows ? 0 : zlo_ * c_.nx;
    const std::size_t blocks = (run + loss_grain - 1) / loss_grain;
    const double deposited = executor_.map_reduce(
        parex::chunks(runs * blocks, parex::grain{1}),
        [&](const parex::chunk& ch) {
            const examples::flush_subnormals ftz;
            double total = 0;
            examples::with_widest_vectors([&](auto vector_bytes) EXAMPLES_ALWAYS_INLINE {
                constexpr std::size_t bytes = decltype(vector_bytes)::value;
                for (std::size_t u = ch.begin; u < ch.end; ++u) {
                    const std::size_t begin = (u / blocks) * q_ + offset + (u % blocks) * loss_grain;
                    const std::size_t n = std::min(loss_grain, run - (u % blocks) * loss_grain);
                    // Each target row is written once, from its sources (a contiguous run of bins, since
                    // targets do not decrease with the source), right after those sources' deposits were
                    // taken: psi is read once and the new buffer written once, with the block's rows still
                    // in cache. Deposits add up in T, one multiply-add per bin (in double, the conversions
                    // cost more than the memory traffic in float32); the block's total is taken once, in
                    // double.
                    T* __restrict e = edep_.data() + begin;
                    std::fill_n(e, n, T(0));
                    std::size_t deposited_up_to = lo;
                    const auto deposit_through = [&](std::size_t last) EXAMPLES_ALWAYS_INLINE {
                        for (; deposited_up_to <= last && deposited_up_to < hi; ++deposited_up_to) {
                            const T* __restrict s = psi_.data() + deposited_up_to * p_ + begin;
                            const T per_particle = static_cast<T>(remap_[deposited_up_to].deposit_mev);
                            for (std::size_t q = 0; q < n; ++q) e[q] += per_particle * s[q];
                        }
                    };
                    for (std::size_t j = lo2; j < hi2; ++j) {
                        // the sources in the window: a contiguous run, ascending, of this target's sources
                        const auto& from = sources_[j];
                        const auto first =
                            std::find_if(from.begin(), from.end(), [&](const auto& f) { return f.first >= lo; });
                        const auto last = std::find_if(first, from.end(), [&](const auto& f) { return f.first >= hi; });
                        const auto row = [&](std::size_t i) EXAMPLES_ALWAYS_INLINE {
                            deposit_through(i);
                            return static_cast<const T*>(psi_.data() + i * p_ + begin);
                        };
                        T* __restrict a = next_.data() + j * p_ + begin;
                        const auto count = last - first;
                        if (count == 0) {
                            std::fill_n(a, n, T(0));
                            continue;
                        }
                        // up to three sources in one pass (Bohr straggling over a step gives three on the
                        // default grid); a missing one adds 0 x the first, which changes no bit of the
                        // non-negative fluence
                        const auto source = [&](std::ptrdiff_t m) EXAMPLES_ALWAYS_INLINE {
                            return m < count ? std::pair{row(first[m].first), static_cast<T>(first[m].second)}
                                             : std::pair{row(first->first), T(0)};
                        };
                        const auto [s0, w0] = source(0);
                        const auto [s1, w1] = source(1);
                        const auto [s2, w2] = source(2);
                        // the next target's new source (its last, the others are this target's), fetched
                        // while this target is written past the cache (a window in the cache needs none)
                        const T* ahead = nullptr;
                        if (past_cache && j + 1 < hi2 && !sources_[j + 1].empty()) {
                            const std::size_t i = sources_[j + 1].back().first;
                            if (i >= lo && i < hi) ahead = psi_.data() + i * p_ + begin;
                        }
                        detail::weighted_sum<bytes>(a, s0, w0, s1, w1, s2, w2, n, past_cache && count <= 3, ahead);
                        for (auto f = first + 3; f < last; ++f) {
                            const T* __restrict s3 = row(f->first);
                            const T w3 = static_cast<T>(f->second);
                            for (std::size_t q = 0; q < n; ++q) a[q] += w3 * s3[q];
                        }
                    }
                    if (past_cache) examples::streaming_store_fence();
                    deposit_through(hi - 1);  // the sources below every target
                    total += detail::sum_of(e, n);
                }
            });
            return total;
        },
        std::plus<>{}, 0.0);
    // dose: the deposits of every angle summed in angle order, so the same bits for any schedule
    const std::size_t first_cell = zlo_ * c_.nx, cells = (zhi_ - zlo_) * c_.nx;
    executor_.for_each(parex::chunks(cells, parex::grain{dose_grain}), [&](const parex::chunk& ch) {
        for (std::size_t q = first_cell + ch.begin; q < first_cell + ch.end; ++q) {
            double d = 0;
            for (std::size_t k = 0; k < c_.angles; ++k) d += static_cast<double>(edep_[k * q_ + q]);
            dose_[q] += d;
        }
    });
    // the books, from the particles in each bin: what moved where, what was absorbed or removed
    std::vector<double> moved(hi2 - lo2, 0.0);
    for (std::size_t i = lo; i < hi; ++i) {
        const double n = bin_fluence_[i];
        const remap& m = remap_[i];
        books_.absorbed = books_.absorbed + tally{m.absorbed * n, m.absorbed * n * energy_[i]};
        books_.removed = books_.removed + tally{m.removed * n, m.removed * n * energy_[i]};
        books_.carried_off_mev += m.removed * n * energy_[i] * (1 - nuclear_local_fraction);
        for (const auto& [j, w] : m.targets) moved[j - lo2] += w * n;
        bin_fluence_[i] = 0;
    }
    books_.in_grid = {};
    for (std::size_t j = lo2; j < hi2; ++j) {
        bin_fluence_[j] = moved[j - lo2];
        books_.in_grid = books_.in_grid + tally{moved[j - lo2], moved[j - lo2] * energy_[j]};
    }
    books_.deposited_mev += deposited;
    const std::size_t updated = (hi - lo) * c_.angles * cells;
    swap_buffers({lo2, hi2, zlo_, zhi_});
    return updated;
}

template <class T>
void simulation<T>::absorb_negligible() {
    window keep = current();
    while (keep.lo < keep.hi && bin_fluence_[keep.lo] < negligible) ++keep.lo;
    while (keep.hi > keep.lo && bin_fluence_[keep.hi - 1] < negligible) --keep.hi;
    while (keep.zlo < keep.zhi && row_fluence(keep.zlo) < negligible) ++keep.zlo;
    while (keep.zhi > keep.zlo && row_fluence(keep.zhi - 1) < negligible) --keep.zhi;
    if (keep.lo == lo_ && keep.hi == hi_ && keep.zlo == zlo_ && keep.zhi == zhi_) return;
    if (keep.lo >= keep.hi || keep.zlo >= keep.zhi) keep = {};
    // in a fixed order, so the same bits for any thread count; the region is thin
    for (std::size_t i = lo_; i < hi_; ++i) {
        const bool kept = i >= keep.lo && i < keep.hi;
        double absorbed = 0;
        for (std::size_t k = 0; k < c_.angles; ++k)
            for (std::size_t z = zlo_; z < zhi_; ++z) {
                if (kept && z >= keep.zlo && z < keep.zhi) continue;
                T* row = psi_.data() + i * p_ + k * q_ + z * c_.nx;
                for (std::size_t x = 0; x < c_.nx; ++x) {
                    const auto v = static_cast<double>(row[x]);
                    absorbed += v;
                    dose_[z * c_.nx + x] += v * energy_[i];
                }
                std::fill_n(row, c_.nx, T(0));
            }
        const tally t{absorbed, absorbed * energy_[i]};
        books_.absorbed = books_.absorbed + t;
        books_.in_grid = books_.in_grid + tally{-t.particles, -t.energy_mev};
        books_.deposited_mev += t.energy_mev;
        bin_fluence_[i] = kept ? bin_fluence_[i] - absorbed : 0;
    }
    lo_ = keep.lo, hi_ = keep.hi, zlo_ = keep.zlo, zhi_ = keep.zhi;
}

template <class T>
void simulation<T>::release_below(std::size_t bin) {
    if (bin <= released_) return;
    constexpr std::size_t page = 4096;
    for (std::span<T> b : {psi_, next_}) {
        const auto from = reinterpret_cast<std::uintptr_t>(b.data() + released_ * p_);
        const auto to = reinterpret_cast<std::uintptr_t>(b.data() + bin * p_);
        const std::uintptr_t first = (from + page - 1) / page * page, last = to / page * page;
        // their fluence is zero: handing the pages back changes no value, and a failure only memory
        if (first < last) (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_REMOVE);
    }
    released_ = bin;
}

template <class T>
void simulation<T>::build_energy_grid() {
    const double ds = c_.step_cm * water_density_g_cm3;
    const auto [r_top, e_top] = detail::grid_top(c_, *table_);
    const double r_cut = table_->csda_range(c_.cutoff_mev);
    const std::size_t ne = c_.energies;
    const double dr = (r_top - r_cut) / static_cast<double>(ne - 1);
    const double carry = detail::entrance_carry_g_cm2(c_);
    range_.resize(ne);
    energy_.resize(ne);
    entrance_energy_.resize(ne);
    for (std::size_t i = 0; i < ne; ++i) {
        range_[i] = i + 1 == ne ? r_cut : r_top - static_cast<double>(i) * dr;
        energy_[i] = i == 0 ? e_top : i + 1 == ne ? c_.cutoff_mev : table_->energy_at_csda_range(range_[i]);
        entrance_energy_[i] =
            table_->energy_at_csda_range(std::min(range_[i] + carry, table_->csda_range(table_->max_energy_mev())));
    }
    remap_.assign(ne, {});
    for (std::size_t i = 0; i < ne; ++i) {
        remap& m = remap_[i];
        m.removed = nuclear_removal(range_[i], ds);
        const double survive = 1 - m.removed;
        const double r = range_[i] - ds;
        const double position = (r_top - r) / dr;  // fractional bin index of the mean range after the step
        if (r < r_cut && std::abs(position - static_cast<double>(ne - 1)) > 1e-9) {
            m.absorbed = survive;
        } else {
            // Bohr's energy variance over the step, as a variance of the residual range at its end, in bins^2
            const double e_after = table_->energy_at_csda_range(std::max(r, r_cut));
            const double e_mid = table_->energy_at_csda_range(std::max(range_[i] - ds / 2, r_cut));
            const double sigma_r = std::sqrt(bohr_variance_rate_mev2_cm2_g(e_mid) * ds) /
                                   table_->stopping_power(std::max(e_after, table_->min_energy_mev()));
            const double v = sigma_r * sigma_r / (dr * dr);
            const double nearest = std::round(position), d = position - nearest;
            std::vector<std::pair<long, double>> shares;  // (bin, share), bins may fall outside the grid
            const auto n = static_cast<long>(nearest);
            if (v + d * d < std::abs(d)) {
                // the grid's own split between two bins spreads more than Bohr's variance: interpolate
                // (numerical straggling of (position - j)(j + 1 - position) bins^2), energy-conserving
                const auto j = static_cast<long>(std::floor(position));
                const auto ju = static_cast<std::size_t>(std::min<long>(j, static_cast<long>(ne) - 2));
                const double w = (e_after - energy_[ju + 1]) / (energy_[ju] - energy_[ju + 1]);
                shares = {{static_cast<long>(ju), w}, {static_cast<long>(ju) + 1, 1 - w}};
            } else if (v + d * d <= 1) {
                // three bins with the mean and variance exact: a + b + c = 1, c - a = d, c + a = v + d^2
                shares = {{n - 1, (v + d * d - d) / 2}, {n, 1 - v - d * d}, {n + 1, (v + d * d + d) / 2}};
            } else {
                // wider: a sampled Gaussian around the mean, its width set so the variance is v
                const auto reach = static_cast<long>(std::ceil(5 * std::sqrt(v))) + 1;
                const auto variance_of = [&](double s) {
                    double sum = 0, first = 0, second = 0;
                    for (long k = n - reach; k <= n + reach; ++k) {
                        const double x = static_cast<double>(k) - position;
                        const double g = std::exp(-0.5 * x * x / (s * s));
                        sum += g, first += g * x, second += g * x * x;
                    }
                    return second / sum - (first / sum) * (first / sum);
                };
                const double s = detail::gaussian_width_for(v, 2 * std::sqrt(v) + 1, variance_of);
                double sum = 0;
                for (long k = n - reach; k <= n + reach; ++k) {
                    const double x = static_cast<double>(k) - position;
                    shares.emplace_back(k, std::exp(-0.5 * x * x / (s * s)));
                    sum += shares.back().second;
                }
                for (auto& sh : shares) sh.second /= sum;
            }
            for (const auto& [k, w] : shares) {
                if (w <= 0) continue;
                if (k >= static_cast<long>(ne)) {
                    m.absorbed += survive * w;  // below the lowest bin
                    continue;
                }
                const auto bin = static_cast<std::size_t>(std::max<long>(k, 0));
                if (!m.targets.empty() && m.targets.back().first == bin)
                    m.targets.back().second += survive * w;
                else
                    m.targets.emplace_back(bin, survive * w);
            }
        }
        // the energy that stays in the cell: E_i less what the targets carry and the nuclear share
        // that leaves (an absorbed share deposits all of E_i, a removed one gamma E_i)
        double carried = 0;
        for (const auto& [j, w] : m.targets) carried += w * energy_[j];
        m.deposit_mev = energy_[i] - carried - m.removed * (1 - nuclear_local_fraction) * energy_[i];
    }
    sources_.assign(ne, {});
    for (std::size_t i = 0; i < ne; ++i)
        for (const auto& [j, w] : remap_[i].targets) sources_[j].emplace_back(i, w);
}

template <class T>
std::pair<std::size_t, std::size_t> simulation<T>::window_after_loss() const {
    std::size_t lo = c_.energies, hi = 0;
    for (std::size_t i = lo_; i < hi_; ++i) {
        const remap& m = remap_[i];
        if (m.targets.empty()) continue;
        lo = std::min(lo, m.targets.front().first);
        hi = std::max(hi, m.targets.back().first + 1);
    }
    return lo < hi ? std::pair{lo, hi} : std::pair{std::size_t{0}, std::size_t{0}};
}

}  // namespace transport

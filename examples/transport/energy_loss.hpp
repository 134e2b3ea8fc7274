#pragma once
// transport/energy_loss.hpp: the energy-loss operator of simulation<T> (continuous slowing down over
// one step, deposits as dose) and its energy grid.

#include <transport/kernels.hpp>
#include <transport/simulation.hpp>

#include <parex/chunking.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <utility>

namespace transport {

template <class T>
std::size_t simulation<T>::lose_energy() {
    if (stopped()) return 0;
    const auto [lo2, hi2] = window_after_loss();
    const std::size_t lo = lo_, hi = hi_;
    clear_next_outside(lo2, hi2);
    const bool past_cache = store_past_cache();
    const auto plan = parex::chunks(p_, parex::grain{loss_grain});
    const auto partial = executor_.map_reduce(
        plan,
        [&](const parex::chunk& ch) {
            // Each target row is written once, from its sources (a contiguous run of bins, since targets
            // do not decrease with the source), right after those sources' deposits were taken: psi is
            // read once and the new buffer written once, with the chunk's rows still in cache. Deposits
            // add up in T, one multiply-add per bin (in double, the conversions cost more than the
            // memory traffic in float32); the chunk's total is taken from them once, in double.
            const std::size_t n = ch.size();
            T* __restrict e = edep_.data() + ch.begin;
            std::fill_n(e, n, T(0));
            loss_tally t;
            std::size_t deposited_up_to = lo;
            const auto deposit_through = [&](std::size_t last) {
                for (; deposited_up_to <= last && deposited_up_to < hi; ++deposited_up_to) {
                    const std::size_t i = deposited_up_to;
                    const T* __restrict s = psi_.data() + i * p_ + ch.begin;
                    const T per_particle = static_cast<T>(remap_[i].deposit_mev);
                    for (std::size_t q = 0; q < n; ++q) e[q] += per_particle * s[q];
                    if (remap_[i].absorbed) {
                        const double sum = detail::sum_of(s, n);
                        t.absorbed += sum, t.absorbed_energy += sum * energy_[i];
                    }
                }
            };
            for (std::size_t j = lo2; j < hi2; ++j) {
                // the sources in the window: a contiguous run, ascending, of this target's sources
                const auto& from = sources_[j];
                const auto first = std::find_if(from.begin(), from.end(), [&](const auto& f) { return f.first >= lo; });
                const auto last = std::find_if(first, from.end(), [&](const auto& f) { return f.first >= hi; });
                const auto row = [&](std::size_t i) {
                    deposit_through(i);
                    return static_cast<const T*>(psi_.data() + i * p_ + ch.begin);
                };
                T* __restrict a = next_.data() + j * p_ + ch.begin;
                if (first == last) {
                    std::fill_n(a, n, T(0));
                    continue;
                }
                // the first two sources in one pass (a target has one or two on the usual grids); one
                // source adds 0 x itself, which changes no bit of the non-negative fluence
                const T* s0 = row(first->first);
                const T w0 = static_cast<T>(first->second);
                const bool two = last - first >= 2;
                const T* s1 = two ? row((first + 1)->first) : s0;
                const T w1 = two ? static_cast<T>((first + 1)->second) : T(0);
                detail::weighted_sum(a, s0, w0, s1, w1, n, past_cache && last - first <= 2);
                for (auto f = first + 2; f < last; ++f) {
                    const T* __restrict s2 = row(f->first);
                    const T w2 = static_cast<T>(f->second);
                    for (std::size_t q = 0; q < n; ++q) a[q] += w2 * s2[q];
                }
            }
            if (past_cache) examples::streaming_store_fence();
            deposit_through(hi - 1);  // the absorbed bins at the bottom
            t.deposited = detail::sum_of(e, n);
            return t;
        },
        std::plus<>{}, loss_tally{});
    // dose: the deposits of every angle summed in angle order, so the same bits for any schedule
    executor_.for_each(parex::chunks(q_, parex::grain{dose_grain}), [&](const parex::chunk& ch) {
        for (std::size_t q = ch.begin; q < ch.end; ++q) {
            double d = 0;
            for (std::size_t k = 0; k < c_.angles; ++k) d += static_cast<double>(edep_[k * q_ + q]);
            dose_[q] += d;
        }
    });
    books_.absorbed = books_.absorbed + tally{partial.absorbed, partial.absorbed_energy};
    books_.deposited_mev += partial.deposited;
    swap_buffers(lo2, hi2);
    return (hi - lo) * p_;
}

template <class T>
void simulation<T>::build_energy_grid() {
    const double ds = c_.step_cm * water_density_g_cm3;
    const auto [r_top, e_top] = detail::grid_top(c_, *table_);
    const double r_cut = table_->csda_range(c_.cutoff_mev);
    const std::size_t ne = c_.energies;
    const double dr = (r_top - r_cut) / static_cast<double>(ne - 1);
    range_.resize(ne);
    energy_.resize(ne);
    for (std::size_t i = 0; i < ne; ++i) {
        range_[i] = i + 1 == ne ? r_cut : r_top - static_cast<double>(i) * dr;
        energy_[i] = i == 0 ? e_top : i + 1 == ne ? c_.cutoff_mev : table_->energy_at_csda_range(range_[i]);
    }
    remap_.resize(ne);
    for (std::size_t i = 0; i < ne; ++i) {
        remap& m = remap_[i];
        const double r = range_[i] - ds;
        const double position = (r_top - r) / dr;  // fractional bin index of the range after the step
        const double nearest = std::round(position);
        if (r < r_cut && std::abs(position - static_cast<double>(ne - 1)) > 1e-9) {
            m = {i, 0, energy_[i], true};
            continue;
        }
        if (std::abs(position - nearest) <= 1e-9) {  // lands on a bin: an exact shift
            m = {static_cast<std::size_t>(nearest), 1, energy_[i] - energy_[static_cast<std::size_t>(nearest)], false};
            continue;
        }
        const auto j = std::min(static_cast<std::size_t>(std::floor(position)), ne - 2);
        const double e_after = table_->energy_at_csda_range(r);
        m = {j, (e_after - energy_[j + 1]) / (energy_[j] - energy_[j + 1]), energy_[i] - e_after, false};
    }
    sources_.assign(ne, {});
    for (std::size_t i = 0; i < ne; ++i) {
        const remap& m = remap_[i];
        if (m.absorbed) continue;
        sources_[m.target].emplace_back(i, m.weight);
        if (m.weight < 1) sources_[m.target + 1].emplace_back(i, 1 - m.weight);
    }
}

template <class T>
std::pair<std::size_t, std::size_t> simulation<T>::window_after_loss() const {
    std::size_t lo = c_.energies, hi = 0;
    for (std::size_t i = lo_; i < hi_; ++i) {
        const remap& m = remap_[i];
        if (m.absorbed) continue;
        lo = std::min(lo, m.target);
        hi = std::max(hi, m.target + (m.weight < 1 ? 2 : 1));
    }
    return lo < hi ? std::pair{lo, hi} : std::pair{std::size_t{0}, std::size_t{0}};
}

}  // namespace transport

// A waveform generator that keeps its frequency grid and scratch space between waveforms, and batches
// over a parex worker pool whose initializer builds one generator per worker, writing h_plus and h_cross in
// place into one contiguous batch in a parex shared-memory arena.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <functional>
#include <numeric>
#include <span>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <parex/shm_arena.hpp>
#include <parex/worker_pool.hpp>

#include <unistd.h>

#include <waveforms/frequency_grid.hpp>
#include <waveforms/phenom_d.hpp>
#include <waveforms/taylor_f2.hpp>
#include <waveforms/vector_math.hpp>
#include <waveforms/waveform.hpp>

namespace waveforms {

static_assert(std::is_trivially_copyable_v<std::complex<double>>);

/// The uniform grid of a batch: f_k = k delta_f for k = 0 .. floor(f_max / delta_f), as dingo's
/// UniformFrequencyDomain. Waveforms are LAL's series truncated or zero-padded to it.
struct domain {
    double delta_f = 0.125;  ///< Hz
    double f_max = 1024;     ///< Hz, the last bin's frequency (rounded down to the grid)
    /// Throws std::invalid_argument when f_max / delta_f is not a bin count of at most max_bins - 1.
    [[nodiscard]] std::size_t bins() const {
        return detail::bin_count(std::floor(f_max / delta_f), delta_f, fmt::format("f_max = {} Hz", f_max)) + 1;
    }
    /// f_k = k delta_f, bins() of them.
    [[nodiscard]] std::vector<double> frequencies() const { return uniform_frequencies(delta_f, bins()); }
};

/// Generates one approximant on one grid. Construction builds the grid's per-bin tables (O(bins));
/// generate() is then O(bins) with one square root, one sine and one cosine per bin (4-wide with
/// libmvec on AVX2 machines), and allocates nothing. Not thread-safe: one per worker.
class waveform_generator {
public:
    waveform_generator(approximant model, const constants& c, double delta_f, std::size_t bins)
        : model_(model),
          constants_(c),
          grid_(delta_f, bins),
          amp_(bins),
          phase_(bins),
          sin_(bins),
          cos_(bins) {
        if (!(delta_f > 0)) throw std::invalid_argument(fmt::format("delta_f = {}: must be positive (Hz)", delta_f));
        qnm_table::get();  // built once per process: IMRPhenomD's ringdown frequencies
    }
    waveform_generator(approximant model, const constants& c, const domain& d)
        : waveform_generator(model, c, d.delta_f, d.bins()) {}

    [[nodiscard]] std::size_t bins() const noexcept { return grid_.size(); }
    [[nodiscard]] double delta_f() const noexcept { return grid_.delta_f; }
    [[nodiscard]] approximant model() const noexcept { return model_; }
    [[nodiscard]] const constants& physical_constants() const noexcept { return constants_; }
    [[nodiscard]] std::span<const double> frequencies() const noexcept { return grid_.f; }

    /// Writes h_plus and h_cross (strain per Hz, each of bins() values, f_k = k delta_f) for p, whose
    /// delta_f must be this generator's. h_plus = (1 + cos^2 i) / 2 h, h_cross = -i cos(i) h
    /// (SimInspiralChooseFDWaveform). Bins outside the model's filled range (extent_of) are zero; the series
    /// is LAL's, cut to bins(). Throws std::invalid_argument for bad parameters (validate, extent_of) or
    /// spans of the wrong size.
    void generate(const parameters& p, std::span<std::complex<double>> h_plus,
                  std::span<std::complex<double>> h_cross) {
        validate(p, model_);
        if (p.delta_f != grid_.delta_f)
            throw std::invalid_argument(
                fmt::format("delta_f = {}: this generator's grid has delta_f = {}", p.delta_f, grid_.delta_f));
        if (h_plus.size() != bins() || h_cross.size() != bins())
            throw std::invalid_argument(
                fmt::format("output spans of {} and {} values for {} bins", h_plus.size(), h_cross.size(), bins()));
        const extent e = extent_of(p, model_, constants_);
        const std::size_t first = std::min(e.first, bins()), end = std::min(e.end, bins());
        if (model_ == approximant::taylor_f2)
            taylor_f2(p, constants_, grid_, first, end, amp_.data(), phase_.data());
        else
            phenom_d(p, constants_).fill(grid_, first, end, amp_.data(), phase_.data());
        const double cos_i = std::cos(p.inclination), plus = 0.5 * (1.0 + cos_i * cos_i);
        std::fill(h_plus.begin(), h_plus.begin() + std::ptrdiff_t(first), std::complex<double>{});
        std::fill(h_cross.begin(), h_cross.begin() + std::ptrdiff_t(first), std::complex<double>{});
        auto* hp = reinterpret_cast<double*>(h_plus.data());  // [re, im] pairs (std::complex layout)
        auto* hc = reinterpret_cast<double*>(h_cross.data());
        detail::sin_cos(phase_.data() + first, sin_.data() + first, cos_.data() + first, end - first);
        const double* amp = amp_.data();
        for (std::size_t k = first; k < end; ++k) {
            const double c = cos_[k], s = sin_[k];
            const double a = amp[k];
            hp[2 * k] = plus * a * c;  // h = a (cos - i sin)
            hp[2 * k + 1] = -plus * a * s;
            hc[2 * k] = -cos_i * a * s;  // -i cos(i) h
            hc[2 * k + 1] = -cos_i * a * c;
        }
        std::fill(h_plus.begin() + std::ptrdiff_t(end), h_plus.end(), std::complex<double>{});
        std::fill(h_cross.begin() + std::ptrdiff_t(end), h_cross.end(), std::complex<double>{});
    }

private:
    approximant model_;
    constants constants_;
    frequency_grid grid_;
    std::vector<double> amp_, phase_, sin_, cos_;
};

/// A batch of waveforms in one contiguous block of a shared-memory arena: h_plus then h_cross, each
/// [waveforms][bins] complex128, row-major. Another process can attach the arena and read it in place.
struct batch {
    parex::shm_arena arena;
    std::span<std::complex<double>> h_plus, h_cross;
    std::size_t waveforms = 0, bins = 0;

    [[nodiscard]] std::span<const std::complex<double>> plus_row(std::size_t i) const {
        return h_plus.subspan(i * bins, bins);
    }
    [[nodiscard]] std::span<const std::complex<double>> cross_row(std::size_t i) const {
        return h_cross.subspan(i * bins, bins);
    }
};

/// An arena of the right size for `waveforms` rows of `bins` bins (anonymous unless `name` is given):
/// 2 x waveforms x bins x 16 bytes. Throws std::invalid_argument when that exceeds the machine's
/// physical memory (or overflows), std::system_error when the arena cannot be mapped.
inline batch make_batch(std::size_t waveforms, std::size_t bins, const std::string& name = {}) {
    const std::size_t row_bytes = bins * sizeof(std::complex<double>);  // bins <= max_bins: no overflow
    const auto pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    const std::size_t memory = pages > 0 && page > 0 ? std::size_t(pages) * std::size_t(page) : SIZE_MAX;
    if (bins > max_bins || (waveforms != 0 && row_bytes > memory / 2 / waveforms))
        throw std::invalid_argument(
            fmt::format("a batch of {} waveforms x {} bins needs 2 x {} x {} x 16 bytes, more than "
                        "this machine's {:.3g} GiB of memory",
                        waveforms, bins, waveforms, bins, double(memory) / double(1ull << 30)));
    const std::size_t bytes = 2 * std::max<std::size_t>(waveforms * row_bytes, 1) + 4096 * 4;
    batch b{parex::shm_arena::create({.bytes = bytes, .name = name}), {}, {}, waveforms, bins};
    b.h_plus = b.arena.allocate<std::complex<double>>(waveforms * bins, 4096);
    b.h_cross = b.arena.allocate<std::complex<double>>(waveforms * bins, 4096);
    return b;
}

/// The pool of the batch runs: each worker's initializer builds its waveform_generator once.
using generator_pool = parex::worker_pool<waveform_generator>;

inline generator_pool make_generator_pool(std::size_t workers, approximant model, const constants& c, const domain& d) {
    return generator_pool(parex::pool_options{.max_concurrency = workers},
                          [=](std::size_t) { return waveform_generator(model, c, d); });
}

/// Generates params[i] into rows i of `h_plus` and `h_cross` ([params.size()][bins], row-major),
/// `per_task` waveforms per pool task. Every p.delta_f must equal the pool's domain. The first
/// std::invalid_argument (with the row index, counted from `first_row`, prepended) stops the work and
/// is rethrown; `run.stop` cancels it (operation_cancelled), `run.on_progress` counts finished tasks.
/// Throws std::invalid_argument when a span is not params.size() x bins. O(waveforms * bins) / workers.
inline void generate_rows(generator_pool& pool, std::span<const parameters> params,
                          std::span<std::complex<double>> h_plus, std::span<std::complex<double>> h_cross,
                          std::size_t bins, std::size_t per_task = 16, const parex::run_options& run = {},
                          std::size_t first_row = 0) {
    if (h_plus.size() != params.size() * bins || h_cross.size() != params.size() * bins)
        throw std::invalid_argument(fmt::format("{} and {} values for {} parameter sets of {} bins", h_plus.size(),
                                                h_cross.size(), params.size(), bins));
    std::vector<std::size_t> rows(params.size());
    std::iota(rows.begin(), rows.end(), std::size_t{0});
    pool.for_each(
        rows,
        [&](waveform_generator& generator, std::size_t i) {
            try {
                generator.generate(params[i], h_plus.subspan(i * bins, bins), h_cross.subspan(i * bins, bins));
            } catch (const std::invalid_argument& e) {
                throw std::invalid_argument(fmt::format("row {}: {}", first_row + i, e.what()));
            }
        },
        parex::batch_options{.batch = per_task}, run);
}

/// generate_rows into the whole of `out` (row i = params[i]). Throws std::invalid_argument when `out`
/// does not have params.size() rows, and as generate_rows.
inline void generate_batch(generator_pool& pool, std::span<const parameters> params, batch& out,
                           std::size_t per_task = 16, const parex::run_options& run = {}) {
    if (out.waveforms != params.size())
        throw std::invalid_argument(
            fmt::format("batch has {} rows for {} parameter sets", out.waveforms, params.size()));
    generate_rows(pool, params, out.h_plus, out.h_cross, out.bins, per_task, run);
}

}  // namespace waveforms

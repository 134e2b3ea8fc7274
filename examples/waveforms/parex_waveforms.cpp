// parex-waveforms: TaylorF2 and IMRPhenomD frequency-domain waveforms, one (generate) or a batch over a
// parameter table on a parex worker pool (batch, HDF5), and parameter tables drawn from a prior. Under
// mpirun, batch splits the table's rows among the ranks and rank 0 writes the file.

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <common/cli.hpp>
#include <common/mpi_session.hpp>
#include <common/output_file.hpp>
#include <common/terminal_progress.hpp>
#include <waveforms/generator.hpp>
#include <waveforms/hdf5_file.hpp>
#include <waveforms/parameter_table.hpp>
#if defined(EXAMPLES_MPI)
#include <waveforms/mpi.hpp>
#endif

namespace wf = waveforms;
namespace cli = examples;

namespace {

struct options {
    std::string approximant = "IMRPhenomD", constants = "today", output, params;
    wf::parameters p{};
    std::size_t threads = 0, n = 0, per_task = 16;
    std::uint64_t seed = 1;
    bool force = false;
};

int cmd_generate(const options& o) {
    const auto model = wf::parse_approximant(o.approximant);
    const auto c = wf::constants::named(o.constants);
    cli::output_file out(o.output == "-" ? std::nullopt : std::optional<std::filesystem::path>(o.output), o.force);
    wf::extent e;
    try {  // every parameter came from the command line
        wf::validate(o.p, model);
        e = wf::extent_of(o.p, model, c);
    } catch (const std::invalid_argument& error) {
        throw cli::usage_failure(error.what());
    }
    wf::waveform_generator generator(model, c, o.p.delta_f, e.length);
    std::vector<std::complex<double>> hp(e.length), hc(e.length);
    generator.generate(o.p, hp, hc);
    std::string text = "k,f_Hz,hp_re,hp_im,hc_re,hc_im\n";
    const auto f = generator.frequencies();
    for (std::size_t k = 0; k < e.length; ++k)
        text += fmt::format("{},{:.17g},{:.16e},{:.16e},{:.16e},{:.16e}\n", k, f[k], hp[k].real(), hp[k].imag(),
                            hc[k].real(), hc[k].imag());
    out.write(text);
    out.commit();
    return 0;
}

/// The batch's grid, from the options; a bad grid is a usage error.
wf::domain batch_domain(const options& o) {
    if (!(o.p.f_max > 0))
        throw cli::usage_failure(fmt::format("--f-max {}: a batch needs its grid's end (--f-max > 0)", o.p.f_max));
    const wf::domain d{o.p.delta_f, o.p.f_max};
    try {
        (void)d.bins();
    } catch (const std::invalid_argument& error) {
        throw cli::usage_failure(error.what());
    }
    return d;
}

/// Writes the batch file through `out` (its temporary, then the rename).
void write_batch(cli::output_file& out, const options& o, const std::vector<wf::parameters>& rows, const wf::batch& b,
                 wf::approximant model, const wf::constants& c, const wf::domain& d) {
    std::vector<wf::parameter_column> columns;
    for (std::size_t col = 0; col < wf::table_columns.size(); ++col) {
        wf::parameter_column column{std::string(wf::table_columns[col]), {}};
        for (auto& ch : column.name)
            if (ch == '-') ch = '_';
        for (auto r : rows) column.values.push_back(wf::column_of(r, col));
        columns.push_back(std::move(column));
    }
    wf::write_batch_hdf5(*out.temporary_path(), rows.size(), d.bins(), b.h_plus, b.h_cross, d.frequencies(), columns,
                         {std::string(wf::name_of(model)), std::string(c.name), d.delta_f, o.p.f_min, o.p.f_max});
    out.commit();
}

int cmd_batch(const options& o) {
    const auto model = wf::parse_approximant(o.approximant);
    const auto c = wf::constants::named(o.constants);
    const auto d = batch_domain(o);
    const auto rows = wf::read_parameter_table(o.params, o.p);
    cli::output_file out(std::filesystem::path(o.output), o.force);  // refuses an existing file early
    auto pool = wf::make_generator_pool(o.threads, model, c, d);
    auto b = wf::make_batch(rows.size(), d.bins());
    const auto start = std::chrono::steady_clock::now();
    wf::generate_batch(pool, rows, b, o.per_task, examples::terminal_progress("generating"));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    write_batch(out, o, rows, b, model, c, d);
    fmt::print(stderr, "parex-waveforms: {} {} waveforms x {} bins in {:.3f} s ({:.3f} ms per waveform, {} workers)\n",
               rows.size(), wf::name_of(model), d.bins(), seconds,
               rows.empty() ? 0.0 : 1e3 * seconds / double(rows.size()), pool.max_concurrency());
    return 0;
}

#if defined(EXAMPLES_MPI)
/// batch under mpirun: every rank reads the table and generates its block of rows (waveforms/mpi.hpp);
/// rank 0 gathers them and writes the file, the same bytes as one process's.
int cmd_batch_mpi(const options& o, const cli::mpi_session& mpi) {
    const auto model = wf::parse_approximant(o.approximant);
    const auto c = wf::constants::named(o.constants);
    const auto d = batch_domain(o);
    const auto rows = wf::read_parameter_table(o.params, o.p);
    std::optional<cli::output_file> out;
    std::optional<wf::batch> b;
    std::exception_ptr error;
    if (mpi.rank() == 0) {
        try {
            out.emplace(std::filesystem::path(o.output), o.force);  // refuses an existing file early
            b.emplace(wf::make_batch(rows.size(), d.bins()));
        } catch (...) {
            error = std::current_exception();
        }
    }
    mpi.agree(error);
    auto pool = wf::make_generator_pool(o.threads, model, c, d);
    const auto start = std::chrono::steady_clock::now();
    const auto timing = wf::mpi::generate_batch(MPI_COMM_WORLD, pool, rows, b ? &*b : nullptr, d.bins(), o.per_task);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (mpi.rank() == 0) {
        try {
            write_batch(*out, o, rows, *b, model, c, d);
        } catch (...) {
            error = std::current_exception();
        }
    }
    mpi.agree(error);
    if (mpi.rank() == 0)
        fmt::print(stderr,
                   "parex-waveforms: {} {} waveforms x {} bins in {:.3f} s on {} ranks x {} workers "
                   "(generating {:.3f} s, gathering to rank 0 {:.3f} s)\n",
                   rows.size(), wf::name_of(model), d.bins(), seconds, mpi.ranks(), pool.max_concurrency(),
                   timing.generate_seconds, timing.gather_seconds);
    return 0;
}
#endif

int cmd_sample_prior(const options& o) {
    cli::output_file out(o.output == "-" ? std::nullopt : std::optional<std::filesystem::path>(o.output), o.force);
    out.write(wf::format_parameter_table(wf::sample_prior(o.n, o.seed, o.p)));
    out.commit();
    return 0;
}

// The ranges the options accept: wide enough for every compact binary a ground- or space-based
// detector sees; what the models themselves refuse (wf::validate, wf::extent_of) is refused as well.
constexpr double max_frequency_hz = 1e5, max_mass = 1e10, max_angle = 1e3;
constexpr std::int64_t max_prior_rows = 100'000'000;  // 11 GB of parameters in memory

void add_physics(CLI::App* app, options& o) {
    app->add_option("--approximant", o.approximant, "TaylorF2 or IMRPhenomD")
        ->check(CLI::IsMember({"TaylorF2", "IMRPhenomD"}))
        ->capture_default_str();
    app->add_option("--constants", o.constants, "physical constants: today or lal-2015")
        ->check(CLI::IsMember({"today", "lal-2015"}))
        ->capture_default_str();
    cli::add_real(app, "--f-min", o.p.f_min, "lowest frequency, Hz", 1e-6, max_frequency_hz);
    cli::add_real(app, "--f-max", o.p.f_max, "highest frequency, Hz (generate: 0 = the model's end)", 0,
                  max_frequency_hz);
    cli::add_real(app, "--delta-f", o.p.delta_f,
                  fmt::format("bin width, Hz (at most {} bins up to f_max)", wf::max_bins), 1e-6, 1e3);
    app->add_flag("-f,--force", o.force, "overwrite an existing output");
}

void add_binary(CLI::App* app, options& o) {
    cli::add_real(app, "--m1", o.p.m1, "mass of body 1, solar masses", 1e-3, max_mass);
    cli::add_real(app, "--m2", o.p.m2, "mass of body 2, solar masses", 1e-3, max_mass);
    cli::add_real(app, "--chi1z", o.p.chi1z, "aligned spin of body 1", -1, 1);
    cli::add_real(app, "--chi2z", o.p.chi2z, "aligned spin of body 2", -1, 1);
    cli::add_real(app, "--lambda1", o.p.lambda1, "tidal deformability of body 1 (TaylorF2)", 0, 1e6);
    cli::add_real(app, "--lambda2", o.p.lambda2, "tidal deformability of body 2 (TaylorF2)", 0, 1e6);
    cli::add_real(app, "--distance", o.p.distance, "luminosity distance, Mpc", 1e-6, 1e6);
    cli::add_real(app, "--inclination", o.p.inclination, "inclination, rad", -max_angle, max_angle);
    cli::add_real(app, "--phi-ref", o.p.phi_ref, "orbital phase at f_ref, rad", -max_angle, max_angle);
    cli::add_real(app, "--f-ref", o.p.f_ref, "reference frequency, Hz (0 = the model's default)", 0, max_frequency_hz);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"parex-waveforms: batched TaylorF2 and IMRPhenomD waveforms on parex", "parex-waveforms"};
    app.require_subcommand(1);
    options o;
    auto* generate = app.add_subcommand("generate", "one waveform as CSV: k,f_Hz,hp_re,hp_im,hc_re,hc_im");
    add_physics(generate, o);
    add_binary(generate, o);
    generate->get_option("--m1")->required();
    generate->get_option("--m2")->required();
    generate->add_option("-o,--output", o.output, "CSV file (- for stdout)")->required();
    auto* batch = app.add_subcommand("batch", "a batch over a parameter table, written as HDF5");
    add_physics(batch, o);
    add_binary(batch, o);
    batch->add_option("--params", o.params, "parameter table (CSV, columns named like the flags)")
        ->required()
        ->check(CLI::ExistingFile);
    cli::add_threads(batch, o.threads);
    cli::add_integer(batch, "--per-task", o.per_task, "waveforms per pool task", 1, 1'000'000);
    batch->add_option("-o,--output", o.output, "HDF5 file")->required();
    auto* sample = app.add_subcommand("sample-prior", "a parameter table drawn from the documented prior");
    cli::add_integer(sample, "--n", o.n, "rows", 1, max_prior_rows)->required();
    cli::add_integer(sample, "--seed", o.seed, "random seed", 0, std::numeric_limits<std::int64_t>::max());
    sample->add_option("-o,--output", o.output, "CSV file (- for stdout)")->required();
    sample->add_flag("-f,--force", o.force, "overwrite an existing output");

#if defined(EXAMPLES_MPI)
    const cli::mpi_session mpi(argc, argv);
    if (mpi.active())
        return cli::run_program(app, argc, argv, [&] {
            return mpi.run([&] {
                if (*batch) return cmd_batch_mpi(o, mpi);
                mpi.single_process_only(app.get_subcommands().front()->get_name());
                if (*generate) return cmd_generate(o);
                return cmd_sample_prior(o);
            });
        });
#endif
    return cli::run_program(app, argc, argv, [&] {
        if (*generate) return cmd_generate(o);
        if (*batch) return cmd_batch(o);
        return cmd_sample_prior(o);
    });
}

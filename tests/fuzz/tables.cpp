// libFuzzer target: the modules' CSV reader (common/csv.hpp) through the stopping-power table
// (transport) and the parameter table (waveforms). For any file content each either reads a table or
// throws its documented error (examples::table_error naming the line; std::invalid_argument for values
// the stopping-power table refuses), and a table it reads is usable: lookups in range give finite values.
#include <transport/stopping_power.hpp>
#include <waveforms/parameter_table.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace wf = waveforms;
namespace pt = transport;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = "/tmp/parex-fuzz-tables-" + std::to_string(::getpid()) + ".csv";
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    try {
        const auto table = pt::stopping_power_table::read_csv(path);
        const double e = 0.5 * (table.min_energy_mev() + table.max_energy_mev());
        if (!std::isfinite(table.csda_range(e)) || !std::isfinite(table.stopping_power(e))) std::abort();
    } catch (const examples::table_error&) {
    } catch (const std::invalid_argument&) {}
    try {
        const auto rows = wf::read_parameter_table(path, wf::parameters{});
        (void)wf::format_parameter_table(rows);
    } catch (const examples::table_error&) {}
    return 0;
}

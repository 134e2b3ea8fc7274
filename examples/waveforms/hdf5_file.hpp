// A waveform batch as an HDF5 file, laid out as dingo's waveform dataset: h_plus and h_cross
// [waveforms, bins] complex128 (h5py's compound {r, i}), the frequency array, one dataset per parameter
// under /parameters, and the settings as attributes of the root group.
#pragma once

#include <hdf5.h>

#include <complex>
#include <cstddef>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace waveforms {

/// An HDF5 call failed (the message names the file and the object).
class hdf5_error : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {

/// An HDF5 identifier closed by `close` on destruction.
class h5_handle {
public:
    h5_handle(hid_t id, herr_t (*close)(hid_t), const std::string& what) : id_(id), close_(close) {
        if (id_ < 0) throw hdf5_error("HDF5: " + what);
    }
    h5_handle(h5_handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
    h5_handle(const h5_handle&) = delete;
    h5_handle& operator=(const h5_handle&) = delete;
    ~h5_handle() {
        if (id_ >= 0) close_(id_);
    }
    operator hid_t() const noexcept { return id_; }  // NOLINT: handles are used as ids

private:
    hid_t id_;
    herr_t (*close_)(hid_t);
};

/// HDF5 prints its error stack to stderr by default; these functions report errors as exceptions instead.
inline void quiet_hdf5_errors() {
    static const bool once = (H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr), true);
    (void)once;
}

inline h5_handle complex_type() {  // h5py's complex128: compound {r: f64, i: f64}
    h5_handle type(H5Tcreate(H5T_COMPOUND, sizeof(std::complex<double>)), H5Tclose, "complex type");
    if (H5Tinsert(type, "r", 0, H5T_NATIVE_DOUBLE) < 0 || H5Tinsert(type, "i", sizeof(double), H5T_NATIVE_DOUBLE) < 0)
        throw hdf5_error("HDF5: complex type");
    return type;
}

inline void check(herr_t status, const std::string& what) {
    if (status < 0) throw hdf5_error("HDF5: " + what);
}

}  // namespace detail

/// One named column of per-waveform parameters (values in the units of `parameters`).
struct parameter_column {
    std::string name;
    std::vector<double> values;
};

/// What a batch file holds besides the arrays.
struct batch_settings {
    std::string approximant, constants;
    double delta_f = 0, f_min = 0, f_max = 0;
};

/// Writes the batch to `path` (created or truncated): /h_plus and /h_cross [waveforms, bins] complex128
/// from the spans (row-major, read in place: no copy), /frequencies [bins], /parameters/<name> [waveforms],
/// and root attributes approximant, constants, delta_f, f_min, f_max. No modification times are stored,
/// so the same batch always gives the same bytes. Throws hdf5_error naming what failed.
inline void write_batch_hdf5(const std::filesystem::path& path, std::size_t waveforms, std::size_t bins,
                             std::span<const std::complex<double>> h_plus,
                             std::span<const std::complex<double>> h_cross, std::span<const double> frequencies,
                             const std::vector<parameter_column>& params, const batch_settings& settings) {
    using detail::check;
    using detail::h5_handle;
    detail::quiet_hdf5_errors();
    const std::string where = path.string();
    h5_handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, "creating " + where);
    const auto complex = detail::complex_type();
    // No modification times in object headers: the same batch gives the same bytes, whichever run made it.
    h5_handle dataset_props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "dataset properties");
    check(H5Pset_obj_track_times(dataset_props, false), "dataset properties");
    h5_handle group_props(H5Pcreate(H5P_GROUP_CREATE), H5Pclose, "group properties");
    check(H5Pset_obj_track_times(group_props, false), "group properties");
    auto write_matrix = [&](const char* name, std::span<const std::complex<double>> data) {
        const hsize_t dims[2] = {waveforms, bins};
        h5_handle space(H5Screate_simple(2, dims, nullptr), H5Sclose, "dataspace");
        h5_handle set(H5Dcreate2(file, name, complex, space, H5P_DEFAULT, dataset_props, H5P_DEFAULT), H5Dclose,
                      fmt::format("creating {} in {}", name, where));
        if (waveforms * bins > 0)
            check(H5Dwrite(set, complex, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
                  fmt::format("writing {} to {}", name, where));
    };
    auto write_vector = [&](hid_t group, const std::string& name, std::span<const double> data) {
        const hsize_t dims[1] = {data.size()};
        h5_handle space(H5Screate_simple(1, dims, nullptr), H5Sclose, "dataspace");
        h5_handle set(H5Dcreate2(group, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, dataset_props, H5P_DEFAULT),
                      H5Dclose, fmt::format("creating {} in {}", name, where));
        if (!data.empty())
            check(H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
                  fmt::format("writing {} to {}", name, where));
    };
    write_matrix("h_plus", h_plus);
    write_matrix("h_cross", h_cross);
    write_vector(file, "frequencies", frequencies);
    h5_handle group(H5Gcreate2(file, "parameters", H5P_DEFAULT, group_props, H5P_DEFAULT), H5Gclose,
                    "creating /parameters in " + where);
    for (const auto& column : params) write_vector(group, column.name, column.values);
    auto attribute_double = [&](const char* name, double value) {
        h5_handle space(H5Screate(H5S_SCALAR), H5Sclose, "dataspace");
        h5_handle attr(H5Acreate2(file, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, name);
        check(H5Awrite(attr, H5T_NATIVE_DOUBLE, &value), name);
    };
    auto attribute_string = [&](const char* name, const std::string& value) {
        h5_handle type(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
        check(H5Tset_size(type, std::max<std::size_t>(value.size(), 1)), name);
        h5_handle space(H5Screate(H5S_SCALAR), H5Sclose, "dataspace");
        h5_handle attr(H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, name);
        check(H5Awrite(attr, type, value.c_str()), name);
    };
    attribute_string("approximant", settings.approximant);
    attribute_string("constants", settings.constants);
    attribute_double("delta_f", settings.delta_f);
    attribute_double("f_min", settings.f_min);
    attribute_double("f_max", settings.f_max);
    check(H5Fflush(file, H5F_SCOPE_LOCAL), "flushing " + where);
}

/// Reads dataset `name` of a batch file: its dimensions and values (complex datasets as complex,
/// real ones with zero imaginary parts). For tests and tools; throws hdf5_error.
inline std::pair<std::vector<hsize_t>, std::vector<std::complex<double>>> read_hdf5_dataset(
    const std::filesystem::path& path, const std::string& name) {
    using detail::h5_handle;
    detail::quiet_hdf5_errors();
    h5_handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "opening " + path.string());
    h5_handle set(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose, "opening " + name + " in " + path.string());
    h5_handle space(H5Dget_space(set), H5Sclose, "dataspace of " + name);
    const int rank = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> dims(std::size_t(std::max(rank, 0)));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    std::size_t count = 1;
    for (auto d : dims) count *= d;
    std::vector<std::complex<double>> values(count);
    h5_handle type(H5Dget_type(set), H5Tclose, "type of " + name);
    if (H5Tget_class(type) == H5T_COMPOUND) {
        detail::check(H5Dread(set, detail::complex_type(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
                      "reading " + name);
    } else {
        std::vector<double> real(count);
        detail::check(H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, real.data()), "reading " + name);
        for (std::size_t i = 0; i < count; ++i) values[i] = real[i];
    }
    return {dims, values};
}

}  // namespace waveforms

#pragma once
// reservoir/lif.hpp: the spiking reservoir (a liquid state machine): leaky integrate-and-fire neurons
// with a refractory period and exponential synaptic currents, read out through filtered spike trains.

#include <reservoir/esn.hpp>  // max_units, check_size, random_sparse

#include <Eigen/Dense>
#include <Eigen/Sparse>

#include <cmath>
#include <cstddef>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace reservoir {

/// One leaky integrate-and-fire neuron, tau_m dV/dt = -V + R I(t) with rest and reset at V = 0: when
/// V reaches the threshold it emits a spike, is held at 0 for the refractory period, then integrates
/// again (W. Gerstner, W. M. Kistler, R. Naud and L. Paninski, "Neuronal Dynamics", Cambridge
/// University Press (2014), section 1.3). Voltages are in the units of the drive R I; times in ms.
struct lif_neuron {
    double tau_m_ms = 20;      ///< membrane time constant
    double refractory_ms = 2;  ///< absolute refractory period
    double threshold = 1;      ///< firing threshold above rest

    /// Firing rate in Hz under a constant drive R I (Neuronal Dynamics, eq. 1.13 with the refractory
    /// period added): 1 / (t_ref + tau_m ln(R I / (R I - threshold))) for R I > threshold, else 0.
    [[nodiscard]] double rate_hz(double drive) const {
        if (!(drive > threshold)) return 0;
        return 1000 / (refractory_ms + tau_m_ms * std::log(drive / (drive - threshold)));
    }

    /// Advances (v, refractory_left) by `dt_ms` under the constant `drive`; returns the spikes emitted.
    /// Exact for a constant drive: between spikes V relaxes exponentially towards the drive, and the
    /// threshold crossing is found analytically, so the period needs no rounding to the step.
    int advance(double& v, double& refractory_left, double dt_ms, double drive) const {
        int spikes = 0;
        for (double left = dt_ms; left > 0;) {
            if (refractory_left > 0) {
                const double held = std::min(refractory_left, left);
                refractory_left -= held, left -= held, v = 0;
                if (left <= 0) break;
            }
            const double v_end = drive + (v - drive) * std::exp(-left / tau_m_ms);
            if (v_end < threshold) {
                v = v_end;
                break;
            }
            const double crossing = tau_m_ms * std::log((drive - v) / (drive - threshold));
            ++spikes, v = 0, refractory_left = refractory_ms;
            left -= crossing;
        }
        return spikes;
    }
};

/// Parameters of the spiking reservoir. Defaults are those of `parex-reservoir run --model lif`.
struct lif_config {
    std::size_t units = 500;       ///< neurons, in [1, max_units]
    std::size_t connections = 10;  ///< presynaptic partners per neuron, in [1, units]
    lif_neuron neuron{};
    double dt_ms = 0.1;                      ///< integration step
    double sample_ms = 1;                    ///< each input value is held this long (a whole number of steps)
    double tau_synapse_ms = 5;               ///< decay of the synaptic current
    double tau_readout_ms = 20;              ///< decay of the filtered spike trains the readout sees
    double bias_low = 0.8, bias_high = 1.4;  ///< constant drive of each neuron, uniform, in thresholds
    double input_scaling = 0.5;              ///< input weights uniform in [-s, s]
    double weight = 0.2;                     ///< recurrent jump of the synaptic current per spike, in thresholds
    double inhibitory_fraction = 0.2;        ///< neurons whose outgoing weights are -weight (Dale's law)
};

/// N LIF neurons with random sparse recurrent synapses. Input encoding: the signal u is injected as a
/// current, each neuron i receiving the drive bias_i + w_in_i u (held for sample_ms) plus its
/// synaptic current s_i, which decays with tau_synapse and jumps by w_ij when neuron j spikes (the
/// jump is felt from the next step). The drive is taken constant over each step. The readout sees
/// [1, u, r_1 .. r_N] at the end of each sample, r_i the spike train of neuron i filtered by
/// exp(-t / tau_readout) / tau_readout (a rate in kHz).
class spiking_reservoir {
public:
    struct state {
        Eigen::VectorXd v, refractory, synapse, trace;
        std::vector<int> spikes;  ///< spikes of each neuron in the current step
        std::size_t total_spikes = 0;
    };

    /// Draws the weights from `rng`. Throws std::invalid_argument for a parameter outside its range.
    spiking_reservoir(const lif_config& config, std::mt19937_64& rng) : config_(config) {
        const auto n = config.units;
        check_size("lif", n, config.connections);
        if (!(config.dt_ms > 0) || !(config.sample_ms >= config.dt_ms) || !(config.sample_ms < 1e6))
            throw std::invalid_argument("lif: need 0 < dt_ms <= sample_ms");
        const double ratio = config.sample_ms / config.dt_ms;
        if (std::abs(ratio - std::round(ratio)) > 1e-9)
            throw std::invalid_argument("lif: sample_ms must be a whole number of dt_ms steps");
        steps_per_sample_ = static_cast<std::size_t>(std::llround(ratio));
        if (!(config.tau_synapse_ms > 0) || !(config.tau_readout_ms > 0) || !(config.neuron.tau_m_ms > 0) ||
            !(config.neuron.refractory_ms >= 0) || !(config.neuron.threshold > 0))
            throw std::invalid_argument("lif: time constants and the threshold must be > 0");
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        std::vector<double> sign(n);
        for (auto& s : sign) s = unit(rng) < config.inhibitory_fraction ? -1.0 : 1.0;
        // row: the postsynaptic neuron; column: the presynaptic one, whose sign every weight carries
        w_ = random_sparse(n, config.connections, rng, [&](std::size_t pre) { return config.weight * sign[pre]; });
        bias_.resize(static_cast<Eigen::Index>(n));
        w_in_.resize(static_cast<Eigen::Index>(n));
        for (auto& b : bias_) b = config.bias_low + (config.bias_high - config.bias_low) * unit(rng);
        for (auto& w : w_in_) w = config.input_scaling * (2 * unit(rng) - 1);
    }

    [[nodiscard]] std::size_t units() const noexcept { return config_.units; }
    [[nodiscard]] std::size_t feature_count() const noexcept { return config_.units + 2; }
    [[nodiscard]] std::size_t steps_per_sample() const noexcept { return steps_per_sample_; }
    [[nodiscard]] const lif_config& config() const noexcept { return config_; }

    /// Every neuron at rest, no current, no spike.
    [[nodiscard]] state initial_state() const {
        const auto n = static_cast<Eigen::Index>(config_.units);
        return {Eigen::VectorXd::Zero(n), Eigen::VectorXd::Zero(n),           Eigen::VectorXd::Zero(n),
                Eigen::VectorXd::Zero(n), std::vector<int>(config_.units, 0), 0};
    }

    /// Holds the input u for one sample (steps_per_sample steps) and writes the feature_count()
    /// features. O(steps_per_sample (N + spikes x fan-out)).
    void step(state& s, double u, double* features) const {
        const double dt = config_.dt_ms;
        const double synapse_decay = std::exp(-dt / config_.tau_synapse_ms);
        const double trace_decay = std::exp(-dt / config_.tau_readout_ms);
        const double trace_jump = 1 / config_.tau_readout_ms;
        const auto n = static_cast<Eigen::Index>(config_.units);
        for (std::size_t k = 0; k < steps_per_sample_; ++k) {
            for (Eigen::Index i = 0; i < n; ++i) {
                const double drive = bias_[i] + w_in_[i] * u + s.synapse[i];
                const int fired = config_.neuron.advance(s.v[i], s.refractory[i], dt, drive);
                s.spikes[static_cast<std::size_t>(i)] = fired;
                s.trace[i] = s.trace[i] * trace_decay + fired * trace_jump;
            }
            s.synapse *= synapse_decay;
            for (Eigen::Index j = 0; j < n; ++j) {
                const int fired = s.spikes[static_cast<std::size_t>(j)];
                if (fired == 0) continue;
                s.total_spikes += static_cast<std::size_t>(fired);
                for (Eigen::SparseMatrix<double>::InnerIterator it(w_, j); it; ++it)
                    s.synapse[it.row()] += fired * it.value();
            }
        }
        features[0] = 1;
        features[1] = u;
        Eigen::Map<Eigen::VectorXd>(features + 2, n) = s.trace;
    }

private:
    lif_config config_;
    std::size_t steps_per_sample_ = 1;
    Eigen::SparseMatrix<double> w_;  ///< column j: the neurons that neuron j projects to
    Eigen::VectorXd bias_, w_in_;
};

}  // namespace reservoir

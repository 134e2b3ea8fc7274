#pragma once
// transport/transport.hpp: the proton-transport module: configuration (config.hpp), physics tables
// (stopping_power.hpp, interactions.hpp, multiple_scattering.hpp), the simulation, its source and its
// operators (simulation.hpp, source.hpp, energy_loss.hpp, scattering.hpp, streaming.hpp, kernels.hpp)
// and dose analysis (dose.hpp). The references to judge a run by are in bortfeld.hpp.

#include <transport/config.hpp>
#include <transport/dose.hpp>
#include <transport/interactions.hpp>
#include <transport/multiple_scattering.hpp>
#include <transport/simulation.hpp>
#include <transport/stopping_power.hpp>

#!/usr/bin/env python3
"""Draws parex-transport's dose: the dose map (depth x lateral) and the laterally integrated depth-dose
curve with Bortfeld's analytic curve over it and the Bragg peak, R80 and NIST's CSDA range marked.

usage: plot_dose.py DOSE.csv OUT.png SUMMARY_JSON
DOSE.csv has the columns z_cm,x_cm,dose_gy (Gy per incident proton); SUMMARY_JSON is the object
parex-transport --json prints. OUT.png is written as PNG whatever its name (parex-transport passes
its own temporary file, which it renames when this succeeds).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main(dose_csv, out_png, summary_json):
    summary = json.loads(summary_json)
    z, x, dose = np.loadtxt(dose_csv, delimiter=",", skiprows=1, unpack=True, ndmin=2)
    nz, nx = summary["grid"]["nz"], summary["grid"]["nx"]
    dose = dose.reshape(nz, nx)
    zs, xs = z.reshape(nz, nx)[:, 0], x.reshape(nz, nx)[0, :]
    dz, dx = summary["grid"]["dz_cm"], summary["grid"]["dx_cm"]

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 8), constrained_layout=True)
    fig.suptitle(f"{summary['energy_mev']:g} MeV proton pencil beam in water (parex-transport)")
    image = top.imshow(dose.T, origin="lower", aspect="auto", cmap="inferno",
                       extent=[zs[0] - dz / 2, zs[-1] + dz / 2, xs[0] - dx / 2, xs[-1] + dx / 2])
    fig.colorbar(image, ax=top, label="dose (Gy per incident proton)")
    top.set_xlabel("depth z (cm)")
    top.set_ylabel("lateral x (cm)")
    top.set_title("dose map")

    gy_per_mev_g = 1.602176634e-10
    depth_dose = dose.sum(axis=1) * dx * summary["grid"]["dy_cm"]  # Gy cm^2 per proton, laterally integrated
    reference = np.asarray(summary["bortfeld"]["depth_dose_mev_cm2_g"]) * gy_per_mev_g
    scale = 100 / depth_dose.max()
    bottom.plot(zs, depth_dose * scale, drawstyle="steps-mid", color="tab:blue", label="parex-transport")
    bottom.plot(zs, reference * scale, color="tab:red", linewidth=1,
                label=f"Bortfeld 1997 (gamma 2 %/1 mm: {100 * summary['bortfeld']['gamma_2pct_1mm_pass_rate']:.1f} % pass)")
    for value, label, colour in ((summary["bragg_peak_cm"], "Bragg peak", "tab:orange"),
                                 (summary["r80_cm"], "R80", "tab:green"),
                                 (summary["csda_range_cm"], "NIST CSDA range", "black")):
        bottom.axvline(value, linestyle="--", linewidth=1, color=colour, label=f"{label} {value:.3f} cm")
    bottom.axhline(80, color="lightgray", linewidth=0.8)
    bottom.legend(loc="upper left")
    bottom.set_xlabel("depth z (cm)")
    bottom.set_ylabel("laterally integrated dose (% of the simulated maximum)")
    bottom.set_title("depth-dose curve")
    bottom.set_xlim(0, zs[-1] + dz / 2)
    bottom.set_ylim(0, 105)

    fig.savefig(out_png, dpi=120, format="png")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])

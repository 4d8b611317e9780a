#!/usr/bin/env python3
"""Generates PrivacyAccounting's reference vectors with Google's dp-accounting.

Run from this directory with a Python that has `pip install dp-accounting` (the lab uses the venv
/work/venvs/dpacc):

    /work/venvs/dpacc/bin/python generate_vectors.py > Vectors/dp-accounting-v1.json

Every figure comes from dp-accounting's public API with its default settings (RDP: default orders,
the improved RDP→(ε, δ) conversion; PLD: PLDAccountant with value_discretization_interval 1e-4,
connect-the-dots discretization), except `rdp_classic_epsilon`, which applies the classic conversion
ε = min_α (rdp_α + log(1/δ)/(α − 1)) to dp-accounting's own RDP vector.
"""
import json
import math
import sys

import dp_accounting
from dp_accounting import dp_event
from dp_accounting.pld import pld_privacy_accountant
from dp_accounting.rdp import rdp_privacy_accountant as rdp_mod

DELTA = 1e-5
ORDERS = rdp_mod.DEFAULT_RDP_ORDERS


def event(q, sigma, steps):
    return dp_event.SelfComposedDpEvent(
        dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), steps)


def rdp_vector(q, sigma):
    return [float(v) for v in rdp_mod._compute_rdp_poisson_subsampled_gaussian(q, sigma, ORDERS)]


def rdp_epsilon(ev, delta):
    acc = rdp_mod.RdpAccountant()
    acc.compose(ev)
    return acc.get_epsilon(delta)


def classic_epsilon(rdp, delta):
    return min(r + math.log(1 / delta) / (a - 1) for a, r in zip(ORDERS, rdp) if a > 1)


def pld_epsilon(ev, delta):
    acc = pld_privacy_accountant.PLDAccountant()
    acc.compose(ev)
    return acc.get_epsilon(delta)


def main():
    cases = []
    for q in [0.001, 0.01, 0.1, 1.0]:
        for sigma in [0.7, 1.0, 2.0, 5.0]:
            for steps in [1, 100, 1000, 10000]:
                if q == 1.0 and steps > 1000:
                    continue
                ev = event(q, sigma, steps)
                rdp = rdp_vector(q, sigma)
                cases.append({
                    "q": q, "sigma": sigma, "steps": steps, "delta": DELTA,
                    "rdp_epsilon": rdp_epsilon(ev, DELTA),
                    "rdp_classic_epsilon": classic_epsilon([steps * r for r in rdp], DELTA),
                    "pld_epsilon": pld_epsilon(ev, DELTA),
                })
                print(f"q={q} sigma={sigma} steps={steps}: {cases[-1]}", file=sys.stderr)

    # RDP of one step at every default order, for a few (q, σ).
    rdp_curves = [{"q": q, "sigma": s, "rdp": rdp_vector(q, s)}
                  for (q, s) in [(0.001, 1.0), (0.01, 0.7), (0.05, 1.3), (0.3, 2.0), (1.0, 1.0)]]

    # Heterogeneous composition: two phases with different (q, σ, steps).
    phases = [[(0.01, 1.0, 500), (0.02, 2.0, 300)], [(0.004, 1.1, 2000), (0.1, 4.0, 50)]]
    composed = []
    for p in phases:
        ev = dp_event.ComposedDpEvent([event(*x) for x in p])
        composed.append({"phases": [{"q": q, "sigma": s, "steps": t} for (q, s, t) in p],
                         "delta": DELTA, "rdp_epsilon": rdp_epsilon(ev, DELTA),
                         "pld_epsilon": pld_epsilon(ev, DELTA)})

    # Noise calibration: σ for a target ε (RDP accountant, dp-accounting's calibrator).
    calibration = []
    for (q, steps, eps) in [(0.01, 1000, 1.0), (0.004, 5000, 3.0), (0.1, 100, 8.0)]:
        sigma = dp_accounting.calibrate_dp_mechanism(
            rdp_mod.RdpAccountant,
            lambda s, q=q, steps=steps: event(q, s, steps),
            eps, DELTA, bracket_interval=dp_accounting.LowerEndpointAndGuess(0.1, 1.0),
            tol=1e-6)
        calibration.append({"q": q, "steps": steps, "epsilon": eps, "delta": DELTA, "rdp_sigma": sigma})

    json.dump({"version": 1, "generator": "dp-accounting " + getattr(dp_accounting, "__version__", "0.6.0"),
               "rdp_orders": list(map(float, ORDERS)), "cases": cases, "rdp_curves": rdp_curves,
               "composed": composed, "calibration": calibration}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()

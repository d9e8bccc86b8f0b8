"""Fits the seed generator's sin and cos polynomials (src/manager/seed_random.ts, PAIR.sin and PAIR.cos).

On [0, pi/4]: sin(phi) = phi * (1 + c1 z + c2 z^2 + c3 z^3) and cos(phi) = 1 + d1 z + d2 z^2 + d3 z^3 with
z = phi^2, the free coefficients chosen for the least greatest error (sin's relative, cos's absolute) by
Lawson's iteration of weighted least squares on a fine grid. Prints them as float32 values (shortest
round-trip decimals, highest power first, as PAIR holds them) and the greatest error of each polynomial
evaluated as the generator does (float32 Horner steps, on each of its 2^21 + 1 angles) against float64 sin
and cos, beside Taylor's series one term longer for comparison.

Run: python scripts/seed_polynomials.py (numpy; the interop venv has it).
"""

import numpy as np

PHI = np.linspace(0.0, np.pi / 4, 200_001)
Z = PHI * PHI


def minimax(target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """c1..c3 minimising max |weight * (1 + c1 z + c2 z^2 + c3 z^3 - target)| (Lawson's iteration)."""
    basis = np.stack([Z, Z**2, Z**3], axis=1)
    lawson = np.full(Z.shape, 1.0 / Z.size)
    for _ in range(200):
        w = np.sqrt(lawson) * weight
        c, *_ = np.linalg.lstsq(basis * w[:, None], (target - 1.0) * w, rcond=None)
        error = np.abs((basis @ c - (target - 1.0)) * weight)
        lawson = lawson * (error + 1e-300)
        lawson /= lawson.sum()
    return c


def horner32(coefficients: list[np.float32], x: np.ndarray) -> np.ndarray:
    p = np.full(x.shape, coefficients[0], dtype=np.float32)
    for c in coefficients[1:]:
        p = (p * x).astype(np.float32) + c
    return p


def greatest_errors(sin_c: list[np.float32], cos_c: list[np.float32]) -> tuple[float, float]:
    """Over the generator's own angles: phi = at * (pi/4 / 2^21) in float32, at = 0 .. 2^21."""
    phi = (np.arange(2**21 + 1, dtype=np.float32) * np.float32(np.pi / 4 / 2**21)).astype(np.float32)
    z = (phi * phi).astype(np.float32)
    sin = (phi * horner32(sin_c, z)).astype(np.float32).astype(np.float64)
    cos = horner32(cos_c, z).astype(np.float64)
    exact = phi.astype(np.float64)
    return float(np.max(np.abs(sin - np.sin(exact)))), float(np.max(np.abs(cos - np.cos(exact))))


def main() -> None:
    ratio = np.sin(PHI) / np.where(PHI > 0, PHI, 1.0)
    ratio[0] = 1.0
    c = minimax(ratio, np.ones_like(Z))
    d = minimax(np.cos(PHI), np.ones_like(Z))
    fitted_sin = [np.float32(x) for x in (c[2], c[1], c[0], 1.0)]
    fitted_cos = [np.float32(x) for x in (d[2], d[1], d[0], 1.0)]
    taylor_sin = [np.float32(x) for x in (1 / 362880, -1 / 5040, 1 / 120, -1 / 6, 1.0)]
    taylor_cos = [np.float32(x) for x in (1 / 40320, -1 / 720, 1 / 24, -1 / 2, 1.0)]
    print("sin:", ", ".join(np.format_float_positional(x, unique=True) for x in fitted_sin))
    print("cos:", ", ".join(np.format_float_positional(x, unique=True) for x in fitted_cos))
    print("greatest errors, fitted to phi^7 / phi^6: sin %.3g, cos %.3g" % greatest_errors(fitted_sin, fitted_cos))
    print("greatest errors, Taylor to phi^9 / phi^8: sin %.3g, cos %.3g" % greatest_errors(taylor_sin, taylor_cos))


if __name__ == "__main__":
    main()

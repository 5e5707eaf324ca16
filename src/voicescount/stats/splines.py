"""Interpolating cubic splines and linear inverse interpolation as R's ``spline()`` and ``approx()`` do them.

Used by :func:`voicescount.stats.intervals.likelihood`, which reproduces how R's ``survey`` package
reads a profile-likelihood interval off a handful of profile points (``confint_profile``:
``approx(spline(par, z)$y, spline(par, z)$x, xout=cutoff)``). Every function works on a batch of
curves with the same number of points, one curve per row of a 2-D array.

Reference: Forsythe G.E., Malcolm M.A., Moler C.B. (1977) *Computer Methods for Mathematical
Computations*, §4.4 (the "fmm" end conditions: the third derivative at each end matches that of the
cubic through the four end points); R ``stats::spline(method="fmm")``, ``stats::approx(rule=1)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def fmm_spline(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Coefficients ``b, c, d`` of the interpolating cubic spline with Forsythe–Malcolm–Moler ends.

    ``x`` (strictly increasing along each row) and ``y`` have shape ``(curves, points)``, ``points ≥ 3``.
    On ``[x_i, x_{i+1}]`` the spline is ``y_i + b_i·h + c_i·h² + d_i·h³`` with ``h = x − x_i``
    (R's ``spline_coef(method=3)``).
    """
    m = x.shape[1]
    h = np.diff(x, axis=1)  # interval lengths, (curves, m-1)
    slope = np.diff(y, axis=1) / h
    diag = np.zeros_like(x)
    rhs = np.zeros_like(x)
    diag[:, 1:-1] = 2 * (h[:, :-1] + h[:, 1:])
    rhs[:, 1:-1] = slope[:, 1:] - slope[:, :-1]
    diag[:, 0] = -h[:, 0]
    diag[:, -1] = -h[:, -1]
    if m > 3:
        # Third derivatives at the ends from divided differences of the four end points.
        first = rhs[:, 2] / (x[:, 3] - x[:, 1]) - rhs[:, 1] / (x[:, 2] - x[:, 0])
        last = rhs[:, -2] / (x[:, -1] - x[:, -3]) - rhs[:, -3] / (x[:, -2] - x[:, -4])
        rhs[:, 0] = first * h[:, 0] ** 2 / (x[:, 3] - x[:, 0])
        rhs[:, -1] = -last * h[:, -1] ** 2 / (x[:, -1] - x[:, -4])
    # Tridiagonal system (off-diagonal h): elimination then back substitution, along the points.
    for i in range(1, m):
        factor = h[:, i - 1] / diag[:, i - 1]
        diag[:, i] -= factor * h[:, i - 1]
        rhs[:, i] -= factor * rhs[:, i - 1]
    sigma = np.empty_like(x)
    sigma[:, -1] = rhs[:, -1] / diag[:, -1]
    for i in range(m - 2, -1, -1):
        sigma[:, i] = (rhs[:, i] - h[:, i] * sigma[:, i + 1]) / diag[:, i]
    b = np.empty_like(x)
    c = 3 * sigma
    d = np.empty_like(x)
    b[:, :-1] = slope - h * (sigma[:, 1:] + 2 * sigma[:, :-1])
    b[:, -1] = slope[:, -1] + h[:, -1] * (sigma[:, -2] + 2 * sigma[:, -1])
    d[:, :-1] = (sigma[:, 1:] - sigma[:, :-1]) / h
    d[:, -1] = d[:, -2]
    return b, c, d


def even_grid(low: FloatArray, high: FloatArray, length: int) -> FloatArray:
    """``length`` evenly spaced points from ``low`` to ``high`` per row, as R's
    ``seq.int(low, high, length.out=length)`` computes them (ends exact, filled from both ends)."""
    step = (high - low) / (length - 1)
    i = np.arange(length, dtype=np.float64)
    from_low = low[:, None] + i * step[:, None]
    from_high = high[:, None] - (length - 1 - i) * step[:, None]
    out = np.where(np.arange(length) < length // 2, from_low, from_high)
    out[:, 0], out[:, -1] = low, high
    return np.asarray(out, dtype=np.float64)


def evaluate_spline(
    x: FloatArray, y: FloatArray, coefficients: tuple[FloatArray, FloatArray, FloatArray], u: FloatArray
) -> FloatArray:
    """The spline of :func:`fmm_spline` at ``u`` (shape ``(curves, k)``, within each row's ``x``)."""
    b, c, d = coefficients
    last = x.shape[1] - 1
    # The node at or left of each u (the last node for u at the right end, where h = 0).
    i = np.clip((x[:, None, :] <= u[:, :, None]).sum(axis=2) - 1, 0, last)
    xi = np.take_along_axis(x, i, axis=1)
    h = u - xi
    yi, bi = np.take_along_axis(y, i, axis=1), np.take_along_axis(b, i, axis=1)
    ci, di = np.take_along_axis(c, i, axis=1), np.take_along_axis(d, i, axis=1)
    return np.asarray(yi + h * (bi + h * (ci + h * di)), dtype=np.float64)


def inverse_linear(x: FloatArray, y: FloatArray, target: FloatArray) -> FloatArray:
    """The ``x`` where the piecewise-linear curve through ``(x, y)`` reaches ``target`` (one per row):
    R's ``approx(y, x, xout=target)`` — points ordered by ``y``, ``NaN`` outside its range."""
    order = np.argsort(y, axis=1, kind="stable")
    ys, xs = np.take_along_axis(y, order, axis=1), np.take_along_axis(x, order, axis=1)
    t = target[:, None]
    j = np.clip((ys < t).sum(axis=1, keepdims=True), 1, ys.shape[1] - 1)
    y0, y1 = np.take_along_axis(ys, j - 1, axis=1), np.take_along_axis(ys, j, axis=1)
    x0, x1 = np.take_along_axis(xs, j - 1, axis=1), np.take_along_axis(xs, j, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(t == y1, x1, x0 + (x1 - x0) * ((t - y0) / (y1 - y0)))[:, 0]
    inside = (target >= ys[:, 0]) & (target <= ys[:, -1])
    return np.asarray(np.where(inside, value, np.nan), dtype=np.float64)

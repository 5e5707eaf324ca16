"""Washington Group disability identifiers: the Short Set (WG-SS) and the Child Functioning Module (5–17).

**WG-SS.** Six domains — seeing, hearing, walking, cognition (remembering or concentrating), self-care,
communication — each coded 1 No difficulty, 2 Some difficulty, 3 A lot of difficulty, 4 Cannot do at all,
with 7 refused, 8 don't know, 9 missing (NaN is also accepted as missing).  Following the WG analytic
guidelines ("Creating disability identifiers using the WG-SS"), with ``SUM_234`` the number of domains
coded 2–4 and ``SUM_34`` the number coded 3–4:

* DISABILITY1: ``SUM_234 ≥ 1`` (at least some difficulty in one domain);
* DISABILITY2: ``SUM_234 ≥ 2`` or ``SUM_34 ≥ 1``;
* DISABILITY3: ``SUM_34 ≥ 1`` — the WG-recommended cut-off for international comparison;
* DISABILITY4: at least one domain coded 4.

Each identifier is 1 when its condition holds, 0 when it does not and at least one domain was answered,
and missing (NaN) when all six domains are missing.

**Child Functioning Module, ages 5–17** (UNICEF/WG; MICS6 tabulation plan, table "Child functioning",
children age 5–17): functional difficulty in seeing, hearing, walking, self-care, communication, learning,
remembering, concentrating, accepting change, controlling behaviour and making friends when a response is
3 or 4 (a lot of difficulty / cannot do at all), and in anxiety and depression when the frequency response
is 1 ("daily", on 1 Daily, 2 Weekly, 3 Monthly, 4 A few times a year, 5 Never).  Domains asked through
several items (seeing/hearing with or without glasses/hearing aid; walking 100 m / 500 m with or without
equipment; communication understood inside / outside the household) have difficulty when any of their
items meets the cut-off; items skipped by the questionnaire's routing are NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import StatsError

__all__ = [
    "CFM_DIFFICULTY_DOMAINS",
    "CFM_FREQUENCY_DOMAINS",
    "WGSS_DOMAINS",
    "CFMResult",
    "WGSSResult",
    "cfm_5_17",
    "cfm_domain_difficulty",
    "wgss_identifiers",
]

WGSS_DOMAINS = ("seeing", "hearing", "walking", "cognition", "self_care", "communication")
CFM_DIFFICULTY_DOMAINS = (
    "seeing",
    "hearing",
    "walking",
    "self_care",
    "communication",
    "learning",
    "remembering",
    "concentrating",
    "accepting_change",
    "controlling_behaviour",
    "making_friends",
)
CFM_FREQUENCY_DOMAINS = ("anxiety", "depression")

_DIFFICULTY_CODES = {1, 2, 3, 4}
_FREQUENCY_CODES = {1, 2, 3, 4, 5}
_MISSING_CODES = {7, 8, 9}


def _responses(name: str, value: ArrayLike, valid: set[int], n: int | None) -> NDArray[np.float64]:
    """Codes as floats with every missing code turned into NaN; unknown codes are an error."""
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError) as exc:
        raise StatsError(f"{name}: expected numeric response codes") from exc
    if arr.ndim != 1:
        raise StatsError(f"{name}: expected one response per person (1-D), got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise StatsError(f"{name}: expected {n} responses, got {arr.size}")
    finite = np.isfinite(arr)
    allowed = np.isin(arr, sorted(valid | _MISSING_CODES))
    if np.any(finite & ~allowed):
        row = int(np.flatnonzero(finite & ~allowed)[0])
        codes = sorted(valid) + sorted(_MISSING_CODES)
        raise StatsError(f"{name}: row {row} has code {arr[row]:g}; allowed codes are {codes} or blank")
    return np.where(np.isin(arr, sorted(valid)), arr, np.nan)


def _indicator(condition: NDArray[np.bool_], answered: NDArray[np.bool_]) -> NDArray[np.float64]:
    return np.where(condition, 1.0, np.where(answered, 0.0, np.nan))


@dataclass(frozen=True)
class WGSSResult:
    """WG-SS identifiers per person: 1.0 / 0.0 / NaN (all six domains missing)."""

    disability1: NDArray[np.float64]
    disability2: NDArray[np.float64]
    disability3: NDArray[np.float64]
    disability4: NDArray[np.float64]
    sum_234: NDArray[np.int64]
    sum_34: NDArray[np.int64]
    domains_answered: NDArray[np.int64]


def wgss_identifiers(responses: Mapping[str, ArrayLike]) -> WGSSResult:
    """Compute DISABILITY1–4 from the six WG-SS domains (keys of :data:`WGSS_DOMAINS`)."""
    missing = [d for d in WGSS_DOMAINS if d not in responses]
    if missing:
        raise StatsError(f"WG-SS responses lack the domain(s) {missing}; all six are needed")
    unknown = sorted(set(responses) - set(WGSS_DOMAINS))
    if unknown:
        raise StatsError(f"unknown WG-SS domain(s) {unknown}; expected {list(WGSS_DOMAINS)}")
    n: int | None = None
    cols = []
    for d in WGSS_DOMAINS:
        col = _responses(d, responses[d], _DIFFICULTY_CODES, n)
        n = col.size
        cols.append(col)
    codes = np.column_stack(cols)
    answered = np.isfinite(codes).sum(axis=1)
    sum_234 = np.sum(codes >= 2, axis=1)
    sum_34 = np.sum(codes >= 3, axis=1)
    any_4 = np.any(codes == 4, axis=1)
    some = answered > 0
    return WGSSResult(
        disability1=_indicator(sum_234 >= 1, some),
        disability2=_indicator((sum_234 >= 2) | (sum_34 >= 1), some),
        disability3=_indicator(sum_34 >= 1, some),
        disability4=_indicator(any_4, some),
        sum_234=sum_234.astype(np.int64),
        sum_34=sum_34.astype(np.int64),
        domains_answered=answered.astype(np.int64),
    )


def cfm_domain_difficulty(domain: str, *items: ArrayLike) -> NDArray[np.float64]:
    """Functional difficulty (1.0 / 0.0 / NaN) in one CFM 5–17 domain from its item(s).

    Difficulty domains: 1 when any item is 3 or 4; frequency domains (anxiety, depression): 1 when the
    item is 1 (daily).  0 when at least one item was answered and none meets the cut-off; NaN when none
    was answered.
    """
    if domain in CFM_FREQUENCY_DOMAINS:
        valid = _FREQUENCY_CODES
    elif domain in CFM_DIFFICULTY_DOMAINS:
        valid = _DIFFICULTY_CODES
    else:
        known = list(CFM_DIFFICULTY_DOMAINS + CFM_FREQUENCY_DOMAINS)
        raise StatsError(f"unknown Child Functioning Module domain {domain!r}; expected one of {known}")
    if not items:
        raise StatsError(f"{domain}: no items given")
    n: int | None = None
    cols = []
    for i, item in enumerate(items):
        col = _responses(f"{domain} item {i + 1}", item, valid, n)
        n = col.size
        cols.append(col)
    codes = np.column_stack(cols)
    meets = codes == 1 if domain in CFM_FREQUENCY_DOMAINS else codes >= 3
    return _indicator(np.any(meets, axis=1), np.any(np.isfinite(codes), axis=1))


@dataclass(frozen=True)
class CFMResult:
    """Per-domain difficulty and "functional difficulty in at least one domain" (1.0 / 0.0 / NaN)."""

    domains: Mapping[str, NDArray[np.float64]]
    any_domain: NDArray[np.float64]


def cfm_5_17(items: Mapping[str, ArrayLike], age: ArrayLike | None = None) -> CFMResult:
    """Child Functioning Module (5–17) identifiers.

    ``items`` maps each domain to one response array, or to a 2-D array / list of equal-length item
    arrays (e.g. the four walking items).  Domains not supplied are left out of the result.
    ``any_domain`` is 1 when any domain shows difficulty, NaN when every supplied domain is missing,
    else 0.  With ``age``, children outside 5–17
    get NaN everywhere (the module is not valid for them).
    """
    if not items:
        raise StatsError("cfm_5_17: no domains given")
    domains: dict[str, NDArray[np.float64]] = {}
    for domain, value in items.items():
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise StatsError(f"{domain}: expected numeric codes (one array, or one per item)") from exc
        parts: list[ArrayLike] = list(arr) if arr.ndim == 2 else [arr]
        domains[domain] = cfm_domain_difficulty(domain, *parts)
    sizes = {v.size for v in domains.values()}
    if len(sizes) != 1:
        raise StatsError(f"cfm_5_17: domains have different numbers of children {sorted(sizes)}")
    stacked = np.column_stack(list(domains.values()))
    any_domain = _indicator(np.any(stacked == 1, axis=1), np.any(np.isfinite(stacked), axis=1))
    if age is not None:
        ages = np.atleast_1d(np.asarray(age, dtype=float))
        if ages.size != stacked.shape[0]:
            raise StatsError(f"age: expected {stacked.shape[0]} values, got {ages.size}")
        outside = ~((ages >= 5) & (ages <= 17))
        domains = {k: np.where(outside, np.nan, v) for k, v in domains.items()}
        any_domain = np.where(outside, np.nan, any_domain)
    return CFMResult(domains=domains, any_domain=any_domain)

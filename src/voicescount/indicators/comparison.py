"""Community estimates beside official figures: the difference, its uncertainty and a verdict in vi/en.

For each published CGD estimate of a definition's latest run with an official counterpart for the same
indicator, area and disaggregation, the official observation of the *nearest period* is used (and the
period stated). The official SE is the published one, else backed out of a published interval, else the
official figure is treated as fixed (``voicescount.stats.compare``). p-values are adjusted across all the
groups of the indicator (Holm by default), so "larger than sampling error" is not an artefact of looking
at many groups.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicescount.indicators.models import Estimate, EstimateRun, IndicatorDefinition, OfficialObservation
from voicescount.stats.compare import compare_estimates, verdicts

PERCENT_UNITS = {"PT", "PERCENT", "%", "PC"}
NATIONAL = {"VN": "VN"}


@dataclass(frozen=True)
class ComparisonRow:
    key: str
    area_code: str
    cgd: Estimate
    official: OfficialObservation
    official_value: float  # on the estimate's scale (a fraction for proportions)
    difference: float
    se: float
    ci_low: float
    ci_high: float
    p_adjusted: float
    direction: str
    official_se_basis: str
    text_en: str
    text_vi: str


def _split_area(estimate: Estimate, country: str) -> tuple[str, str]:
    """(area code, key without the area dimension) of a CGD estimate."""
    dims = dict(estimate.dimensions)
    area = dims.pop("REGION", None) or dims.pop("AREA", None) or country
    key = "|".join(f"{k}={v}" for k, v in sorted(dims.items())) or "_T"
    return area, key


def _comparable(observation: OfficialObservation, definition: IndicatorDefinition) -> bool:
    """Same unit: a proportion (stored as a fraction) against a percentage, anything else against its
    own unit. An official figure without a unit is taken to be in the definition's unit."""
    if not observation.unit:
        return True
    if definition.kind == IndicatorDefinition.Kind.PROPORTION:
        return observation.unit.upper() in PERCENT_UNITS
    return observation.unit.upper() == (definition.unit or "").upper()


def _scale(observation: OfficialObservation, definition: IndicatorDefinition) -> float:
    return 0.01 if definition.kind == IndicatorDefinition.Kind.PROPORTION else 1.0


def _nearest(observations: list[OfficialObservation], year: int) -> OfficialObservation:
    def distance(o: OfficialObservation) -> tuple[int, int]:
        try:
            y = int(str(o.period)[:4])
        except ValueError:
            return (10_000, 0)
        return (abs(y - year), -y)  # ties: the later period

    return min(observations, key=distance)


def _texts(direction: str, points: float | None, basis: str, period: str) -> tuple[str, str]:
    size_en = f"{points:.1f} points" if points is not None else "a difference"
    size_vi = f"{points:.1f} điểm phần trăm".replace(".", ",") if points is not None else "một khoảng"
    if direction in ("lower", "higher"):
        word_vi = "thấp hơn" if direction == "lower" else "cao hơn"
        en = f"Community data show a rate {size_en} {direction} than the official figure ({period}); "
        en += "the difference is larger than sampling error would explain."
        vi = f"Dữ liệu cộng đồng cho thấy tỷ lệ {word_vi} {size_vi} so với số liệu chính thức ({period}); "
        vi += "chênh lệch lớn hơn mức sai số chọn mẫu có thể giải thích."
    else:
        en = f"Community data and the official figure ({period}) agree within sampling error "
        en += f"(difference {size_en})."
        vi = f"Dữ liệu cộng đồng và số liệu chính thức ({period}) khác nhau không quá sai số chọn mẫu "
        vi += f"(chênh lệch {size_vi})."
    if basis == "fixed":
        en += " The official figure's uncertainty is not published; it is treated as exact."
        vi += " Số liệu chính thức không công bố sai số nên được coi là chính xác."
    return en, vi


def compare_run(run: EstimateRun, *, country: str = "VN", adjust: str = "holm") -> list[ComparisonRow]:
    """Every comparable group of ``run`` with its verdict (empty when there is no official counterpart)."""
    definition = run.definition
    official = [
        o
        for o in OfficialObservation.objects.filter(indicator=definition.indicator)
        if _comparable(o, definition)
    ]
    if not official:
        return []
    by_group: dict[tuple[str, str], list[OfficialObservation]] = {}
    for o in official:
        by_group.setdefault((o.area_code, o.key), []).append(o)
    year = definition.study.period_end.year
    pairs = []
    for estimate in run.estimates.all():
        if estimate.suppressed or estimate.estimate is None or estimate.se is None:
            continue
        group = _split_area(estimate, country)
        if group in by_group:
            pairs.append((group, estimate, _nearest(by_group[group], year)))
    if not pairs:
        return []
    scales = [_scale(o, definition) for _, _, o in pairs]

    def scaled(values, default=None):
        return [default if v is None else v * s for v, s in zip(values, scales, strict=True)]

    comparison = compare_estimates(
        [e.estimate for _, e, _ in pairs],
        [e.se for _, e, _ in pairs],
        scaled([o.value for _, _, o in pairs]),
        scaled([o.se for _, _, o in pairs], float("nan")),
        official_low=scaled([o.ci_low for _, _, o in pairs], float("nan")),
        official_high=scaled([o.ci_high for _, _, o in pairs], float("nan")),
        adjust=adjust,  # type: ignore[arg-type]
    )
    proportion = definition.kind == IndicatorDefinition.Kind.PROPORTION
    rows = []
    for i, (verdict, ((area, key), estimate, obs)) in enumerate(
        zip(verdicts(comparison, proportion=proportion), pairs, strict=True)
    ):
        en, vi = _texts(verdict.direction, verdict.magnitude_points, verdict.official_se_basis, obs.period)
        if obs.illustrative:
            en += " (Illustrative official figure, not a published statistic.)"
            vi += " (Số liệu chính thức minh họa, không phải số liệu đã công bố.)"
        rows.append(
            ComparisonRow(
                key=key,
                area_code=area,
                cgd=estimate,
                official=obs,
                official_value=obs.value * scales[i],
                difference=float(comparison.difference[i]),
                se=float(comparison.se[i]),
                ci_low=float(comparison.ci_low[i]),
                ci_high=float(comparison.ci_high[i]),
                p_adjusted=float(comparison.p_adjusted[i]),
                direction=verdict.direction,
                official_se_basis=verdict.official_se_basis,
                text_en=en,
                text_vi=vi,
            )
        )
    return rows

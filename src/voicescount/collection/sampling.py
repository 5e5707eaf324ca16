"""The sampling design of a study: the one place it is read.

Computation (``indicators.dataset``), fingerprints (``indicators.compute``), the public study page
(``publishing.studies``) and reports all take the design from :func:`design_of`, so that what a page
says about the design is what the estimates used.

The design is R's ``svydesign(ids = ~psu + ssu, strata = ~stratum, weights = ~weight,
fpc = ~fpc + fpc2, nest = TRUE)`` with ``options(survey.lonely.psu = <lonely_psu>)``:

* weights — the sampling weight of each respondent; without them every respondent counts the same
  (or, with a finite population correction, ``N_h/n_h`` as R derives them);
* strata — the first-stage stratum; PSU codes are taken within their stratum (``nest = TRUE``);
* first-stage units (PSUs, e.g. communes) and second-stage units (SSUs, e.g. households within a
  commune); without a PSU variable every respondent is its own unit (``ids = ~1``);
* finite population correction per stage, each given per respondent either as the population size
  (number of PSUs in the stratum, of SSUs in the PSU: all values >= 1) or as the sampling fraction
  (all values <= 1), as R's ``fpc =``; the second stage enters the variance only with its
  correction, as in R. Units taken with certainty (self-representing PSUs) have a fraction of 1 (or a
  population size equal to the number sampled): they add no first-stage variance;
* the lonely-PSU rule: what a stratum with a single PSU contributes (R's ``survey.lonely.psu``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from voicescount.stats.design import LONELY_PSU_OPTIONS

DEFAULT_LONELY_PSU = "adjust"
"""A stratum with a single PSU is centred at the grand mean (R's ``"adjust"``): community surveys
often end with a stratum where only one commune could be visited, and R's default (``"fail"``)
would refuse every estimate of the study. Chosen per study (``Study.lonely_psu``)."""


@dataclass(frozen=True)
class SamplingDesign:
    """The names of a study's design variables (blank: not part of the design) and its lonely-PSU rule."""

    weight: str = ""
    strata: str = ""
    psu: str = ""
    ssu: str = ""
    fpc: str = ""
    fpc2: str = ""
    lonely_psu: str = DEFAULT_LONELY_PSU

    def __post_init__(self) -> None:
        if self.lonely_psu not in LONELY_PSU_OPTIONS:
            raise ValueError(f"lonely_psu must be one of {LONELY_PSU_OPTIONS}, not {self.lonely_psu!r}")

    @property
    def variables(self) -> tuple[str, ...]:
        """The questions the design reads, in a fixed order."""
        return tuple(v for v in (self.weight, self.strata, self.psu, self.ssu, self.fpc, self.fpc2) if v)

    @property
    def second_stage(self) -> bool:
        """Whether the second stage enters the variance (it needs both its units and its correction)."""
        return bool(self.psu and self.ssu and self.fpc and self.fpc2)

    @property
    def simple_random(self) -> bool:
        """No strata, no clusters: a simple random sample (weighted or not)."""
        return not (self.strata or self.psu)

    def as_dict(self) -> dict[str, Any]:
        """Every element, by name (what a fingerprint or a report records)."""
        return asdict(self)

    def r_call(self, data: str = "data") -> str:
        """The equivalent ``svydesign`` call in R (variable names as in the analysis extract)."""
        ids = " + ".join(v for v in (self.psu or "1", self.ssu if self.second_stage else "") if v)
        parts = [f"ids = ~{ids}"]
        if self.strata:
            parts.append(f"strata = ~{self.strata}")
        if self.weight:
            parts.append(f"weights = ~{self.weight}")
        if self.fpc:
            parts.append(
                f"fpc = ~{' + '.join(v for v in (self.fpc, self.fpc2 if self.second_stage else '') if v)}"
            )
        parts.append(f"data = {data}")
        if self.strata and self.psu:
            parts.append("nest = TRUE")
        return f"svydesign({', '.join(parts)})"


def design_of(study: Any) -> SamplingDesign:
    """The sampling design of ``study`` (a ``collection.Study``)."""
    return SamplingDesign(
        weight=study.weight_variable,
        strata=study.strata_variable,
        psu=study.psu_variable,
        ssu=study.ssu_variable if study.psu_variable else "",
        fpc=study.fpc_variable,
        fpc2=study.fpc2_variable if study.psu_variable and study.ssu_variable and study.fpc_variable else "",
        lonely_psu=study.lonely_psu or DEFAULT_LONELY_PSU,
    )

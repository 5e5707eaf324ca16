"""Official figures to compare the demo study's estimates with — ALL ILLUSTRATIVE.

No published statistic is reproduced here: the values were chosen by hand to be plausible for Viet Nam
around 2022, to agree with the demo's citizen-generated estimates for some indicators and to differ for
others, so that the comparison page has something to say. Every entry carries ``illustrative: True`` and
says so in its ``source``. Replace them with published figures, cited exactly, before any real use.

Each entry names the demo definition it is compared with (``definition``), the global indicator, a
series code (the UN SDG Global Database's naming, given for orientation only), the area (``VN`` or a
survey region ``VN-R3-N``/``-C``/``-S``), the period and the disaggregation ``key`` in canonical form:
``_T`` for the total, otherwise ``CODE_LIST=CODE`` pairs sorted by code-list name and joined by ``|``.
Uncertainty is given as a standard error (``se``), as an interval (``ci_low``/``ci_high``), or not at all
(the comparison then treats the official figure as fixed).
"""

from __future__ import annotations

from typing import Any

SOURCE = "Illustrative figure for the VoicesCount demo — not a published statistic"


def _series(
    definition: str,
    indicator: str,
    series: str,
    rows: list[tuple[str, str, float, dict[str, float]]],
) -> list[dict[str, Any]]:
    return [
        {
            "definition": definition,
            "indicator": indicator,
            "series": series,
            "area_code": area,
            "period": "2022",
            "key": key,
            "value": value,
            **uncertainty,
            "unit": "PT",
            "source": SOURCE,
            "illustrative": True,
        }
        for area, key, value, uncertainty in rows
    ]


OFFICIAL: list[dict[str, Any]] = [
    *_series(
        "sp-coverage",
        "1.3.1",
        "SI_COV_BENFTS",
        [
            ("VN", "_T", 16.5, {"se": 0.9}),
            ("VN", "SEX=F", 17.2, {"se": 1.1}),
            ("VN", "SEX=M", 15.7, {"se": 1.1}),
        ],
    ),
    *_series(
        "poor-household-list",
        "1.2.2",
        "SD_MDP_MUHC",
        [
            ("VN", "_T", 11.8, {"ci_low": 11.2, "ci_high": 12.4}),
            ("VN", "URBANISATION=U", 4.9, {"ci_low": 4.3, "ci_high": 5.5}),
            ("VN", "URBANISATION=R", 15.9, {"ci_low": 15.1, "ci_high": 16.7}),
            ("VN-R3-N", "_T", 10.6, {"ci_low": 9.7, "ci_high": 11.5}),
            ("VN-R3-C", "_T", 16.8, {"ci_low": 15.7, "ci_high": 17.9}),
            ("VN-R3-S", "_T", 9.1, {"ci_low": 8.2, "ci_high": 10.0}),
        ],
    ),
    *_series(
        "lower-secondary-completion",
        "4.1.2",
        "SE_TOT_CPLR",
        [
            ("VN", "_T", 90.4, {"se": 0.8}),
            ("VN", "SEX=F", 92.1, {"se": 1.0}),
            ("VN", "SEX=M", 88.8, {"se": 1.1}),
        ],
    ),
    *_series(
        "youth-neet",
        "8.6.1",
        "SL_TLF_NEET",
        [
            ("VN", "_T", 11.6, {"se": 0.4}),
            ("VN", "SEX=F", 13.4, {"se": 0.6}),
            ("VN", "SEX=M", 9.9, {"se": 0.5}),
            ("VN", "URBANISATION=U", 10.3, {"se": 0.6}),
            ("VN", "URBANISATION=R", 12.4, {"se": 0.5}),
            ("VN", "SEX=F|URBANISATION=R", 14.6, {"se": 0.8}),
        ],
    ),
    *_series(
        "unemployment-rate",
        "8.5.2",
        "SL_TLF_UEM",
        [
            ("VN", "_T", 2.3, {"se": 0.1}),
            ("VN", "SEX=F", 2.2, {"se": 0.1}),
            ("VN", "SEX=M", 2.4, {"se": 0.1}),
            ("VN", "URBANISATION=U", 2.8, {"se": 0.2}),
            ("VN", "URBANISATION=R", 2.0, {"se": 0.1}),
        ],
    ),
    *_series(
        "financial-account",
        "8.10.2",
        "FB_BNK_ACCSS",
        [
            ("VN", "_T", 56.0, {"ci_low": 52.6, "ci_high": 59.4}),
            ("VN", "SEX=F", 55.1, {}),
            ("VN", "SEX=M", 57.0, {}),
        ],
    ),
    *_series(
        "internet-use",
        "17.8.1",
        "IT_USE_ii99",
        [
            ("VN", "_T", 74.2, {}),
            ("VN", "SEX=F", 72.9, {}),
            ("VN", "SEX=M", 75.6, {}),
            ("VN", "URBANISATION=U", 84.1, {}),
            ("VN", "URBANISATION=R", 68.4, {}),
        ],
    ),
    *_series(
        "birth-registration",
        "16.9.1",
        "SG_REG_BRTH",
        [
            ("VN", "_T", 98.0, {"ci_low": 97.5, "ci_high": 98.5}),
            ("VN", "URBANISATION=U", 98.9, {"ci_low": 98.3, "ci_high": 99.5}),
            ("VN", "URBANISATION=R", 97.5, {"ci_low": 96.8, "ci_high": 98.2}),
            ("VN", "ETHNICITY=EM", 93.9, {"ci_low": 92.1, "ci_high": 95.7}),
        ],
    ),
    *_series(
        "mobile-phone-ownership",
        "5.b.1",
        "IT_MOB_OWN",
        [("VN", "_T", 86.3, {}), ("VN", "SEX=F", 85.4, {}), ("VN", "SEX=M", 87.3, {})],
    ),
]

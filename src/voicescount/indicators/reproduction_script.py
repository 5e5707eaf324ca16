"""The texts of a reproduction pack (``indicators.reproduction``): ``reproduce.R`` and ``README.txt``.

``reproduce.R`` is a fixed R program (``R_BODY``) after a header that states the run: the definition as
written in VoicesCount (in comments), the estimator, the dimensions, the column types of the extract,
the lonely-PSU rule and the ``svydesign`` call (``collection.sampling.SamplingDesign.r_call``). It needs
R's ``survey`` package only, and does what the computation does (``indicators.estimation``,
``stats.domains``): the universe and an answer form a domain of the design (``design[rows, ]`` keeps
every PSU in the variance); the total and each published breakdown come from ``svyciprop(method =
…)`` with the definition's interval method (``R_METHODS``: ``interval_method``) / ``svymean`` /
``svytotal`` / ``svyratio`` through ``svyby``; proportions take the domain's degrees of freedom
(``svyciprop``'s ``degf`` of each subset), the other kinds the design's (``confint(df = degf(design))``);
a proportion of exactly 0 % or 100 % takes the Wilson interval on the unweighted n, and one whose
method gives no bound (R's NA) the Wilson interval on the effective n
(``estimation._with_boundary_interval``), marked "Wilson" in the table. Estimates and SEs are compared
to a relative 1e-8, intervals too but the likelihood one (``CI_TOLERANCE``).
"""

from __future__ import annotations

import json
from typing import Any

from voicescount.indicators.estimation import TOTAL

SURVEY_VERSION = "4.1.1"  # the version CI checks the packs with (Debian's r-cran-survey)
#: A definition's interval method (``IntervalMethod``) → ``svyciprop(method=)``; Wilson's is not one of
#: svyciprop's: the script computes it from svymean's estimate and SE (``vc_wilson``).
R_METHODS = {"logit": "logit", "likelihood": "likelihood", "asin": "asin", "beta": "beta", "wald": "mean"}
#: svyciprop's likelihood interval is profiled on a glm fitted to glm's default epsilon (1e-8), whose
#: model variance lags the converged fit: its bounds differ from the converged ones VoicesCount computes
#: by up to 2.7e-4 (relative) on R's api data (tests/stats/test_estimators_vs_r.py). The other methods'
#: intervals are compared to 1e-8.
CI_TOLERANCE = {"likelihood": 5e-4}


def _r_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid R string literal


def _r_vector(values: list[str]) -> str:
    return f"c({', '.join(_r_string(v) for v in values)})" if values else "character(0)"


def _comment(label: str, text: str) -> str:
    """``text`` as comment lines: every line of it after a ``#``, so that no text a user wrote (an
    expression may hold a line break) can become R code that a reviewer runs."""
    lines = str(text or "—").splitlines() or ["—"]
    return "\n".join([f"#   {label}{lines[0]}", *(f"#     {line}" for line in lines[1:])])


def reproduce_script(s: dict[str, Any]) -> str:
    """``reproduce.R`` for the settings ``s`` made by ``reproduction.write_pack``."""
    definition, run, design = s["definition"], s["run"], s["design"]
    method = definition.interval_method if definition.kind == "proportion" else "wald"
    expressions = [("universe", definition.universe or "(everyone)")]
    if definition.kind == "proportion":
        expressions.append(("numerator", definition.numerator))
    else:
        expressions.append(("value", definition.value))
    if definition.kind == "ratio":
        expressions.append(("denominator", definition.denominator))
    derived = dict(definition.study.derived_variables.values_list("name", "expression"))
    lines = [
        "# VoicesCount reproduction pack: recompute a published definition with R's survey package.",
        "#",
        f"# Study: {definition.study.slug}   Definition: {definition.code} (indicator "
        f"{definition.indicator.code}), version {run.definition_version}",
        f"# Run: {run.pk} of {run.started:%Y-%m-%d %H:%M} UTC, VoicesCount {run.code_version}; "
        f"analysis snapshot sha256 {run.snapshot.content_hash}",
        "#",
        "# Run it in this folder:   Rscript reproduce.R",
        "# It prints a table of every published estimate, SE, confidence interval and n beside R's, then",
        '# "ALL EQUAL" (exit status 0) or the differences beyond a relative 1e-8 (exit status 1)'
        + (f"; intervals {CI_TOLERANCE[method]:g}." if method in CI_TOLERANCE else "."),
        "# CONFIDENTIAL: extract.csv is microdata of the study's respondents (no names, no contacts, no",
        "# submission ids). Keep it within the study's analysts and reviewers.",
        "#",
        f"# The definition, as written in VoicesCount ({s['kind']}):",
        *(_comment(f"{name}: ", text) for name, text in expressions),
        *(
            [f"#   confidence interval: {method} (the definition's interval method)"]
            if definition.kind == "proportion"
            else []
        ),
        "# Its dimensions (code list: source question and how answers map to codes):",
        *(f"#   {json.dumps(d, ensure_ascii=False)}" for d in definition.dimensions),
        "# The study's derived variables (VoicesCount's expression language):",
        *([_comment(f"{name} = ", text) for name, text in sorted(derived.items())] or ["#   none"]),
        "#",
        "# R does not need that expression language: VoicesCount wrote what it evaluated into extract.csv.",
        "#   vc_y   the analysis variable per respondent (1/0 for a proportion), blank outside the universe",
        "#          or without an answer;",
        "#   vc_x   (ratios) the denominator;",
        "#   vc_<CODE LIST>  each dimension's code, blank where the answer maps to no code (such rows count",
        "#          in the total and the other breakdowns, never in this one's cells);",
        f"#   then the questions they come from ({', '.join(s['raw'])}),",
        "#   as the analysis snapshot holds them, so that the derivation can be checked by hand.",
        "",
        "vc <- list(",
        f"  kind = {_r_string(s['kind'])},",
        f"  total_key = {_r_string(TOTAL)},",
        f"  dimensions = {_r_vector(s['dimensions'])},",
        f"  numeric = {_r_vector(s['numeric'])},",
        f"  lonely_psu = {_r_string(design.lonely_psu)},",
        f"  interval = {_r_string(method)},  # a proportion's confidence interval",
        f"  svyciprop = {_r_string(R_METHODS.get(method, ''))},  # its svyciprop method ('': computed here)",
        "  tolerance = 1e-8,",
        f"  ci_tolerance = {CI_TOLERANCE.get(method, 1e-8):g}",
        ")",
        "",
        "suppressPackageStartupMessages(library(survey))",
        "# What a stratum with a single PSU contributes: the study's rule, as in the computation.",
        f"options(survey.lonely.psu = {_r_string(design.lonely_psu)})",
        "options(width = 200)  # one line per cell in the printed table",
        "",
    ]
    reading = [
        'extract <- vc_read("extract.csv")',
        "",
        "# The study's sampling design exactly as the computation used it (collection.sampling: ids, strata,",
        "# weights, fpc per stage; nest = TRUE: PSU codes are taken within their stratum).",
        f"design <- {design.r_call(data='extract')}",
        "",
    ]
    return "\n".join(lines) + R_FUNCTIONS + "\n".join(reading) + R_BODY


R_FUNCTIONS = r"""
vc_col <- function(d) paste0("vc_", d)

# extract.csv: every column as text but the numbers the design and the estimators read; a blank
# number is NA, a blank dimension code is NA (no code), a blank stratum or PSU stays "" (as computed).
vc_read <- function(file) {
  header <- names(read.csv(file, nrows = 1, check.names = FALSE, encoding = "UTF-8"))
  classes <- setNames(rep("character", length(header)), header)
  classes[intersect(header, vc$numeric)] <- "numeric"
  classes["row"] <- "integer"
  data <- read.csv(file, check.names = FALSE, colClasses = classes, na.strings = character(0),
                   encoding = "UTF-8")
  for (d in vc$dimensions) data[[vc_col(d)]][data[[vc_col(d)]] == ""] <- NA
  data
}

"""

R_BODY = r"""
# The universe with an answer (for a ratio: both terms) is a domain of the design, not a new sample:
# design[rows, ] keeps every PSU of the design in the variance, as the computation does.
in_analysis <- !is.na(extract$vc_y)
if (vc$kind == "ratio") in_analysis <- in_analysis & !is.na(extract$vc_x)
analysed <- design[in_analysis, ]
design_df <- degf(design)  # means, totals and ratios: the design's degrees of freedom

# Canonical cell keys as VoicesCount stores them: "AGE=Y16T24|SEX=F", or "_T" for the total.
vc_key <- function(frame, combo) {
  if (!length(combo)) return(rep(vc$total_key, nrow(frame)))
  combo <- sort(combo, method = "radix")
  do.call(paste, c(lapply(combo, function(d) paste0(d, "=", as.character(frame[[vc_col(d)]]))),
                   sep = "|"))
}

# A proportion of exactly 0 or 1 has no interval by the usual methods, and one whose method finds no
# bound (the likelihood profile missing its cut-off: NA) has half of one: the computation gives the
# Wilson interval on the unweighted n (the effective n where the SE is not 0) with t(domain df),
# clipped to [0, 1]. It is also the "wilson" interval method, unclipped.
vc_wilson <- function(p, se, df, n, clip = TRUE) {
  n_eff <- if (se > 0) p * (1 - p) / se^2 else n
  z <- if (is.finite(df) && df > 0) qt(0.975, df) else if (is.infinite(df)) qnorm(0.975) else NaN
  z2n <- z^2 / n_eff
  centre <- (p + z2n / 2) / (1 + z2n)
  half <- z * sqrt(p * (1 - p) / n_eff + z2n / (4 * n_eff)) / (1 + z2n)
  bounds <- c(centre - half, centre + half)
  if (clip) pmin(pmax(bounds, 0), 1) else bounds
}

# svyglm's warning for an all-0 or all-1 cell; that cell's interval is Wilson's (above).
vc_quiet <- function(expr) withCallingHandlers(expr, warning = function(w) {
  if (grepl("fitted probabilities numerically 0 or 1", conditionMessage(w))) invokeRestart("muffleWarning")
})

# A proportion's estimate, SE and interval by the definition's method, for the total (combo empty) or
# through svyby.
vc_proportion <- function(d, combo) {
  if (!length(combo)) {
    if (nzchar(vc$svyciprop)) {
      p <- vc_quiet(svyciprop(~vc_y, d, method = vc$svyciprop))
      r <- c(p[1], sqrt(attr(p, "var")[1]), attr(p, "ci"))
    } else {  # Wilson on the effective n, t(domain df)
      m <- svymean(~vc_y, d)
      r <- c(coef(m), SE(m), vc_wilson(coef(m)[[1]], SE(m)[[1]], degf(d), NA, clip = FALSE))
    }
    return(data.frame(key = vc$total_key, estimate = unname(r[1]), se = unname(r[2]),
                      ci_low = unname(r[3]), ci_high = unname(r[4]), stringsAsFactors = FALSE))
  }
  by <- as.formula(paste("~", paste(sprintf("`%s`", vc_col(combo)), collapse = " + ")))
  if (nzchar(vc$svyciprop)) {
    b <- vc_quiet(svyby(~vc_y, by, d, svyciprop, method = vc$svyciprop, vartype = c("se", "ci")))
    ci <- cbind(b$ci_l, b$ci_u)
  } else {
    b <- svyby(~vc_y, by, d, svymean)
    keys <- vc_key(d$variables, combo)
    ci <- t(vapply(seq_len(nrow(b)), function(i) {
      cell <- d[keys == vc_key(b[i, , drop = FALSE], combo), ]
      vc_wilson(coef(b)[[i]], SE(b)[[i]], degf(cell), NA, clip = FALSE)
    }, numeric(2)))
  }
  data.frame(key = vc_key(b, combo), estimate = unname(coef(b)), se = unname(SE(b)),
             ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]), stringsAsFactors = FALSE)
}

# Estimates of the published cells of one breakdown (combo: the dimensions it crosses; none: the
# total). Only the rows of those cells are kept (a domain again: the design's PSUs stay in the
# variance), so a suppressed cell is never estimated at all.
vc_cells <- function(combo, wanted) {
  d <- analysed
  if (length(combo)) {  # rows without a code on one of these dimensions are in none of its cells
    keep <- Reduce(`&`, lapply(combo, function(v) !is.na(d$variables[[vc_col(v)]])))
    keep[keep] <- vc_key(d$variables[keep, , drop = FALSE], combo) %in% wanted
    d <- d[keep, ]
  }
  keys <- vc_key(d$variables, combo)
  counted <- weights(d) > 0  # n: respondents with a non-zero weight
  if (vc$kind == "proportion") {
    # Cells where every answer is 0 (or 1) are left out of svyciprop (its likelihood method stops
    # there with an error) and take the Wilson interval below.
    low <- tapply(d$variables$vc_y[counted], keys[counted], min)
    high <- tapply(d$variables$vc_y[counted], keys[counted], max)
    edges <- names(low)[high == 0 | low == 1]
    inner <- !(keys %in% edges)
    out <- if (any(inner)) vc_proportion(d[inner, ], combo) else NULL
    if (length(edges)) {
      out <- rbind(out, data.frame(key = edges, estimate = NA_real_, se = NA_real_, ci_low = NA_real_,
                                   ci_high = NA_real_, stringsAsFactors = FALSE))
    }
  } else if (!length(combo)) {
    r <- switch(vc$kind,
      mean = { m <- svymean(~vc_y, d); c(coef(m), SE(m), confint(m, df = design_df)) },
      total = { m <- svytotal(~vc_y, d); c(coef(m), SE(m), confint(m, df = design_df)) },
      ratio = {
        m <- svyratio(~vc_y, ~vc_x, d)
        c(coef(m), SE(m), coef(m) + c(-1, 1) * qt(0.975, design_df) * SE(m))
      })
    out <- data.frame(key = vc$total_key, estimate = unname(r[1]), se = unname(r[2]),
                      ci_low = unname(r[3]), ci_high = unname(r[4]), stringsAsFactors = FALSE)
  } else {
    by <- as.formula(paste("~", paste(sprintf("`%s`", vc_col(combo)), collapse = " + ")))
    b <- switch(vc$kind,
      mean = svyby(~vc_y, by, d, svymean),
      total = svyby(~vc_y, by, d, svytotal),
      ratio = svyby(~vc_y, by, d, svyratio, denominator = ~vc_x))
    ci <- confint(b, df = design_df)
    out <- data.frame(key = vc_key(b, combo), estimate = unname(coef(b)), se = unname(SE(b)),
                      ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]), stringsAsFactors = FALSE)
  }
  out$n <- as.integer(table(keys[counted])[out$key])
  out$interval <- if (vc$kind == "proportion") vc$interval else "Wald"
  if (vc$kind == "proportion") {
    edge <- out$key %in% edges
    for (i in which(edge)) {  # every answer 0 (or 1): Wilson on the unweighted n
      cell <- d[keys == out$key[i], ]
      out$estimate[i] <- low[[out$key[i]]]
      out$se[i] <- SE(svymean(~vc_y, cell))[[1]]
      out[i, c("ci_low", "ci_high")] <- vc_wilson(out$estimate[i], 0, degf(cell), out$n[i])
      out$interval[i] <- "Wilson"
    }
    for (i in which(!edge & !(is.finite(out$ci_low) & is.finite(out$ci_high)))) {
      cell <- d[keys == out$key[i], ]
      if (vc$interval == "logit") {
        # svyciprop's logit interval takes t(df) through 1 - 2 pnorm(qt(0.025, df)), which rounds to 1
        # at df = 1 (an upper bound of NaN): the same interval on the logit scale with t(df) itself.
        g <- vc_quiet(svyglm(vc_y ~ 1, cell, family = quasibinomial))
        half <- qt(0.975, degf(cell)) * sqrt(vcov(g)[1, 1])
        out[i, c("ci_low", "ci_high")] <- plogis(coef(g)[[1]] + c(-1, 1) * half)
        out$interval[i] <- "logit, t(df)"
      } else {  # the method gives no bound (R's NA): Wilson on the effective n
        out[i, c("ci_low", "ci_high")] <- vc_wilson(out$estimate[i], out$se[i], degf(cell), out$n[i])
        out$interval[i] <- "Wilson"
      }
    }
  }
  out
}

published <- read.csv("published.csv", check.names = FALSE, colClasses = "character",
                      na.strings = character(0), encoding = "UTF-8")
vc_num <- function(v) suppressWarnings(as.numeric(v))  # a blank number is NA
shown <- !startsWith(published$flag, "suppressed")
# Suppressed cells are not published: they are not estimated, compared or printed, and nothing is
# written to a file.
pub <- published[shown, , drop = FALSE]
combo_of <- lapply(seq_len(nrow(pub)), function(i) {
  vc$dimensions[vapply(vc$dimensions, function(d) pub[[d]][i] != "", TRUE)]
})
combos <- unique(combo_of)
ours <- do.call(rbind, lapply(combos, function(combo) {
  vc_cells(combo, pub$key[vapply(combo_of, identical, TRUE, combo)])
}))
mine <- ours[match(pub$key, ours$key), , drop = FALSE]

vc_difference <- function(a, b) {  # relative to max(1, |published|); NA on both sides is equal
  out <- abs(a - b) / pmax(1, abs(b))
  out[is.na(a) & is.na(b)] <- 0
  out[xor(is.na(a), is.na(b))] <- Inf
  out
}
fields <- c("estimate", "se", "ci_low", "ci_high", "n")
limits <- ifelse(fields %in% c("ci_low", "ci_high"), vc$ci_tolerance, vc$tolerance)
gaps <- sapply(fields, function(f) vc_difference(vc_num(mine[[f]]), vc_num(pub[[f]])))
gaps <- matrix(gaps, nrow = nrow(pub), dimnames = list(NULL, fields))
largest <- if (nrow(pub)) apply(gaps, 1, max) else numeric(0)
# each difference over its field's tolerance: a row is out when one of them exceeds 1
over <- if (nrow(pub)) apply(sweep(gaps, 2, limits, "/"), 1, max) else numeric(0)
table_out <- data.frame(
  cell = ifelse(pub$key == vc$total_key, "Total", pub$key),
  n = pub$n,
  published = pub$estimate,
  R = formatC(vc_num(mine$estimate), digits = 12, format = "g"),
  se_R = formatC(vc_num(mine$se), digits = 8, format = "g"),
  ci_R = paste0("[", formatC(vc_num(mine$ci_low), digits = 8, format = "g"), ", ",
                formatC(vc_num(mine$ci_high), digits = 8, format = "g"), "]"),
  interval = ifelse(is.na(mine$interval), "-", mine$interval),
  flag = ifelse(pub$flag == "published", "", pub$flag),
  largest_difference = formatC(largest, digits = 2, format = "e"),
  stringsAsFactors = FALSE)
cat(sprintf("VoicesCount reproduction: %s, %d published cell(s), %d suppressed (not compared, not shown)\n",
            vc$kind, nrow(pub), sum(!shown)))
print(table_out, row.names = FALSE, right = FALSE)
bad <- which(!(over <= 1))
if (length(bad)) {
  cat(sprintf("\n%d DIFFERENCE(S) beyond a relative %g%s:\n", length(bad), vc$tolerance,
              if (vc$ci_tolerance != vc$tolerance) sprintf(" (intervals %g)", vc$ci_tolerance) else ""))
  for (i in bad) {
    worst <- fields[which.max(gaps[i, ] / limits)]
    cat(sprintf("  %s: %s published %s, R %s\n", table_out$cell[i], worst, pub[[worst]][i],
                format(mine[[worst]][i], digits = 17)))
  }
  status <- 1L
} else {
  cat("\nALL EQUAL\n")
  status <- 0L
}
if (sys.nframe() == 0L) quit(save = "no", status = status)
"""


def readme_text(s: dict[str, Any]) -> str:
    """``README.txt`` (Vietnamese, then English) for the settings ``s``."""
    definition, run = s["definition"], s["run"]
    facts = {
        "study": definition.study.slug,
        "code": definition.code,
        "indicator": definition.indicator.code,
        "version": run.definition_version,
        "run": run.pk,
        "started": f"{run.started:%Y-%m-%d %H:%M} UTC",
        "code_version": run.code_version,
        "packed_by": s["version"],
        "snapshot": run.snapshot.content_hash,
        "rows": s["rows"],
        "survey": SURVEY_VERSION,
    }
    return VI_README.format(**facts) + "\n" + EN_README.format(**facts)


VI_README = """\
GÓI TÁI LẬP KẾT QUẢ — VoicesCount
=================================
BẢO MẬT: extract.csv là dữ liệu vi mô của người trả lời khảo sát (không có họ tên, liên lạc hay mã
phiếu). Chỉ dành cho cán bộ phân tích và người thẩm định của nghiên cứu; không công bố, không chia sẻ.

Nghiên cứu {study}, định nghĩa {code} (chỉ tiêu {indicator}), phiên bản định nghĩa {version}
Lần tính {run} lúc {started}, VoicesCount {code_version} (gói tạo bởi VoicesCount {packed_by})
Ảnh chụp dữ liệu phân tích (SHA-256): {snapshot} — {rows} người trả lời

Nội dung
  extract.csv    mỗi dòng một người trả lời (số thứ tự thay cho mã phiếu): biến phân tích do
                 VoicesCount tính (vc_y, vc_x), mã của từng chiều phân tổ (vc_...), các câu hỏi
                 gốc và biến thiết kế mẫu
  published.csv  các ước lượng đã công bố (ô bị ẩn chỉ có n và cờ, không có số)
  reproduce.R    tính lại bằng gói survey của R và so sánh với published.csv
  README.txt     tệp này

Cách chạy: cần R và gói survey (đã kiểm tra với survey {survey}; Debian/Ubuntu: apt-get install
r-base-core r-cran-survey; hoặc install.packages("survey")). Trong thư mục này:
    Rscript reproduce.R
Kết quả: bảng so sánh từng ô đã công bố, rồi "ALL EQUAL" (mã thoát 0) hoặc các khác biệt lớn hơn
1e-8 (tương đối; mã thoát 1). Các ô bị ẩn được tính nhưng không so sánh và không in ra.
"""

EN_README = """\
REPRODUCTION PACK — VoicesCount
===============================
CONFIDENTIAL: extract.csv is microdata of the study's respondents (no names, no contacts, no
submission ids). For the study's analysts and reviewers only; do not publish or share it.

Study {study}, definition {code} (indicator {indicator}), definition version {version}
Run {run} of {started}, VoicesCount {code_version} (pack made by VoicesCount {packed_by})
Analysis snapshot (SHA-256): {snapshot} — {rows} respondents

Contents
  extract.csv    one row per respondent (a row number instead of the submission id): the analysis
                 variables VoicesCount evaluated (vc_y, vc_x), each dimension's code (vc_...), the
                 questions they come from and the design variables
  published.csv  the published estimates (suppressed cells with their n and flag, no number)
  reproduce.R    recomputes them with R's survey package and compares with published.csv
  README.txt     this file

How to run: R with the survey package (checked with survey {survey}; Debian/Ubuntu: apt-get install
r-base-core r-cran-survey; or install.packages("survey")). In this folder:
    Rscript reproduce.R
It prints every published cell beside R's, then "ALL EQUAL" (exit status 0) or the differences beyond
a relative 1e-8 (exit status 1). Suppressed cells are computed but neither compared nor printed.
"""

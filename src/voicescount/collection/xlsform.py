"""Reading an XLSForm (the questionnaire) into a JSON-serialisable question tree and its XForm.

``parse_xlsform`` hands the file to pyxform (the reference XLSForm converter used by ODK and
KoboToolbox) and keeps what validation and analysis need from its output: every question's full
path (``grp/sub/q``), type, labels and hints per language, choices with their labels, the
``required``/``relevant``/``constraint``/``calculation`` expressions, appearance, and the group and
repeat it sits in. The generated XForm XML is kept too.

Untrusted uploads are checked before pyxform sees them: the file size, the zip's declared
uncompressed size (a "zip bomb" expands a few kilobytes into gigabytes) and password protection.
openpyxl reads the XML parts through defusedxml when it is installed (it is a dependency here), so
entity-expansion attacks are refused too.

``suggest_roles`` and ``detect_special_questions`` propose, from names and types, which questions
are personal data, survey design variables, disaggregation dimensions and consent questions; a
coordinator reviews them before import.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath
from typing import Any

from voicescount.collection.errors import InstrumentError

FormDefinition = dict[str, Any]
"""The parsed form: form_id, version, title, root, default_language, languages, questions, xform…"""

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_ZIP_ENTRIES = 2000
SUPPORTED = {".xlsx": ".xlsx", ".xlsm": ".xlsm", ".xls": ".xls", ".csv": ".csv", ".md": ".md"}
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_LANGUAGE = re.compile(r"^(?P<name>.*?)\s*\((?P<code>[A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*)\)\s*$")

TYPE_ALIASES = {
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "select one external": "select_one_external",
    "select one from file": "select_one_from_file",
    "select multiple from file": "select_multiple_from_file",
    "select_one_from_file": "select_one_from_file",
    "group": "begin_group",
    "repeat": "begin_repeat",
    "loop": "begin_group",
    "int": "integer",
    "string": "text",
    "phone number": "phone_number",
    "dateTime": "datetime",
    "date time": "datetime",
}
GROUP_TYPES = frozenset({"begin_group", "begin_repeat"})


# --- reading ----------------------------------------------------------------------------------------


def _check_container(filename: str, content: bytes, suffix: str) -> None:
    if not content:
        raise InstrumentError("The file is empty.", file=filename)
    if len(content) > MAX_FILE_BYTES:
        raise InstrumentError(
            f"The file is {len(content) / 1e6:.1f} MB; an XLSForm should be well under "
            f"{MAX_FILE_BYTES // 1_000_000} MB.",
            file=filename,
        )
    if content.startswith(_OLE_MAGIC) and _ENCRYPTED_MARK in content[:200_000]:
        raise InstrumentError(
            "The workbook is password-protected: save it without a password and upload it again.",
            file=filename,
        )
    if suffix in (".xlsx", ".xlsm"):
        if content.startswith(_OLE_MAGIC):
            raise InstrumentError(
                "This is an old-style .xls workbook (or an encrypted one) named .xlsx: save it as .xlsx.",
                file=filename,
            )
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                entries = archive.infolist()
        except zipfile.BadZipFile:
            raise InstrumentError(
                "The file is not a valid .xlsx workbook (corrupt or not a spreadsheet).", file=filename
            ) from None
        if len(entries) > MAX_ZIP_ENTRIES:
            raise InstrumentError(f"The workbook has {len(entries)} parts; refused as unsafe.", file=filename)
        expanded = sum(e.file_size for e in entries)
        if expanded > MAX_UNCOMPRESSED_BYTES:
            raise InstrumentError(
                f"The workbook would expand to {expanded / 1e6:.0f} MB; refused as unsafe (limit "
                f"{MAX_UNCOMPRESSED_BYTES // 1_000_000} MB).",
                file=filename,
            )


def parse_xlsform(filename: str, content: bytes) -> FormDefinition:
    """Parse an XLSForm (.xlsx, .xls, .csv or .md) given as bytes; see the module docstring.

    Raises ``InstrumentError`` naming the file (and pyxform's sheet/row where it gives one) when the
    file is unsafe, unreadable, password-protected or not a valid XLSForm.
    """
    suffix = PurePath(filename).suffix.lower()
    if suffix not in SUPPORTED:
        raise InstrumentError(
            f"Unsupported file type '{suffix or '(none)'}': upload an XLSForm as .xlsx, .xls, .csv or .md.",
            file=filename,
        )
    _check_container(filename, content, suffix)
    # pyxform is imported here, not with the module: importing records (which needs the rest of
    # this module) should not pay a third of a second for it.
    from pyxform.builder import create_survey_element_from_dict
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform

    warnings: list[str] = []
    try:
        workbook = get_xlsform(xlsform=content, file_type=SUPPORTED[suffix])
        data = workbook_to_json(
            workbook_dict=workbook,
            form_name=None,
            fallback_form_name=PurePath(filename).stem,
            default_language=None,
            warnings=warnings,
        )
        survey = create_survey_element_from_dict(data)
        xform = survey.to_xml(validate=False, pretty_print=True, warnings=warnings)
    except PyXFormError as exc:
        raise InstrumentError(f"Not a valid XLSForm: {exc}", file=filename) from None
    except InstrumentError:
        raise
    except Exception as exc:  # xlrd/openpyxl/csv errors on damaged files all mean the same to the user
        raise InstrumentError(
            f"The file could not be read as an XLSForm ({type(exc).__name__}: {exc}).", file=filename
        ) from None
    return _definition(data, xform, warnings)


# --- building the definition ------------------------------------------------------------------------


def _language_entry(key: str) -> dict[str, str]:
    m = _LANGUAGE.match(key)
    if m:
        return {"key": key, "name": m["name"] or m["code"], "code": m["code"].lower()}
    return {"key": key, "name": key, "code": ""}


class _Languages:
    """Collects the languages met in labels and gives each a short key (its code when it has one)."""

    def __init__(self, default: str) -> None:
        self.default = default
        self.entries: dict[str, dict[str, str]] = {}

    def key(self, language: str) -> str:
        if language not in self.entries:
            entry = _language_entry(language)
            taken = {e["short"] for e in self.entries.values()}
            entry["short"] = entry["code"] if entry["code"] and entry["code"] not in taken else language
            self.entries[language] = entry
        return self.entries[language]["short"]

    def texts(self, value: Any) -> dict[str, str]:
        if value is None or value == "":
            return {}
        if isinstance(value, dict):
            return {self.key(lang): str(text) for lang, text in value.items() if text not in (None, "")}
        return {self.key(self.default): str(value)}


def _normalise_type(raw: str) -> str:
    return TYPE_ALIASES.get(raw, raw.replace(" ", "_"))


def _required(bind: dict[str, Any]) -> bool | str:
    raw = bind.get("required")
    if raw is None or raw is False:
        return False
    if raw is True:
        return True
    text = str(raw).strip()
    if text.lower() in ("yes", "true", "true()", "1"):
        return True
    if text.lower() in ("", "no", "false", "false()", "0"):
        return False
    return text  # an XPath expression


_BOUND = re.compile(r"^\s*\.\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")


def numeric_range(constraint: str) -> dict[str, float | bool] | None:
    """Bounds stated by a simple constraint such as ``. >= 0 and . <= 120``, for documentation and
    analysis (``{"min": 0, "max": 120, "min_inclusive": True, "max_inclusive": True}``); ``None``
    when the constraint is anything else. Validation itself evaluates the full expression."""
    bounds: dict[str, float | bool] = {}
    for part in re.split(r"\s+and\s+", constraint.strip()):
        m = _BOUND.match(part)
        if m is None:
            return None
        op, value = m[1], float(m[2])
        side = "min" if op.startswith(">") else "max"
        if side in bounds:
            return None
        bounds[side] = int(value) if value.is_integer() else value
        bounds[f"{side}_inclusive"] = op.endswith("=")
    return bounds or None


def _definition(data: dict[str, Any], xform: str, warnings: list[str]) -> FormDefinition:
    default = data.get("default_language") or "default"
    languages = _Languages(default)
    choice_lists: dict[str, list[dict[str, Any]]] = data.get("choices") or {}
    questions: list[dict[str, Any]] = []
    meta: list[str] = []

    def choices_of(element: dict[str, Any]) -> list[dict[str, Any]]:
        listed = choice_lists.get(element.get("list_name") or element.get("itemset") or "")
        items = listed if listed is not None else element.get("choices") or []
        return [
            {"code": str(item.get("name", "")), "labels": languages.texts(item.get("label"))}
            for item in items
            if item.get("name") not in (None, "")
        ]

    def walk(children: list[dict[str, Any]], prefix: str, group: str, repeat: str) -> None:
        for element in children:
            name = str(element.get("name", ""))
            raw_type = str(element.get("type", ""))
            path = f"{prefix}/{name}" if prefix else name
            if not prefix and name == "meta" and raw_type == "group":
                meta.extend(f"meta/{c.get('name')}" for c in element.get("children", []))
                continue
            kind = _normalise_type(raw_type)
            bind = element.get("bind") or {}
            control = element.get("control") or {}
            question: dict[str, Any] = {
                "path": path,
                "name": name,
                "type": kind,
                "xlsform_type": raw_type,
                "labels": languages.texts(element.get("label")),
                "hints": languages.texts(element.get("hint")),
                "required": _required(bind),
                "relevant": str(bind.get("relevant") or ""),
                "constraint": str(bind.get("constraint") or ""),
                "constraint_message": languages.texts(bind.get("jr:constraintMsg")),
                "calculation": str(bind.get("calculate") or ""),
                "appearance": str(control.get("appearance") or ""),
                "default": str(element.get("default") or ""),
                "group": group,
                "repeat": repeat,
                "list_name": "",
                "choices": [],
            }
            if kind in ("integer", "decimal") and question["constraint"]:
                bounds = numeric_range(question["constraint"])
                if bounds:
                    question["range"] = bounds
            if element.get("parameters"):
                question["parameters"] = {str(k): str(v) for k, v in element["parameters"].items()}
            if element.get("choice_filter"):
                question["choice_filter"] = str(element["choice_filter"])
            if kind.startswith(("select_", "rank")) or element.get("list_name"):
                question["list_name"] = str(element.get("list_name") or element.get("itemset") or "")
                question["choices"] = choices_of(element)
            questions.append(question)
            if raw_type == "loop":
                # pyxform's "begin loop over <list>": one group per choice, each holding the loop's questions
                # (the XForm's paths are crop/rice/area, crop/maize/area).
                per_choice = [
                    {"type": "group", "name": column.get("name"), "label": column.get("label"),
                     "children": element.get("children", [])}
                    for column in element.get("columns", [])
                ]  # fmt: skip
                walk(per_choice, path, path, repeat)
            elif kind in GROUP_TYPES:
                walk(
                    element.get("children", []),
                    path,
                    path,
                    path if kind == "begin_repeat" else repeat,
                )

    walk(data.get("children", []), "", "", "")
    if not languages.entries or default in languages.entries:
        default_key = languages.key(default)
    else:  # pyxform names an unused "default" language when no default_language is set
        default_key = next(iter(languages.entries.values()))["short"]
    return {
        "form_id": str(data.get("id_string") or data.get("name") or ""),
        "version": str(data.get("version") or ""),
        "title": str(data.get("title") or ""),
        "root": str(data.get("name") or "data"),
        "default_language": default_key,
        "languages": [
            {"key": e["short"], "name": e["name"], "code": e["code"], "column": e["key"]}
            for e in languages.entries.values()
        ],
        "questions": questions,
        "meta": meta,
        "warnings": warnings,
        "xform": xform,
    }


# --- proposed roles ---------------------------------------------------------------------------------

_PERSONAL_TYPES = frozenset(
    {"geopoint", "geotrace", "geoshape", "phone_number", "image", "audio", "video", "file", "signature"}
)
_PERSONAL_WORDS = frozenset(
    {"name", "names", "ten", "phone", "mobile", "tel", "telephone", "email", "mail", "address", "sdt",
     "cmnd", "cccd", "passport", "signature", "gps", "location", "coordinates", "dob", "birthday"}
)  # fmt: skip
_PERSONAL_NAMES = re.compile(
    r"(ho_?ten|ho_va_ten|so_dien_thoai|dien_thoai|dia_chi|full_?name|first_?name|last_?name|"
    r"family_?name|surname|national_?id|id_?card|date_of_birth|birth_?date|ngay_sinh)"
)
_WG_ITEMS = re.compile(
    r"^(wg|wgss|wg_ss|wgss_ss)_?(seeing|see|vision|hearing|hear|walking|walk|mobility|remembering|"
    r"remember|cognition|selfcare|self_care|care|communicating|communication|communicate|upper_body|"
    r"anxiety|depression|pain|fatigue)\w*$"
)
_NAME_PATTERNS: list[tuple[str, str]] = [
    (r"(respondent|resp|participant|person|household|hh)_?(id|code|key|no|number)", "respondent_id"),
    (r"ma_ho|ma_nguoi_tra_loi|ma_doi_tuong", "respondent_id"),
    (r"w|wt|wgt|weights?|sample_?weight|final_?weight|survey_?weight|trong_so", "weight"),
    (r"stratum|strata|strat|stratum_?id|stratum_?code|tang|tang_mau", "stratum"),
    (r"psu|psu_?id|psu_?code|cluster|cluster_?id|cluster_?code|ea|ea_?code|cum|dia_ban", "psu"),
    (r"fpc\d*|population_?size|n_?pop", "fpc"),
    (r"(sex|gender|gioi_?tinh|gioi)(_?code)?", "dimension:SEX"),
    (r"age|age_?years|age_?group|respondent_?age|tuoi|do_tuoi|nhom_tuoi", "dimension:AGE"),
    (_WG_ITEMS.pattern.strip("^$"), "dimension:DISABILITY"),
    (r"disability|disability_?status|khuyet_tat|tinh_trang_khuyet_tat", "dimension:DISABILITY"),
    (
        r"province|province_?code|tinh|ma_tinh|tinh_thanh|area|area_?code|district|district_?code|huyen"
        r"|ma_huyen|commune|commune_?code|xa|ma_xa|admin[123](_?code)?",
        "dimension:AREA",
    ),
    (
        r"urban|rural|urban_?rural|urbani[sz]ation|thanh_thi_nong_thon|khu_vuc|locality_?type",
        "dimension:URBANISATION",
    ),
    (
        r"population_?group|pop_?group|target_?group|nhom_doi_tuong|nhom_dan_so",
        "dimension:POPULATION_GROUP",
    ),
    (r"ethnicity|ethnic|ethnic_?group|dan_toc", "dimension:ETHNICITY"),
]
_NAME_ROLES = [(re.compile(f"^(?:{pattern})$"), role) for pattern, role in _NAME_PATTERNS]
_CODE_LIKE = re.compile(r"(^|_)(code|id|ma|so|no|number|num)$")


def _name_role(name: str) -> str | None:
    key = name.lower()
    for pattern, role in _NAME_ROLES:
        if pattern.match(key):
            return role
    return None


def _looks_personal(question: dict[str, Any]) -> bool:
    name = question["name"].lower()
    if question["type"] in _PERSONAL_TYPES:
        return True
    if _PERSONAL_NAMES.search(name) or set(name.split("_")) & _PERSONAL_WORDS:
        return question["type"] not in ("note", "calculate")
    if question["type"] == "text" and not question["choices"]:
        return not _CODE_LIKE.search(name)
    return False


def suggest_roles(definition: FormDefinition) -> dict[str, str]:
    """Proposed roles keyed by question *name* (as the import service and consent checks look them up).

    Roles: ``personal`` (names, phones, e-mails, addresses, GPS, media and free text that is not a
    code), ``weight``, ``stratum``, ``psu``, ``fpc``, ``respondent_id`` and ``dimension:<CODE LIST>``
    (SEX, AGE, DISABILITY for Washington Group items, AREA, URBANISATION, POPULATION_GROUP,
    ETHNICITY). Name-based design and dimension roles win over the free-text rule. Groups, notes and
    calculations without a name match get no role.
    """
    roles: dict[str, str] = {}
    for question in definition.get("questions", []):
        kind = question["type"]
        if kind in GROUP_TYPES or kind == "note":
            continue
        role = _name_role(question["name"])
        if role is None and _looks_personal(question):
            role = "personal"
        if role is not None:
            roles.setdefault(question["name"], role)
    return roles


_CONSENT = re.compile(r"^(consent|informed_?consent|consent_?given|respondent_?consent|dong_y|su_dong_y)\w*$")
_GUARDIAN = re.compile(r"^(guardian|parent|parental|caregiver|nguoi_giam_ho|phu_huynh)_?(consent|dong_y)\w*$")
_ASSENT = re.compile(r"^(child_?)?assent\w*$|^tre_dong_y\w*$")
_AGE = re.compile(r"^(age|age_?years|respondent_?age|tuoi)$")


def detect_special_questions(definition: FormDefinition) -> dict[str, str]:
    """Names of the consent, age, guardian-consent and child-assent questions (blank when not found)."""
    found = {"consent": "", "age": "", "guardian_consent": "", "child_assent": ""}
    for question in definition.get("questions", []):
        if question["type"] in GROUP_TYPES or question["type"] == "note" or question["repeat"]:
            continue
        name = question["name"].lower()
        for key, pattern in (
            ("guardian_consent", _GUARDIAN),
            ("child_assent", _ASSENT),
            ("consent", _CONSENT),
            ("age", _AGE),
        ):
            if not found[key] and pattern.match(name):
                found[key] = question["name"]
                break
    return found

"""Forms as data: JSON Schema files (+ UI schema) referenced from user tasks.

This is the one place a form reference is resolved and submitted data is validated.
Custom formats: ``uscc`` (统一社会信用代码, GB 32100-2015 check digit) and ``cn-mobile``.
A (sub)schema may word its own refusal: ``"x-message"`` (Chinese) and ``"x-message-en"`` replace
the generic message of any keyword of that schema that fails (dispatch.schema.json: a deadline
too short for cooperating units).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError

FORM_KEY = "formJsonSchemaFilename"
UI_KEY = "formUiSchemaFilename"

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def uscc_check_digit(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return _USCC_CHARS[(31 - total % 31) % 31]


def is_valid_uscc(value: str) -> bool:
    if not isinstance(value, str) or not _USCC_RE.match(value):
        return False
    return uscc_check_digit(value[:17]) == value[17]


def is_cn_mobile(value: str) -> bool:
    return isinstance(value, str) and bool(_MOBILE_RE.match(value))


FORMAT_CHECKER = FormatChecker()
FORMAT_CHECKER.checks("uscc")(lambda v: not isinstance(v, str) or is_valid_uscc(v))
FORMAT_CHECKER.checks("cn-mobile")(lambda v: not isinstance(v, str) or is_cn_mobile(v))

# Messages per JSON Schema keyword, Simplified Chinese first, then English.
_MESSAGES = {
    "required": ("此项为必填项", "This field is required"),
    "type": ("类型不正确，应为{expected}", "Wrong type, expected {expected}"),
    "enum": ("请选择有效的选项", "Choose one of the listed options"),
    "minLength": ("至少需要{limit}个字符", "At least {limit} characters"),
    "maxLength": ("最多{limit}个字符", "At most {limit} characters"),
    "minimum": ("不能小于{limit}", "Must be at least {limit}"),
    "maximum": ("不能大于{limit}", "Must be at most {limit}"),
    "minItems": ("至少需要{limit}项", "At least {limit} items"),
    "maxItems": ("最多{limit}项", "At most {limit} items"),
    "pattern": ("格式不正确", "Wrong format"),
    "additionalProperties": ("包含不允许的字段：{extra}", "Unexpected field: {extra}"),
    "format:uscc": (
        "统一社会信用代码无效（18位，末位为校验码）",
        "Invalid unified social credit code (18 characters with a check digit)",
    ),
    "format:cn-mobile": ("手机号码无效（11位，以1开头）", "Invalid mobile number (11 digits starting with 1)"),
    "format:date": ("日期格式应为YYYY-MM-DD", "Date must be YYYY-MM-DD"),
    "format:email": ("电子邮箱格式不正确", "Invalid e-mail address"),
    "format": ("格式不正确", "Wrong format"),
}
_TYPE_NAMES = {
    "string": ("文本", "text"),
    "integer": ("整数", "integer"),
    "number": ("数字", "number"),
    "boolean": ("是/否", "yes/no"),
    "array": ("列表", "list"),
    "object": ("对象", "object"),
}


@dataclass(frozen=True)
class FieldError:
    """One problem with one field; ``path`` is dotted (``items.0.unit``), '' for the form."""

    path: str
    code: str
    params: tuple[tuple[str, Any], ...] = ()

    def message(self, lang: str = "zh") -> str:
        params = dict(self.params)
        if self.code == "custom":  # the form's own words for the rule (``x-message``)
            return str(params.get("zh") if lang.startswith("zh") else params.get("en") or params.get("zh"))
        zh, en = _MESSAGES.get(self.code, _MESSAGES.get(self.code.split(":")[0], ("无效", "Invalid")))
        if "expected" in params:
            names = _TYPE_NAMES.get(params["expected"], (params["expected"],) * 2)
            params["expected"] = names[0 if lang.startswith("zh") else 1]
        template = zh if lang.startswith("zh") else en
        try:
            return template.format(**params)
        except (KeyError, IndexError):
            return template


class FormValidationError(Exception):
    def __init__(self, errors: Iterable[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.path or '(form)'}: {e.message('en')}" for e in self.errors))

    def by_field(self, lang: str = "zh") -> dict[str, str]:
        out: dict[str, str] = {}
        for e in self.errors:
            out.setdefault(e.path, e.message(lang))
        return out


def check_schema(schema: Any) -> str | None:
    """None if ``schema`` is a valid JSON Schema, else the reason."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return exc.message
    return None


def _to_field_error(err: ValidationError) -> FieldError:
    path = [str(p) for p in err.absolute_path]
    schema = err.schema if isinstance(err.schema, dict) else {}
    own = schema.get("x-message")
    if isinstance(own, str) and own and err.validator != "required":
        # a rule of the form (e.g. in an if/then) that says in its own words what is wrong
        return FieldError(".".join(path), "custom", (("zh", own), ("en", schema.get("x-message-en") or own)))
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else ""
        return FieldError(".".join(path + [missing]), "required")
    if err.validator == "format":
        return FieldError(".".join(path), f"format:{err.validator_value}")
    if err.validator == "type":
        return FieldError(".".join(path), "type", (("expected", str(err.validator_value)),))
    if err.validator in ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"):
        return FieldError(".".join(path), err.validator, (("limit", err.validator_value),))
    if err.validator == "additionalProperties":
        extra = err.message.split("'")[1] if "'" in err.message else ""
        return FieldError(".".join(path), "additionalProperties", (("extra", extra),))
    return FieldError(".".join(path), str(err.validator))


def _blank(value: Any) -> bool:
    """Text of nothing but white space (spaces, tabs, newlines, ideographic spaces …)."""
    return isinstance(value, str) and not value.strip()


def coerce(schema: dict, data: dict) -> dict:
    """Drop empty (or white-space-only) optional strings so that "not filled in" is not
    "filled in wrongly"."""
    out = {}
    required = set(schema.get("required", []))
    for key, value in data.items():
        if (value is None or _blank(value)) and key not in required:
            continue
        out[key] = value
    return out


def _blank_required(schema: dict, data: Any, path: str = "") -> list[FieldError]:
    """A required text field holding only white space counts as not filled in."""
    if not isinstance(schema, dict) or not isinstance(data, dict):
        return []
    errors = []
    required = set(schema.get("required") or [])
    for key, sub in (schema.get("properties") or {}).items():
        if key not in data:
            continue
        here = f"{path}.{key}" if path else key
        if key in required and data[key] != "" and _blank(data[key]):
            errors.append(FieldError(here, "required"))
        elif isinstance(sub, dict) and isinstance(data[key], dict):
            errors.extend(_blank_required(sub, data[key], here))
    return errors


def validate(schema: dict, data: Any) -> dict:
    """Validate submitted data against the form; return it cleaned or raise FormValidationError."""
    if isinstance(data, dict):
        data = coerce(schema, data)
    validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    found = [_to_field_error(e) for e in validator.iter_errors(data)]
    blank = [e for e in _blank_required(schema, data) if e.path not in {f.path for f in found}]
    errors = sorted(found + blank, key=lambda e: e.path.split("."))
    if errors:
        raise FormValidationError(errors)
    return data

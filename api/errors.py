"""One error shape for every failure of the management API:
``{"errors": [{"field": ..., "message": ...}]}``, field null when the whole request is wrong.

Type errors found while parsing a body (django-ninja's validation, 422 by default) become 400s
in that shape, with the messages of subscriptions/validation.py wherever a rule there judges
the field, so the API and the forms say the same thing for the same bad value.
"""

import logging

from django import forms
from django.core.exceptions import RequestDataTooBig
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from subscriptions import validation

log = logging.getLogger("api")

# Fields whose rule in validation.py also judges a value of the wrong type: the form passes
# "abc" typed in a number box to the same function, so both show its message.
FIELD_CHECKS = {
    "batch_size": validation.check_batch_size,
    "batch_interval_seconds": validation.check_batch_interval,
    "max_attempts": validation.check_max_attempts,
    "rate_limit_per_second": validation.check_rate_limit,
    "timeout_seconds": validation.check_timeout,
    "extra_body": validation.check_extra_body,
}
FIELD_MESSAGES = {
    "grace_hours": "Choose 0 (the old key stops at once) or 24 (it keeps signing for 24 hours).",
    "since": "Enter a date and time such as 2024-06-18T23:22:36Z.",
    "until": "Enter a date and time such as 2024-06-18T23:22:36Z.",
    "limit": "Enter a whole number from 1 to 100.",
}
READ_ONLY_FIELDS = {"id", "status", "disabled_reason", "created_at", "updated_at", "deleted_at"}
# The forms' own messages: a choice that is not offered (method, format, mode, kind...), a
# value longer than a box takes, a NUL character (every CharField refuses it).
INVALID_CHOICE = forms.ChoiceField.default_error_messages["invalid_choice"]
TOO_LONG = MaxLengthValidator.message
NULL_CHARACTERS = ProhibitNullCharactersValidator.message


class ApiError(Exception):
    """Raised by endpoints: answered as ``status`` with one or more (field, message)."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        field: str | None = None,
        *,
        errors: list[dict] | None = None,
    ):
        self.status = status
        self.errors = errors or [{"field": field, "message": message}]
        super().__init__(self.errors[0]["message"])


def not_found(what: str) -> ApiError:
    return ApiError(404, f"No such {what} in this workspace.")


def error_body(errors: list[dict]) -> dict:
    return {"errors": errors}


def field_name(loc) -> str | None:
    """("body", "payload", "headers", 0, "name") -> "headers[0].name"; None for the body."""
    parts = list(loc[1:])
    if loc and loc[0] == "body" and parts:
        parts = parts[1:]  # the name of the view's body parameter
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or None


def message_for(name: str | None, error: dict) -> str:
    """A sentence for one pydantic error, from validation.py when it has the rule."""
    kind = error.get("type", "")
    leaf = name.rsplit(".", 1)[-1] if name else None
    value = error.get("input")
    if kind == "extra_forbidden":
        if leaf in READ_ONLY_FIELDS:
            return f"{leaf} is read-only: leave it out."
        return f"Unknown field “{leaf}”: check its spelling in the API reference."
    if leaf in FIELD_MESSAGES:
        return FIELD_MESSAGES[leaf]
    if leaf in FIELD_CHECKS and kind != "missing":
        message = FIELD_CHECKS[leaf](value)
        if message:
            return message
    if name is None and kind in ("model_type", "model_attributes_type", "dict_type"):
        return "The body must be a JSON object."
    if kind == "missing":
        return "This field is required."
    if kind in ("literal_error", "enum"):
        return INVALID_CHOICE % {"value": value}
    if kind.startswith("string_type"):
        return "Enter text (a JSON string)."
    if kind == "string_too_long":
        limit = error.get("ctx", {}).get("max_length")
        return TOO_LONG % {"limit_value": limit, "show_value": len(value or "")}
    if kind.startswith("int_") or kind.startswith("greater_than") or kind.startswith("less_than"):
        ctx = error.get("ctx", {})
        low, high = ctx.get("ge"), ctx.get("le")
        if low is not None and high is not None:
            return f"Enter a whole number from {low} to {high}."
        return "Enter a whole number."
    if kind.startswith("bool"):
        return "Enter true or false."
    if kind == "list_type":
        return "Enter a list (a JSON array)."
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "Enter a JSON object."
    if kind.startswith("datetime") or kind.startswith("timezone"):
        return "Enter a date and time such as 2024-06-18T23:22:36Z."
    return error.get("msg", "This value is not valid.")


def install_handlers(api: NinjaAPI) -> None:
    def respond(request, status, errors, headers=None):
        response = api.create_response(request, error_body(errors), status=status)
        for key, value in (headers or {}).items():
            response[key] = value
        return response

    @api.exception_handler(ApiError)
    def api_error(request, exc: ApiError):
        return respond(request, exc.status, exc.errors)

    @api.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        errors = []
        for error in exc.errors:
            name = field_name(error.get("loc", ()))
            errors.append({"field": name, "message": message_for(name, error)})
        return respond(request, 400, errors)

    @api.exception_handler(AuthenticationError)
    def unauthorized(request, exc):
        return respond(
            request,
            401,
            [
                {
                    "field": None,
                    "message": "Missing, invalid or revoked API key. Send "
                    "'Authorization: Bearer <admin API key>' "
                    "(Settings > Workspaces > Access keys). "
                    "The client token only posts events.",
                }
            ],
            headers={"WWW-Authenticate": "Bearer"},
        )

    @api.exception_handler(Throttled)
    def throttled(request, exc):
        # django-ninja adds the Retry-After header from the throttle's wait().
        return respond(
            request,
            429,
            [
                {
                    "field": None,
                    "message": "Too many requests with this API key: slow down and "
                    "retry after the time in the Retry-After header.",
                }
            ],
        )

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        message = str(exc)
        cause = exc.__cause__
        if isinstance(cause, ApiError):  # raised by the body parser
            return respond(request, cause.status, cause.errors)
        if exc.status_code == 400 and isinstance(cause, ValueError) and str(cause):
            message = str(cause)  # the body parser's own words (see views.StrictJSONParser)
        return respond(request, exc.status_code, [{"field": None, "message": message}])

    @api.exception_handler(Http404)
    def http404(request, exc):
        return respond(request, 404, [{"field": None, "message": "Not found."}])

    @api.exception_handler(RequestDataTooBig)
    def too_big(request, exc):
        return respond(request, 413, [{"field": None, "message": "The body is too big."}])


def check_text(value, path: str = "") -> None:
    """Refuse, anywhere in a parsed body, text no form would take and no database stores:
    NUL characters (PostgreSQL refuses them) and lone surrogates (not encodable)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ApiError(400, str(NULL_CHARACTERS), path or None)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, "This text is not valid Unicode.", path or None)
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            check_text(key, child)
            check_text(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_text(item, f"{path}[{index}]")

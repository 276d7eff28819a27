"""Small filters for the delivery logs pages (django.contrib.humanize is not installed)."""

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def thousands(value):
    """1234567 -> "1,234,567"; anything else unchanged."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return value


@register.filter
def datetime_local(value):
    """A datetime as an <input type=datetime-local> value (UTC); typed text stays as typed."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    return value or ""


@register.filter
def header_items(headers):
    """A headers dict as sorted (name, value) pairs for a table."""
    if not isinstance(headers, dict):
        return []
    return sorted(headers.items(), key=lambda item: item[0].lower())


@register.filter
def error_label(kind):
    """An attempt's error kind as a short badge label ("timeout" -> "Timeout")."""
    from deliveries.logs import ERROR_LABELS

    return ERROR_LABELS.get(kind, kind or "Failed")

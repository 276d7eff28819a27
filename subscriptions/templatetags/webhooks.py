"""Small display helpers for the webhook screens."""

from django import template

from subscriptions import catalog

register = template.Library()


@register.filter
def topic_label(key: str) -> str:
    """The catalog label of an event type ("Content view"), or the key itself for open-ended
    system events."""
    spec = catalog.get(key)
    return spec.label if spec else key

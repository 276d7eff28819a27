"""Reading rendered pages in tests: is a message shown next to a given field?"""

from django.utils.html import escape

# Where one field's markup ends: the next field, header row or form section.
_FIELD_ENDS = ('<div class="field', '<div class="header-row', "</section>")


def field_fragment(html: str, anchor: str) -> str:
    """The markup from ``anchor`` (e.g. 'id="id_url"') to the start of the next field."""
    start = html.index(anchor)
    ends = [
        i for i in (html.find(marker, start + len(anchor)) for marker in _FIELD_ENDS) if i != -1
    ]
    return html[start : min(ends)]


def assert_error_next_to(response, anchor: str, message: str) -> None:
    html = response.content.decode()
    fragment = field_fragment(html, anchor)
    assert 'class="error' in fragment, f"no error next to {anchor}:\n{fragment}"
    assert escape(message) in fragment, f"{message!r} not next to {anchor}:\n{fragment}"

"""GET /event-types: the catalog with sample payloads."""

import json
from pathlib import Path

from subscriptions import catalog

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_every_catalog_type_is_listed_with_its_sample(api):
    data = api.get("/event-types?limit=100").json()
    assert [t["key"] for t in data["data"]] == [spec.key for spec in catalog.EVENT_TYPES]
    assert data["next_cursor"] is None
    by_key = {t["key"]: t for t in data["data"]}
    form = by_key["form.submitted"]
    assert form["group"] == "Content" and form["label"] == "Form submission"
    assert form["sample"] == json.loads((FIXTURES / "form.submitted.json").read_text())
    assert "system.app_installed" not in by_key


def test_the_catalog_pages_like_every_list(api):
    first = api.get("/event-types?limit=5").json()
    second = api.get(f"/event-types?limit=5&cursor={first['next_cursor']}").json()
    keys = [t["key"] for t in first["data"] + second["data"]]
    assert keys == [spec.key for spec in catalog.EVENT_TYPES[:10]]

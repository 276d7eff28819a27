"""Load the event catalog (subscriptions/catalog.py and its sample payloads).

Re-running the catalog sync in a later migration updates labels, descriptions and samples."""

from django.db import migrations


def load_catalog(apps, schema_editor):
    from subscriptions import catalog

    EventType = apps.get_model("subscriptions", "EventType")
    for position, spec in enumerate(catalog.EVENT_TYPES):
        EventType.objects.update_or_create(
            key=spec.key,
            defaults={
                "label": spec.label,
                "group": spec.group,
                "description": spec.description,
                "sample": spec.sample(),
                "position": position,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0001_initial")]

    operations = [migrations.RunPython(load_catalog, migrations.RunPython.noop)]

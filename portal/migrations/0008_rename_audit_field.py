from django.db import migrations


class Migration(migrations.Migration):
    """AuditEntry.field → field_name: Wagtail's inspect view has methods named
    after "field" (get_field_display_value), so a model field of that name broke it."""

    dependencies = [
        ("portal", "0007_audit_private_duplicate"),
    ]

    operations = [
        migrations.RenameField(model_name="auditentry", old_name="field", new_name="field_name"),
    ]

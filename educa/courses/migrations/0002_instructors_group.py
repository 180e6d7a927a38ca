"""The "Instructors" group: everything needed to run the course CMS.

Permissions are normally created after all migrations have run (post_migrate),
so on a fresh database they do not exist yet here; they are created on the spot
with the same codenames and names Django would give them, and Django's own pass
later finds them already present.
"""

from django.db import migrations

GROUP_NAME = "Instructors"
MODELS = ("course", "module", "content", "text", "video", "image", "file")
ACTIONS = ("add", "change", "delete", "view")


def create_instructors_group(apps, schema_editor):
    db_alias = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")

    group, _ = Group.objects.using(db_alias).get_or_create(name=GROUP_NAME)
    for model_name in MODELS:
        model = apps.get_model("courses", model_name)
        content_type, _ = ContentType.objects.using(db_alias).get_or_create(
            app_label="courses", model=model_name
        )
        for action in ACTIONS:
            permission, _ = Permission.objects.using(db_alias).get_or_create(
                content_type=content_type,
                codename=f"{action}_{model_name}",
                defaults={"name": f"Can {action} {model._meta.verbose_name_raw}"},
            )
            group.permissions.add(permission)


def delete_instructors_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("courses", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_instructors_group, delete_instructors_group),
    ]

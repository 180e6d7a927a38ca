"""One position per module in a course, and per content in a module, on PostgreSQL.

OrderField numbers new rows under a lock; these constraints are the database's
own guarantee on top of it. They are checked at commit (DEFERRABLE INITIALLY
DEFERRED) because reordering swaps positions, and rows briefly share one.

Only PostgreSQL gets them. SQLite (development, unit tests) has no deferrable
unique constraints, and an immediate one would refuse every swap; that is also
why they are not declared in the models' Meta, where Django would warn about
them on SQLite (models.W038). Groups numbered twice before this migration are
renumbered first, keeping their order.
"""

from django.db import migrations

# (model, field naming the group, constraint)
ORDERED = (
    ("Module", "course", "courses_module_order_unique_per_course"),
    ("Content", "module", "courses_content_order_unique_per_module"),
)


def _ordered_tables(apps, schema_editor):
    quote = schema_editor.quote_name
    for model_name, group_field, constraint in ORDERED:
        model = apps.get_model("courses", model_name)
        yield (
            quote(model._meta.db_table),
            quote(model._meta.get_field(group_field).column),
            quote(model._meta.get_field("order").column),
            quote(constraint),
        )


def add_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, group, order, constraint in _ordered_tables(apps, schema_editor):
        # only names from the models, quoted by quote_name: no value from outside
        schema_editor.execute(
            f"UPDATE {table} AS target SET {order} = numbered.position "  # nosec B608
            f"FROM (SELECT id, row_number() OVER (PARTITION BY {group} ORDER BY {order}, id) - 1 AS position "
            f"      FROM {table} WHERE {group} IN "
            f"      (SELECT {group} FROM {table} GROUP BY {group}, {order} HAVING count(*) > 1)) AS numbered "
            f"WHERE target.id = numbered.id"
        )
        schema_editor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {constraint} UNIQUE ({group}, {order}) "
            f"DEFERRABLE INITIALLY DEFERRED"
        )


def drop_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _group, _order, constraint in _ordered_tables(apps, schema_editor):
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {constraint}")


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0002_instructors_group"),
    ]

    operations = [
        migrations.RunPython(add_constraints, drop_constraints),
    ]

from django.db import connections, models, router, transaction
from django.db.models import Max


class OrderField(models.PositiveIntegerField):
    """A position that numbers itself within a group of rows.

    ``for_fields`` names the fields that define the group (e.g. the course of
    a module). A new row without an explicit value goes after the last one.

    Two requests adding to the same group at once would both read the same
    last position and write the same number. So the rows the group hangs on
    (the course of a new module, the module of a new content) are locked
    first, and stay locked until the transaction that writes the new row ends;
    models using this field save in a transaction (``OrderedModelMixin``).
    """

    def __init__(self, for_fields=None, *args, **kwargs):
        self.for_fields = for_fields
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.for_fields is not None:
            kwargs["for_fields"] = self.for_fields
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        if getattr(model_instance, self.attname) is None:
            value = self.next_position(model_instance)
            setattr(model_instance, self.attname, value)
            return value
        return super().pre_save(model_instance, add)

    def next_position(self, instance):
        using = router.db_for_write(self.model, instance=instance)
        self._lock_group(instance, using)
        siblings = self.model._base_manager.using(using).filter(**self._group_lookup(instance))
        last = siblings.aggregate(last=Max(self.attname))["last"]
        return 0 if last is None else last + 1

    def _group_fields(self):
        return [self.model._meta.get_field(name) for name in self.for_fields or ()]

    def _group_lookup(self, instance):
        return {field.attname: getattr(instance, field.attname) for field in self._group_fields()}

    def _lock_group(self, instance, using):
        """Lock the parent rows of the group (FOR NO KEY UPDATE) until the transaction ends.

        Backends without row locks (SQLite, for development and unit tests)
        skip this, and so does a save outside any transaction, where the lock
        would be released before the row is written.
        """
        connection = connections[using]
        if not connection.features.has_select_for_update or connection.get_autocommit():
            return
        no_key = connection.features.has_select_for_no_key_update
        for field in self._group_fields():
            if not field.many_to_one:
                continue
            parent = {field.target_field.attname: getattr(instance, field.attname)}
            locked = field.related_model._base_manager.using(using).select_for_update(no_key=no_key)
            list(locked.filter(**parent).values("pk"))


class OrderedModelMixin:
    """Save in a transaction, so the lock taken by ``OrderField`` lasts until the row is written."""

    def save(self, *args, **kwargs):
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            super().save(*args, **kwargs)

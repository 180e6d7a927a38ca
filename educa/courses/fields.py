from django.core.exceptions import ObjectDoesNotExist
from django.db import models


class OrderField(models.PositiveIntegerField):
    """A position that numbers itself within a group of rows.

    ``for_fields`` names the fields that define the group (e.g. the course of
    a module). A new row without an explicit value goes after the last one.
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
            siblings = self.model.objects.all()
            if self.for_fields:
                siblings = siblings.filter(
                    **{field: getattr(model_instance, field) for field in self.for_fields}
                )
            try:
                last = siblings.latest(self.attname)
                value = getattr(last, self.attname) + 1
            except ObjectDoesNotExist:
                value = 0
            setattr(model_instance, self.attname, value)
            return value
        return super().pre_save(model_instance, add)

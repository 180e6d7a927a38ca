from django import forms
from django.core.validators import URLValidator
from django.forms.models import inlineformset_factory, modelform_factory

from .models import Course, File, Image, Module, Text, Video
from .validators import ALLOWED_FILE_EXTENSIONS

# Slugs that would shadow another page under /course/ or the "www" host.
RESERVED_SLUGS = frozenset({"mine", "create", "subject", "module", "content", "www"})


class CourseForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = ["subject", "title", "slug", "overview"]
        help_texts = {"slug": "Part of the course's address: lowercase letters, digits and hyphens."}
        widgets = {"overview": forms.Textarea(attrs={"rows": 6})}

    def clean_slug(self):
        slug = self.cleaned_data["slug"].lower()
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError("This address is reserved; please choose another slug.")
        return slug


ModuleFormSet = inlineformset_factory(
    Course,
    Module,
    fields=["title", "description"],
    extra=2,
    can_delete=True,
    # Only saved modules can be deleted; a blank new row is simply ignored.
    can_delete_extra=False,
    widgets={"description": forms.Textarea(attrs={"rows": 3})},
)


class VideoForm(forms.ModelForm):
    url = forms.URLField(
        label="Video URL",
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="A YouTube or Vimeo address is shown as a player; any other address as a link.",
    )

    class Meta:
        model = Video
        fields = ["title", "url"]


def _accept_attribute(extensions):
    return ",".join(f".{extension}" for extension in extensions)


ITEM_FORMS = {
    "text": modelform_factory(
        Text,
        fields=["title", "content"],
        widgets={"content": forms.Textarea(attrs={"rows": 12, "class": "input-code"})},
        help_texts={
            "content": "Markdown: line breaks are kept; indent code by four spaces or fence it with ```. "
            "HTML is shown as typed."
        },
    ),
    "video": VideoForm,
    "image": modelform_factory(
        Image,
        fields=["title", "file"],
        widgets={"file": forms.ClearableFileInput(attrs={"accept": "image/*"})},
    ),
    "file": modelform_factory(
        File,
        fields=["title", "file"],
        widgets={
            "file": forms.ClearableFileInput(attrs={"accept": _accept_attribute(ALLOWED_FILE_EXTENSIONS)})
        },
    ),
}

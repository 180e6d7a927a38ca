from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm


class StudentRegistrationForm(UserCreationForm):
    """Sign-up form for students: a username, an e-mail address and a password.

    The address is required because the enrolment reminders are sent by e-mail.
    """

    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        help_text="Used only for messages about your courses.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self):
        # One account per address: a second one would only receive duplicate reminders.
        email = self.cleaned_data["email"]
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists.")
        return email


class CourseEnrollForm(forms.Form):
    """The enrol button: a course id posted as ``course_id``.

    Only the shape is checked here; whether the course exists is the view's
    business, so a malformed id is a 400 and an unknown one a 404.
    """

    # The upper bound is the largest primary key the database can hold.
    course_id = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)

"""The form of the servers part: a new connection of a study to a KoboToolbox asset or an ODK Central form.

The form only gathers the fields; ``collection.servers.connections.create_connection`` checks them
(the rule of what a connection needs lives there, for the CLI too) and its ``InvalidConnection`` names
the field the message is shown beside.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from voicescount.collection.models import ServerConnection, Study


class ConnectionForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Server"), choices=ServerConnection.Kind.choices, initial=ServerConnection.Kind.KOBO
    )
    base_url = forms.CharField(
        label=_("Server address"),
        max_length=200,
        help_text=_(
            "e.g. https://kf.kobotoolbox.org, https://eu.kobotoolbox.org or your ODK Central's address"
        ),
        widget=forms.URLInput(attrs={"autocomplete": "url", "inputmode": "url"}),
    )
    asset_uid = forms.CharField(
        label=_("KoboToolbox: the form's asset uid"),
        max_length=100,
        required=False,
        help_text=_("In the form's address on KoboToolbox: …/#/forms/<uid>/summary"),
    )
    project_id = forms.IntegerField(label=_("ODK Central: project id"), min_value=1, required=False)
    form_id = forms.CharField(label=_("ODK Central: form id"), max_length=200, required=False)
    username = forms.CharField(
        label=_("ODK Central: the account's e-mail address"),
        max_length=200,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        help_text=_("A Data Collector or Project Viewer account is enough; it only reads submissions."),
    )
    credential = forms.CharField(
        label=_("KoboToolbox API token, or the ODK Central account's password"),
        max_length=500,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
        help_text=_("Kept encrypted; never shown again. KoboToolbox: Account settings › Security › API key."),
    )
    instrument = forms.ModelChoiceField(
        label=_("Form version the submissions are checked against"),
        queryset=None,
        empty_label=None,
    )
    interval_minutes = forms.IntegerField(
        label=_("Pull every (minutes)"),
        min_value=0,
        max_value=7 * 24 * 60,
        initial=0,
        help_text=_(
            "0: only when someone presses 'Pull now'. A background worker makes the scheduled pulls."
        ),
    )
    push = forms.BooleanField(
        label=_("KoboToolbox: also make a secret for REST Services (Kobo sends each new submission at once)"),
        required=False,
    )

    def __init__(self, *args, study: Study, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instrument"].queryset = study.instruments.order_by("-uploaded", "-pk")
        self.fields["instrument"].label_from_instance = lambda i: f"{i.form_id} · {i.version or '—'}"

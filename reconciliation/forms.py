from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from refunds.lifecycle import Role
from refunds.models import Channel

from .importers import FORMATS
from .models import ColumnMapping, ExceptionType, Resolution


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"))
    format = forms.ChoiceField(label=_("Format"), choices=[(f, f) for f in FORMATS])
    kind = forms.ChoiceField(label=_("Side"), required=False,
                             choices=[("", _("from the format")), ("statement", _("Gateway statement")),
                                      ("ledger", _("Finance ledger"))])
    mapping = forms.ModelChoiceField(label=_("Column mapping (generic CSV)"), required=False,
                                     queryset=ColumnMapping.objects.all(), to_field_name="name")
    channel = forms.ModelChoiceField(label=_("Channel"), required=False, queryset=Channel.objects.all(),
                                     to_field_name="code")


class RunForm(forms.Form):
    channel = forms.ModelChoiceField(label=_("Channel"), required=False, queryset=Channel.objects.all(),
                                     to_field_name="code", empty_label=_("all channels"))


class ExceptionFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[
        ("open", _("Open")), ("awaiting_approval", _("Awaiting approval")), ("resolved", _("Resolved")),
        ("all", _("All"))])
    type = forms.ChoiceField(required=False, choices=[("", _("any type"))] + list(ExceptionType.choices))
    channel = forms.ChoiceField(required=False)
    assignee = forms.ChoiceField(required=False, choices=[("", _("anyone")), ("me", _("me")),
                                                          ("none", _("unassigned"))])
    overdue = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("any channel"))] + [
            (c, c) for c in Channel.objects.values_list("code", flat=True)]


def finance_users():
    return get_user_model().objects.filter(groups__name__in=[Role.FINANCE, Role.FINANCE_LEAD],
                                           is_active=True).distinct().order_by("username")


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assign to"), required=False, queryset=finance_users(),
                                      empty_label=_("nobody"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = finance_users()


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(label=_("Resolution"), choices=[
        (Resolution.MATCHED_MANUALLY, Resolution.MATCHED_MANUALLY.label),
        (Resolution.ADJUSTED, Resolution.ADJUSTED.label), (Resolution.WRITTEN_OFF, Resolution.WRITTEN_OFF.label)])
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    correction_ref = forms.CharField(label=_("Ledger correction reference"), required=False, max_length=100)

"""Customer forms. They only shape input; the services and intake rules decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .progress import field_label


class InfoForm(forms.Form):
    """One field per piece of information the ticket is waiting for."""

    def __init__(self, *args, needed: list[str], channel_name: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        for name in needed:
            if name == "fallback_consent":
                self.fields[name] = forms.BooleanField(
                    required=True,
                    label=_("I agree to receive this refund through %(channel)s instead of my original payment "
                            "method.") % {"channel": channel_name},
                )
            elif name == "customer_email":
                self.fields[name] = forms.EmailField(label=field_label(name), max_length=254)
            else:
                widget = forms.TextInput(attrs={"autocomplete": "tel" if name == "customer_phone" else "off"})
                self.fields[name] = forms.CharField(label=field_label(name), max_length=200, widget=widget)

    def data_for_service(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}


class ConsentForm(forms.Form):
    agree = forms.BooleanField(required=True, label=_("I agree to receive this refund another way."))


RATINGS = [(str(n), str(n)) for n in range(1, 6)]


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(choices=RATINGS, coerce=int, widget=forms.RadioSelect,
                                    label=_("How satisfied are you? (1 = not at all, 5 = very)"))
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                              label=_("Anything we should know? (optional)"))


class LookupForm(forms.Form):
    order_ref = forms.CharField(max_length=100, label=_("Order reference"))
    email = forms.EmailField(max_length=254, label=_("E-mail address used for the order"))

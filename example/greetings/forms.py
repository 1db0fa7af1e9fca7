from django import forms


class GreetForm(forms.Form):
    name = forms.CharField(
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": "Ada", "autofocus": True}),
    )

from django import forms

from workspaces.models import Workspace


class WorkspaceSettingsForm(forms.ModelForm):
    class Meta:
        model = Workspace
        fields = ["name", "https_only"]
        labels = {"https_only": "HTTPS only"}
        error_messages = {"name": {"required": "Give the workspace a name."}}

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the workspace a name.")
        return name

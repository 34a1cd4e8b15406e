"""Forms of the sensitivity review."""

from __future__ import annotations

from django import forms

WAIVER_MIN_CHARS = 15


def _checklist_fields():
    return {name: forms.BooleanField(label=label, required=True, error_messages={
        "required": "Tick this to confirm you checked it."}) for name, label in CHECKLIST.items()}


# What a sensitivity reviewer confirms before approving (form field name -> label).
CHECKLIST = {
    "language": "Language: no slurs, stereotypes or exclusionary words remain (or each is waived "
                "with a reason).",
    "imagery": "Imagery and representation: images and video show people respectfully, and "
               "every image has accurate alt text.",
    "context": "Social-issue context and timing: nothing trades on a tragedy, a cause or "
               "today's news.",
    "accessibility": "Accessibility: hashtags in CamelCase, no walls of emoji or capitals, "
                     "links described.",
}


class ChecklistForm(forms.Form):
    """Approving a sensitivity review: the reviewer confirms each item of the checklist."""

    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                              help_text="Optional: what you checked, for the record.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in _checklist_fields().items():
            self.fields[name] = field
        self.order_fields([*_checklist_fields(), "comment"])


class WaiverForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput, max_length=200)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), min_length=WAIVER_MIN_CHARS, max_length=2000,
        error_messages={"min_length": f"Write at least {WAIVER_MIN_CHARS} characters: why this "
                                      "is fine here (it is kept in the campaign's history).",
                        "required": "Write why this finding can stand."})


class RequestChangesForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
                              error_messages={"required": "Tell the editors what to change."})


class RecordedDecisionForm(forms.Form):
    """Staff recording a decision the client gave another way."""

    comment = forms.CharField(
        label="How and when did the client decide?", widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000, min_length=10,
        error_messages={"required": "Say how the client told you (e.g. “Jo, by phone, 3 pm”).",
                        "min_length": "Say how the client told you (e.g. “Jo, by phone, 3 pm”)."})


class ClientDecisionForm(forms.Form):
    """What an approver sends from the review page."""

    decision = forms.ChoiceField(choices=[("approved", "Approve the campaign"),
                                          ("changes_requested", "Request changes")],
                                 widget=forms.RadioSelect,
                                 error_messages={"required": "Choose approve or request changes."})
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                              max_length=5000, label="Comment on the whole campaign")

    def __init__(self, *args, post_count: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.post_count = post_count
        for number in range(1, post_count + 1):
            self.fields[f"post_{number}"] = forms.CharField(
                widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000,
                label=f"Comment on post {number}")

    def post_comments(self) -> list[tuple[int, str]]:
        return [(n, self.cleaned_data[f"post_{n}"].strip())
                for n in range(1, self.post_count + 1) if self.cleaned_data.get(f"post_{n}", "")
                .strip()]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "changes_requested" and not (
                (cleaned.get("comment") or "").strip() or self.post_comments()):
            raise forms.ValidationError("Say what should change: comment on the campaign or on "
                                        "the posts concerned.")
        return cleaned

from django.db import models
from django.utils import timezone

from workspaces.models import ApiKey, Workspace


class ApiCall(models.Model):
    """One call to the management API with an admin key: who (the key), what (method, path,
    outcome), when. Never a body: bodies carry connector secrets and header values."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # Keys are revoked, not deleted; an operator deleting one in the admin keeps its calls.
    api_key = models.ForeignKey(ApiKey, null=True, on_delete=models.SET_NULL, related_name="calls")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)  # with the query string
    status_code = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField(default=0)
    # What a call did that an admin should notice, such as reading a signing key.
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "API call"
        indexes = [
            # The API activity page: a workspace's calls, newest first, keyset on (time, id).
            models.Index(fields=["workspace", "-created_at", "-id"], name="apicall_recent_idx"),
        ]

    def __str__(self):
        return f"{self.method} {self.path} {self.status_code}"

    @property
    def succeeded(self) -> bool:
        return self.status_code < 400

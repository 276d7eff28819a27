import ipaddress

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from inbox import services
from inbox.models import MAX_BODY_BYTES, Inbox
from workspaces.access import get_workspace_for_admin, get_workspace_for_member

REQUESTS_PER_PAGE = 25


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


def _content_length(request) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _remote_addr(request) -> str | None:
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")))
    except ValueError:
        return None  # e.g. a unix socket behind a proxy


@csrf_exempt
def receive(request, token, subpath=""):
    """The inbox itself: any method, any path below the token, no login. It is hit by the
    delivery workers and the benchmark, so it stays lean: one query finds the inbox, the
    signature check only runs on signed requests."""
    inbox = Inbox.objects.filter(token=token).first()
    if inbox is None:
        return _no_store(JsonResponse({"received": False, "error": "No such inbox."}, status=404))

    request_info = {
        "method": request.method,
        "path": request.path,
        "query_string": request.META.get("QUERY_STRING", ""),
        "headers": dict(request.headers),
        "content_type": request.META.get("CONTENT_TYPE", ""),
        "remote_addr": _remote_addr(request),
    }
    announced = _content_length(request)
    if announced > MAX_BODY_BYTES:
        # Refused unread, but recorded, so the user sees why their delivery failed.
        services.record_request(
            inbox, body=None, body_size=announced, answered_status=413, **request_info
        )
        error = f"Body too large: the test inbox accepts at most {MAX_BODY_BYTES // 1024} KiB."
        return _no_store(JsonResponse({"received": False, "error": error}, status=413))

    # Read the stream ourselves (at most the announced length) rather than request.body, so
    # DATA_UPLOAD_MAX_MEMORY_SIZE has no say over what the inbox accepts.
    body = request.read(announced) if announced else b""
    status = inbox.response_status
    received = services.record_request(
        inbox, body=body, body_size=len(body), answered_status=status, **request_info
    )
    if status == Inbox.ResponseStatus.NO_CONTENT:
        return _no_store(HttpResponse(status=status))
    return _no_store(JsonResponse({"received": True, "id": received.pk}, status=status))


def _requests_context(request, inbox):
    page = Paginator(inbox.requests.all(), REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
    return {
        "inbox": inbox,
        "page_obj": page,
        # Only the first page follows new arrivals; older pages would shift under the reader.
        "live": page.number == 1,
    }


@login_required
def inbox_page(request, slug):
    workspace = get_workspace_for_member(request, slug)
    inbox = Inbox.for_workspace(workspace)
    context = {
        "workspace": workspace,
        "inbox_public_url": services.inbox_url(workspace),  # not "inbox_url": the nav uses it
        "status_choices": Inbox.ResponseStatus.choices,
        **_requests_context(request, inbox),
    }
    return render(request, "inbox/inbox.html", context)


def inbox_requests(request, slug):
    """The received-requests list alone, polled by the page every few seconds."""
    if not request.user.is_authenticated:
        # A poll after the session ended would swap the login form into the list: send the
        # whole page to the login form instead, coming back here afterwards.
        login_url = redirect_to_login(reverse("inbox", args=[slug])).url
        if request.htmx:
            return HttpResponseClientRedirect(login_url)
        return redirect(login_url)
    workspace = get_workspace_for_member(request, slug)
    inbox = Inbox.for_workspace(workspace)
    context = {"workspace": workspace, **_requests_context(request, inbox)}
    return _no_store(render(request, "inbox/_requests.html", context))


@login_required
@require_POST
def inbox_status(request, slug):
    workspace = get_workspace_for_admin(request, slug)
    inbox = Inbox.for_workspace(workspace)
    try:
        services.set_response_status(inbox, int(request.POST.get("response_status", "")))
    except ValueError:
        messages.error(request, "Choose one of the listed statuses for the inbox to answer with.")
    else:
        label = Inbox.ResponseStatus(inbox.response_status).label
        messages.success(request, f"The test inbox now answers every request with {label}.")
    return redirect("inbox", slug=slug)


@login_required
@require_POST
def inbox_clear(request, slug):
    workspace = get_workspace_for_admin(request, slug)
    deleted = services.clear(Inbox.for_workspace(workspace))
    noun = "request" if deleted == 1 else "requests"
    messages.success(request, f"Cleared {deleted} {noun} from the test inbox.")
    return redirect("inbox", slug=slug)

"""The chat API: ``POST /api/v1/chatflows/<campaignId>/messages`` with the workspace's client
token, for the channels (WhatsApp, SMS...) that relay what a user typed.

Request ``{"phoneNumber": "+525500000000", "text": "1"}``; answer
``200 {"reply": "...", "webhooks_fired": ["msg_..."]}`` (the message ids the receivers see as
``webhook-id``). A bad token is 401, a campaign this workspace does not have is 404 (whoever
owns it), a body with problems is 400 listing each (field, message), a paused campaign 409.
Nothing is stored unless the answer is 200.
"""

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from chatflows import engine
from chatflows.models import MAX_TEXT, PHONE_RE, Campaign
from deliveries.api import authenticate, error_response, parse_json

MAX_BODY_BYTES = 64 * 1024
FIELDS = ("phoneNumber", "text")
EXAMPLE = '{"phoneNumber": "+525500000000", "text": "1"}'


def validate_message(data) -> tuple[str, str, list[dict]]:
    """(phone, text, errors) for a request body already parsed as JSON."""
    if not isinstance(data, dict):
        return "", "", [_error(None, f"The body must be a JSON object like {EXAMPLE}.")]
    errors = []
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        message = f"Unknown field '{unknown[0]}': send phoneNumber and text."
        errors.append(_error(unknown[0], message))
    phone = data.get("phoneNumber")
    if phone is None:
        errors.append(_error(
            "phoneNumber",
            "phoneNumber is required: the user's number in E.164 format, such as +525500000000.",
        ))
    elif not isinstance(phone, str) or not PHONE_RE.fullmatch(phone):
        errors.append(_error(
            "phoneNumber",
            "phoneNumber must be in E.164 format: a + and 7 to 15 digits, no spaces, such as "
            "+525500000000.",
        ))
    text = data.get("text")
    if text is None:
        errors.append(_error("text", "text is required: what the user sent."))
    elif not isinstance(text, str):
        errors.append(_error("text", "text must be a string."))
    elif not text.strip():
        errors.append(_error("text", "text is empty: send what the user typed."))
    elif len(text) > MAX_TEXT:
        errors.append(_error(
            "text", f"text is too long: {len(text):,} characters, the limit is {MAX_TEXT:,}."
        ))
    if errors:
        return "", "", errors
    return phone, text, []


def _error(field, message) -> dict:
    return {"field": field, "message": message}


@csrf_exempt
def messages(request, campaign_id):
    """The chat API: 503 JSON (never a 500) while the database is unreachable."""
    try:
        return _messages(request, campaign_id)
    except DatabaseError:
        return error_response(503, "The chatbot store is unavailable: retry shortly.",
                              headers={"Retry-After": "5"})


def _messages(request, campaign_id):
    if request.method != "POST":
        return error_response(405, "Use POST.", headers={"Allow": "POST"})
    workspace = authenticate(request)
    if workspace is None:
        return error_response(
            401, "Missing or invalid client token. Send 'Authorization: Bearer <client token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    campaign = Campaign.objects.filter(workspace=workspace, campaign_id=campaign_id).first()
    if campaign is None:
        return error_response(404, f"This workspace has no campaign {campaign_id}.")
    too_big = error_response(413, "The body is over 64 KiB.")
    try:
        raw = request.body
    except RequestDataTooBig:
        return too_big
    if len(raw) > MAX_BODY_BYTES:
        return too_big
    try:
        data = parse_json(raw)
    except ValueError as exc:
        return error_response(400, str(exc))
    phone, text, errors = validate_message(data)
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    if not campaign.is_active:
        return error_response(
            409, f"Campaign {campaign.campaign_id} is paused: an admin can activate it in the "
            "editor.",
        )
    try:
        reply = engine.handle_message(campaign, phone, text)
    except DatabaseError:
        return error_response(503, "The chatbot is unavailable: retry shortly.",
                              headers={"Retry-After": "5"})
    return JsonResponse(
        {"reply": reply.text, "webhooks_fired": [d.message_id for d in reply.fired]}
    )

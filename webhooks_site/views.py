from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from webhooks_site.health import health


@never_cache
def healthz(request):
    ok, report = health()
    return JsonResponse(report, status=200 if ok else 503)

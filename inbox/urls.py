from django.urls import path, re_path

from inbox import views

SETTINGS = "w/<slug:slug>/settings/integrations/test-inbox/"

urlpatterns = [
    path("inbox/<str:token>/", views.receive, name="inbox_receive"),
    # The same inbox without the trailing slash (a POST cannot follow APPEND_SLASH's redirect)
    # and with any path below the token, as receivers are often configured.
    re_path(
        r"^inbox/(?P<token>[A-Za-z0-9_-]+)(?:/(?P<subpath>.+))?$",
        views.receive,
        name="inbox_receive_any",
    ),
    path(SETTINGS, views.inbox_page, name="inbox"),
    path(SETTINGS + "requests/", views.inbox_requests, name="inbox_requests"),
    path(SETTINGS + "status/", views.inbox_status, name="inbox_status"),
    path(SETTINGS + "clear/", views.inbox_clear, name="inbox_clear"),
]

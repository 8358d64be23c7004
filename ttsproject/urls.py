from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import include, path, re_path
from django.views.static import serve

# The lists need the width (voices and tasks have many columns at 1280 px); Home lists every model.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("admin/", admin.site.urls),
    # Reference audio and samples, for the curators' preview players (staff only).
    re_path(r"^media/(?P<path>.*)$", staff_member_required(serve), {"document_root": settings.MEDIA_ROOT}, name="media"),
    path("", include("synthesis.urls")),
    path("", include("tasks.urls")),
]


def not_found(request, exception):
    """An API path that does not exist answers JSON like every other API error; the page, docs and
    admin keep Django's page."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    from synthesis.api.auth import for_browsers

    if for_browsers(request.path):
        return page_not_found(request, exception)
    return JsonResponse({"detail": f"no endpoint at {request.path} (for {request.method})"}, status=404)


handler404 = not_found

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

"""API keys (created with their token shown once, revoked at once) and their usage per day."""
from __future__ import annotations

import io

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils import timezone

from . import keys, usage
from .models import SCOPE_CHOICES, ApiKey, UsageDay


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False)

    class Meta:
        model = ApiKey
        fields = ("name", "owner", "scopes", "requests_per_minute", "characters_per_day", "expires_at")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "owner", "prefix", "scope_list", "requests_per_minute", "characters_per_day", "status",
                    "created_at", "last_used_at", "expires_at")
    list_filter = ("owner", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix", "owner__username")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, key: ApiKey):
        return ", ".join(key.scopes) or "-"

    @admin.display(description="status")
    def status(self, key: ApiKey):
        if key.revoked_at:
            return "revoked"
        if key.expires_at and key.expires_at <= timezone.now():
            return "expired"
        return "active"

    def save_model(self, request, obj, form, change):
        token = None if change else keys.assign_token(obj)
        super().save_model(request, obj, form, change)
        keys.forget_cached()
        if token:
            self.message_user(request, f"The token of {obj.name!r} is {token} — copy it now: only its digest is "
                                       "kept, so it cannot be shown again.", messages.WARNING)

    @admin.action(description="Revoke selected keys (refused from the next request on)")
    def revoke(self, request, queryset):
        self.message_user(request, f"Revoked {keys.revoke(queryset)} key(s)", messages.SUCCESS)


@admin.register(UsageDay)
class UsageDayAdmin(admin.ModelAdmin):
    list_display = ("day", "key", "dialect", "engine", "requests", "characters", "audio_seconds_rounded")
    list_filter = ("key", "dialect", "engine", "key__owner")
    date_hierarchy = "day"
    actions = ["export_csv"]
    change_list_template = "admin/synthesis/usageday/change_list.html"

    @admin.display(description="audio seconds", ordering="audio_seconds")
    def audio_seconds_rounded(self, row: UsageDay):
        return round(row.audio_seconds, 2)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:  # totals over what the filters selected, every page together
            response.context_data["usage_totals"] = usage.totals(changelist.queryset)
        return response

    @admin.action(description="Export selected usage as CSV")
    def export_csv(self, request, queryset):
        out = io.StringIO()
        usage.write_csv(queryset, out)
        return HttpResponse(out.getvalue(), content_type="text/csv",
                            headers={"Content-Disposition": 'attachment; filename="tts-usage.csv"'})

from django.contrib import admin

from voicescount.geography.models import Area, AreaGrouping, AreaSuccession


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "level", "gso_code", "valid_from", "valid_to"]
    list_filter = ["country_code", "level"]
    search_fields = ["code", "name", "name_en", "gso_code", "iso_code"]
    exclude = ["geometry"]


@admin.register(AreaGrouping)
class AreaGroupingAdmin(admin.ModelAdmin):
    list_display = ["scheme", "member", "group"]
    list_filter = ["scheme"]


@admin.register(AreaSuccession)
class AreaSuccessionAdmin(admin.ModelAdmin):
    list_display = ["predecessor", "successor", "date", "legal_basis"]

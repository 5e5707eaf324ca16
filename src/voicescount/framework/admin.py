from django.contrib import admin

from voicescount.framework.models import Code, CodeList, Framework, Goal, Indicator, Target


@admin.register(Framework)
class FrameworkAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "kind", "organisation"]
    list_filter = ["kind"]
    search_fields = ["code", "name_en", "name_vi"]


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = ["number", "short_title_en", "short_title_vi", "vi_unofficial"]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["code", "goal", "vi_unofficial"]
    list_filter = ["goal"]
    search_fields = ["code", "title_en", "title_vi"]


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["code", "framework", "organisation", "is_public", "vi_unofficial", "direction"]
    list_filter = ["framework", "is_public", "target__goal", "direction"]
    search_fields = ["code", "title_en", "title_vi", "unsd_codes"]
    autocomplete_fields = ["linked_global", "target"]
    readonly_fields = ["sort_key"]


class CodeInline(admin.TabularInline):
    model = Code
    extra = 1


@admin.register(CodeList)
class CodeListAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_vi", "sdmx_id"]
    search_fields = ["code", "name_en", "name_vi"]
    inlines = [CodeInline]

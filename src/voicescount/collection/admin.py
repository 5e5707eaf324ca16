"""Admin for studies and what they collected. Personal data is never shown here (it stays encrypted)."""

from django.contrib import admin

from voicescount.collection.models import (
    AuditEntry,
    ConsentRecord,
    ImportBatch,
    Instrument,
    QuarantinedRecord,
    Study,
    Submission,
)


class InstrumentInline(admin.TabularInline):
    model = Instrument
    fields = ["form_id", "version", "title", "filename", "uploaded"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["title_en", "organisation", "method", "period_start", "period_end", "status", "is_public"]
    list_filter = ["method", "status", "is_public", "organisation"]
    search_fields = ["title_en", "title_vi", "slug"]
    prepopulated_fields = {"slug": ["title_en"]}
    filter_horizontal = ["areas"]
    inlines = [InstrumentInline]


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["form_id", "version", "study", "uploaded"]
    search_fields = ["form_id", "title", "study__title_en"]
    readonly_fields = ["source", "definition", "xform", "uploaded", "uploaded_by"]


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["__str__", "study", "received", "accepted", "duplicates", "quarantined"]
    list_filter = ["source", "study"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["id", "study", "instance_id", "respondent", "submitted_at", "consent_status"]
    list_filter = ["study", "consent_status"]
    search_fields = ["instance_id", "respondent"]
    exclude = ["personal"]
    readonly_fields = [f.name for f in Submission._meta.fields if f.name != "personal"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # accepted data is never edited in place


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(admin.ModelAdmin):
    list_display = ["id", "study", "locator", "status", "created"]
    list_filter = ["status", "study"]
    exclude = ["payload"]
    readonly_fields = [f.name for f in QuarantinedRecord._meta.fields if f.name != "payload"]

    def has_add_permission(self, request):
        return False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    list_display = ["study", "respondent", "kind", "recorded", "recorded_by"]
    list_filter = ["kind", "study"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "study", "action"]
    list_filter = ["action"]
    readonly_fields = ["at", "actor", "study", "action", "details"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

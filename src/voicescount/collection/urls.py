from django.urls import path

from voicescount.collection import views

app_name = "collection"
urlpatterns = [
    path("studies/", views.study_list, name="studies"),
    path("studies/<slug:slug>/", views.study_detail, name="study"),
    path("studies/<slug:slug>/import/", views.import_page, name="import"),
    path("studies/<slug:slug>/imports/jobs/<int:job_id>/", views.import_job_page, name="import_job"),
    path(
        "studies/<slug:slug>/imports/jobs/<int:job_id>/progress/",
        views.import_job_progress,
        name="import_job_progress",
    ),
]

"""Workspace addresses of the results part (included by workspace.urls): compute, review, publish."""

from django.urls import path

from voicescount.workspace import views_results as views

urlpatterns = [
    path("studies/<slug:slug>/results/", views.results, name="results"),
    path("studies/<slug:slug>/results/compute/", views.compute, name="compute"),
    path("studies/<slug:slug>/results/jobs/<int:job_id>/", views.compute_job, name="compute-job"),
    path("studies/<slug:slug>/results/runs/<int:run_id>/preview/", views.run_preview, name="run-preview"),
    path("studies/<slug:slug>/results/runs/<int:run_id>/publish/", views.publish, name="run-publish"),
    path("studies/<slug:slug>/results/<slug:code>/unpublish/", views.unpublish, name="unpublish"),
]

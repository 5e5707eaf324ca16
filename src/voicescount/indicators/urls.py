from django.urls import path

from voicescount.indicators import views

app_name = "indicators"

urlpatterns = [
    path("studies/<slug:slug>/indicators/", views.study_indicators, name="study-indicators"),
    path(
        "studies/<slug:slug>/indicators/<slug:code>/reproduction.zip",
        views.reproduction_pack,
        name="reproduction-pack",
    ),
]

from django.urls import path, register_converter

from voicescount.publishing import views


class IndicatorCodeConverter:
    regex = r"[0-9]{1,2}\.[0-9a-z]{1,2}\.[0-9]{1,2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(IndicatorCodeConverter, "indicator")

app_name = "publishing"
urlpatterns = [
    path("", views.home, name="home"),
    path("goals/<int:number>/", views.goal_detail, name="goal"),
    path("indicators/<indicator:code>/", views.indicator_detail, name="indicator"),
    path("indicators/<indicator:code>/runs/<int:run_id>/", views.indicator_breakdown, name="breakdown"),
    path(
        "indicators/<indicator:code>/runs/<int:run_id>/download/<str:fmt>/", views.download, name="download"
    ),
    path("open-data/voicescount-open-data.zip", views.data_package, name="data-package"),
    path("open-data/sdmx/structure.xml", views.sdmx_structure, name="sdmx-structure"),
    path("open-data/sdmx/sdg-dsd-1.14.xml", views.sdg_dsd, name="sdg-dsd"),
    path("map/", views.province_map, name="map"),
    path("map/provinces-<str:version>.geojson", views.provinces_geojson, name="provinces-geojson"),
    path("studies/", views.study_list, name="studies"),
    path("studies/<slug:slug>/", views.study_detail, name="study"),
    path("about/", views.about, name="about"),
]

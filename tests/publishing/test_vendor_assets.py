"""The front-end assets copied from npm (scripts/vendor_assets.py) survive production's static pipeline:
``voicescount serve`` in production runs ``collectstatic`` with whitenoise's manifest storage, which
resolves every file a stylesheet or script names (its source map too) and fails on a missing one."""

import json

from django.core.management import call_command

PRODUCTION_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"
VENDORED = ("vendor/vega.min.js", "vendor/vega-lite.min.js", "vendor/vega-embed.min.js", "vendor/htmx.min.js")
API_DOCS = ("vendor/swagger-ui-bundle.js", "vendor/swagger-ui.css")


def test_production_collects_every_vendored_asset(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    call_command("collectstatic", interactive=False, verbosity=0)
    paths = json.loads((tmp_path / "staticfiles.json").read_text(encoding="utf-8"))["paths"]
    missing = [name for name in (*VENDORED, *API_DOCS) if name not in paths]
    assert not missing, f"not collected (make install runs npm ci and scripts/vendor_assets.py): {missing}"

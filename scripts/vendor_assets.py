"""Copy the front-end assets installed by ``npm ci`` into the Python package's static files.

VoicesCount serves every asset itself (no CDN). npm installs pinned versions (package-lock.json);
this script copies the few built files the pages use, with their licences, to
``src/voicescount/publishing/static/vendor/``. Run by ``make install`` and by ``.ci/run``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
TARGET = ROOT / "src" / "voicescount" / "publishing" / "static" / "vendor"

ASSETS = {
    "vega": ["build/vega.min.js"],
    "vega-lite": ["build/vega-lite.min.js"],
    "vega-embed": ["build/vega-embed.min.js"],
    "htmx.org": ["dist/htmx.min.js"],
    # The API documentation at /api/docs (Swagger UI); the stylesheet names its source map, which
    # production's manifest storage resolves, so the map comes along.
    "swagger-ui-dist": ["swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui.css.map"],
}


def main() -> int:
    if not NODE_MODULES.is_dir():
        print("node_modules/ is missing: run `npm ci` in the repository first.", file=sys.stderr)
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    versions = {}
    for package, files in ASSETS.items():
        pkg_dir = NODE_MODULES / package
        meta = json.loads((pkg_dir / "package.json").read_text(encoding="utf-8"))
        versions[package] = {"version": meta["version"], "license": meta.get("license", "")}
        for rel in files:
            shutil.copy2(pkg_dir / rel, TARGET / Path(rel).name)
        for licence in ("LICENSE", "LICENSE.md", "LICENSE.txt"):
            if (pkg_dir / licence).exists():
                shutil.copy2(pkg_dir / licence, TARGET / f"{package}.LICENSE.txt")
                break
        if (pkg_dir / "NOTICE").exists():  # Apache-2.0: the notice travels with the files
            shutil.copy2(pkg_dir / "NOTICE", TARGET / f"{package}.NOTICE.txt")
    (TARGET / "versions.json").write_text(json.dumps(versions, indent=2) + "\n", encoding="utf-8")
    print(f"Copied {len(ASSETS)} front-end packages to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

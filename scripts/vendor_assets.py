"""Copy the front-end assets installed by ``npm ci`` into the Python package's static files.

VoicesCount serves every asset itself (no CDN). npm installs pinned versions (package-lock.json);
this script copies the few built files the pages use, with their licences, to
``src/voicescount/publishing/static/vendor/``. Run by ``make install`` and by ``.ci/run``.

A built file that names its source map (``//# sourceMappingURL=…``) gets the map beside it when the package
ships one, and loses the reference when it does not: in production ``collectstatic`` (whitenoise's manifest
storage) resolves every file a script or stylesheet names and fails on a missing one.
"""

from __future__ import annotations

import json
import re
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
    "swagger-ui-dist": ["swagger-ui-bundle.js", "swagger-ui.css"],  # the API documentation, /api/docs
}
# The last line of a built script or stylesheet that names its source map.
SOURCE_MAP = re.compile(
    rb"\n(?://# sourceMappingURL=(?P<js>[^\s]+)|/\*# sourceMappingURL=(?P<css>[^\s*]+) ?\*/)\s*$"
)


def copy_built_file(source: Path, target_dir: Path) -> None:
    """Copy ``source`` into ``target_dir`` with the source map it names, or without naming a map that the
    package does not ship."""
    content = source.read_bytes()
    found = SOURCE_MAP.search(content, max(0, len(content) - 1000))
    if found is None:
        shutil.copy2(source, target_dir / source.name)
        return
    map_file = source.parent / (found["js"] or found["css"]).decode()
    if map_file.is_file() and map_file.parent == source.parent:
        shutil.copy2(source, target_dir / source.name)
        shutil.copy2(map_file, target_dir / map_file.name)
    else:
        (target_dir / source.name).write_bytes(content[: found.start()] + b"\n")


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
            copy_built_file(pkg_dir / rel, TARGET)
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

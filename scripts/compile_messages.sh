#!/bin/sh
# Compile the Vietnamese translations: the main catalogue plus one file per workspace part
# (locale/vi/LC_MESSAGES/parts/*.po, so that people working on different parts never edit one file).
# The first translation of a message wins. Run after editing any .po file; the .mo is committed.
set -eu
cd "$(dirname "$0")/../src/voicescount/locale/vi/LC_MESSAGES"
# shellcheck disable=SC2046
msgcat --use-first django.po $(ls parts/*.po 2>/dev/null) -o - | msgfmt --check-format -o django.mo -
echo "compiled $(msgfmt --statistics -o /dev/null django.mo 2>&1 || true)" >/dev/null

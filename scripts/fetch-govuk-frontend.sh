#!/bin/sh
# Vendor the built GOV.UK Frontend assets into the web service's static files, from npm.
# A fresh machine has only Python, so what this writes is committed; run it again (with npm)
# only to move to another version, then check the pages and commit.
#
# Kept: the minified CSS, its images and the MIT licence. Not kept: the JavaScript (the pages
# work without it) and the GDS Transport fonts, which are for services on GOV.UK only: the
# CSS's @font-face rules for them are taken out and every font-family naming GDS Transport
# is left with the Design System's fallback (arial, sans-serif), so that no page asks for a
# font file the service does not have (see strip_gds_transport below).
set -eu
VERSION=5.14.0
HERE=$(cd "$(dirname "$0")/.." && pwd)
DEST="$HERE/src/grants/web/static/govuk"
# strip_gds_transport FILE: the transformation applied to the vendored CSS (run it on the
# committed file too when changing it by hand): no @font-face for GDS Transport, and
# "GDS Transport," dropped from every font-family, leaving arial, sans-serif.
strip_gds_transport() {
  sed -E -i 's/@font-face\{font-family:"?GDS Transport"?;[^}]*\}//g; s/"?GDS Transport"?,//g' "$1"
  if grep -q "GDS Transport" "$1"; then
    echo "$1 still names GDS Transport: change strip_gds_transport for this version" >&2
    exit 1
  fi
}
# --strip-only: apply it to the committed CSS, without npm.
if [ "${1:-}" = "--strip-only" ]; then
  strip_gds_transport "$DEST/govuk-frontend.min.css"
  exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "govuk-frontend@$VERSION" >/dev/null && tar xzf "govuk-frontend-$VERSION.tgz")
rm -rf "$DEST"
mkdir -p "$DEST/assets/images"
cp "$WORK/package/dist/govuk/govuk-frontend.min.css" "$DEST/"
strip_gds_transport "$DEST/govuk-frontend.min.css"
cp "$WORK/package/dist/govuk/assets/images/"* "$DEST/assets/images/"
# The npm package says "license": "MIT" and ships no licence file: keep the licence's text,
# as in the govuk-frontend repository's LICENSE.txt.
cat > "$DEST/LICENSE.txt" <<'LICENCE'
The MIT License (MIT)

Copyright (c) 2018 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
LICENCE
echo "govuk-frontend $VERSION (npm), dist/govuk: CSS and images; MIT licence" > "$DEST/VERSION"
echo "wrote $DEST (govuk-frontend $VERSION)"

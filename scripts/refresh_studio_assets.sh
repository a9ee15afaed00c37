#!/usr/bin/env bash
# Rebuild the studio's vendored browser assets (src/mtbrules/studio/static/vendor/) from the
# npm registry: htmx as published, and one CodeMirror 6 bundle (editor, YAML mode, lint gutter)
# made with esbuild. Nothing is fetched at run time; the studio serves these files itself.
# Each package's licence is copied next to the assets. Run from anywhere:
#   bash scripts/refresh_studio_assets.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="$here/src/mtbrules/studio/static/vendor"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# Versions are pinned here; bump them deliberately and re-run the browser tests.
HTMX=2.0.9
CODEMIRROR=6.0.2  # the CodeMirror 6 meta-package (6.65.x on npm is a CodeMirror 5 build)
LANG_YAML=6.1.3
LINT=6.9.8
ESBUILD=0.28.2
cd "$scratch"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund \
  "htmx.org@$HTMX" "codemirror@$CODEMIRROR" "@codemirror/lang-yaml@$LANG_YAML" \
  "@codemirror/lint@$LINT" "esbuild@$ESBUILD"
cat > entry.js <<'JS'
// The studio's editor: CodeMirror 6 with YAML highlighting and a lint gutter.
export { EditorView, basicSetup } from "codemirror";
export { EditorState } from "@codemirror/state";
export { keymap } from "@codemirror/view";
export { yaml } from "@codemirror/lang-yaml";
export { linter, lintGutter, forceLinting } from "@codemirror/lint";
JS
npx esbuild entry.js --bundle --minify --format=iife --global-name=CM \
  --legal-comments=none --outfile="$scratch/codemirror.min.js" --log-level=warning
mkdir -p "$out/licenses"
cp "$scratch/codemirror.min.js" "$out/codemirror.min.js"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx.min.js"
# Every package inside the bundle, with its licence and version.
rm -f "$out/licenses/"*
{
  echo "Vendored by scripts/refresh_studio_assets.sh on $(date -u +%Y-%m-%d)."
  echo "htmx.min.js: htmx.org $HTMX"
  echo "codemirror.min.js: esbuild $ESBUILD bundle of:"
} > "$out/licenses/README.txt"
for dir in node_modules/htmx.org node_modules/codemirror node_modules/@codemirror/* node_modules/@lezer/* \
           node_modules/crelt node_modules/style-mod node_modules/w3c-keyname node_modules/@marijn/*; do
  [ -d "$dir" ] || continue
  name="$(node -p "require('./$dir/package.json').name")"
  version="$(node -p "require('./$dir/package.json').version")"
  licence="$(node -p "require('./$dir/package.json').license")"
  [ "$name" = "htmx.org" ] || echo "  $name $version ($licence)" >> "$out/licenses/README.txt"
  file="$(ls "$dir" | grep -iE '^licen[cs]e' | head -1 || true)"
  [ -n "$file" ] && cp "$dir/$file" "$out/licenses/$(echo "$name" | sed 's|^@||; s|/|-|').LICENSE.txt"
done
echo "assets written to $out"

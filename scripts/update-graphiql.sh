#!/usr/bin/env bash
# Re-fetches the browser bundles the GraphiQL page loads (api/assets/graphiql/vendor/) from the
# npm registry, at the exact versions and integrity hashes of api/assets/graphiql/package-lock.json.
# The files are committed, so building the server never needs npm: run this only to check the
# committed files or after changing a version in package.json.
#
# Usage: scripts/update-graphiql.sh           copy the pinned files into vendor/
#        scripts/update-graphiql.sh --check   fail if vendor/ differs from the pinned packages
#        scripts/update-graphiql.sh --upgrade re-resolve package.json's versions first, then copy
set -euo pipefail
cd "$(dirname "$0")/../api/assets/graphiql"

mode="${1:-}"
work=$(mktemp -d "${TMPDIR:-/tmp}/graphiql-assets.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ "$mode" = "--upgrade" ]; then
  npm install --package-lock-only --ignore-scripts --no-audit --no-fund
fi
cp package.json package-lock.json "$work/"
# `npm ci` checks every package against the lock file's integrity hash; no install scripts run.
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

# What the page loads: minified production builds only.
modules="$work/node_modules"
files=(
  "react/umd/react.production.min.js:react.production.min.js"
  "react/LICENSE:LICENSE.react"
  "react-dom/umd/react-dom.production.min.js:react-dom.production.min.js"
  "react-dom/LICENSE:LICENSE.react-dom"
  "graphiql/graphiql.min.js:graphiql.min.js"
  "graphiql/graphiql.min.css:graphiql.min.css"
  "graphiql/LICENSE:LICENSE.graphiql"
)
mkdir -p "$work/vendor"
for pair in "${files[@]}"; do
  cp "$modules/${pair%%:*}" "$work/vendor/${pair##*:}"
done
{
  echo "Copied by scripts/update-graphiql.sh from the npm packages pinned in ../package-lock.json:"
  for package in react react-dom graphiql; do
    printf '%s %s\n' "$package" "$(node -p "require('$modules/$package/package.json').version")"
  done
} >"$work/vendor/VERSIONS"

if [ "$mode" = "--check" ]; then
  diff -r "$work/vendor" vendor && echo "update-graphiql: vendor/ matches package-lock.json"
else
  rm -rf vendor
  cp -r "$work/vendor" vendor
  echo "update-graphiql: vendor/ updated"; cat vendor/VERSIONS
fi

#!/usr/bin/env bash
# Compiles the pure-Kotlin `core` module of the Android sample and runs its JUnit tests with
# kotlinc from the npm package kotlin-compiler and junit4 from Debian (no Gradle or Maven is
# reachable here, docs/DESIGN.md §8). Installs both on first use. Idempotent.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# The Kotlin version is the one the Android app declares (its version catalogue), so the core suite is
# compiled by the same compiler release that Gradle uses for the app (issue #17).
CATALOGUE=$REPO/runtimes/android_kotlin/gradle/libs.versions.toml
KOTLIN_VERSION=$(sed -n 's/^kotlin *= *"\([^"]*\)".*/\1/p' "$CATALOGUE")
JVM_TARGET=$(sed -n 's/^jvmTarget *= *"\([^"]*\)".*/\1/p' "$CATALOGUE")
[[ -n $KOTLIN_VERSION && -n $JVM_TARGET ]] || { echo "error: no 'kotlin' or 'jvmTarget' version in $CATALOGUE" >&2; exit 1; }
# What must already be on the machine: say it in one line each, with how to get it.
command -v java >/dev/null || { echo "error: java not found: the Kotlin core tests run on a JVM (Debian: sudo apt-get install default-jre-headless)" >&2; exit 1; }
command -v npm >/dev/null || { echo "error: npm not found: kotlinc comes from the npm package kotlin-compiler (Debian: sudo apt-get install npm)" >&2; exit 1; }
# One folder per version, so checkouts that declare different versions do not reinstall each other's.
# /opt when it is writable (root), else the user's cache: the suite needs no root once junit4 is there.
DEFAULT_KROOT=/opt/meshpose-kotlin
if ! { mkdir -p "$DEFAULT_KROOT" 2>/dev/null && [[ -w $DEFAULT_KROOT ]]; } && [[ ! -x $DEFAULT_KROOT/$KOTLIN_VERSION/node_modules/kotlin-compiler/bin/kotlinc ]]; then
  DEFAULT_KROOT=${XDG_CACHE_HOME:-$HOME/.cache}/meshpose-kotlin
fi
KROOT=${KOTLIN_ROOT:-$DEFAULT_KROOT}/$KOTLIN_VERSION
KHOME=$KROOT/node_modules/kotlin-compiler
OUT=$REPO/build/kotlin-core
if [[ ! -x $KHOME/bin/kotlinc ]] || ! grep -q "\"version\": \"$KOTLIN_VERSION\"" "$KHOME/package.json"; then
  # The npm package must exist in exactly the declared version: no silent fallback to another compiler.
  if [[ $(npm view "kotlin-compiler@$KOTLIN_VERSION" version 2>/dev/null) != "$KOTLIN_VERSION" ]]; then
    echo "error: the app declares Kotlin $KOTLIN_VERSION ($CATALOGUE) but npm has no kotlin-compiler@$KOTLIN_VERSION" >&2
    exit 1
  fi
  echo ">> installing kotlin-compiler@$KOTLIN_VERSION (npm) into $KROOT"
  # Its own package.json, so npm installs here instead of walking up to a parent folder's project.
  mkdir -p "$KROOT" && { [[ -f $KROOT/package.json ]] || echo '{"private": true}' > "$KROOT/package.json"; }
  (cd "$KROOT" && npm install --silent --no-audit --no-fund --save-exact "kotlin-compiler@$KOTLIN_VERSION")
fi
echo ">> kotlinc $KOTLIN_VERSION (the app's declared Kotlin, $CATALOGUE)"
if [[ ! -f /usr/share/java/junit4.jar ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "error: /usr/share/java/junit4.jar not found; installing it needs root once: sudo apt-get install junit4" >&2
    exit 1
  fi
  echo ">> installing junit4 (Debian)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq junit4 >/dev/null
fi
CP=/usr/share/java/junit4.jar:/usr/share/java/hamcrest-core.jar
CORE=$REPO/runtimes/android_kotlin/core/src
rm -rf "$OUT" && mkdir -p "$OUT"
echo ">> kotlinc core (main + test)"
"$KHOME/bin/kotlinc" -nowarn -jvm-target "$JVM_TARGET" -cp "$CP" -d "$OUT/classes" \
  $(find "$CORE/main/kotlin" "$CORE/test/kotlin" -name '*.kt') 2>&1 | grep -v "^warning" || true
[[ -d $OUT/classes/com ]] || { echo "error: kotlinc failed" >&2; exit 1; }
TESTS=$(cd "$OUT/classes" && find . -name '*Test.class' | sed 's#^\./##; s#\.class$##; s#/#.#g' | sort)
echo ">> JUnit: $(echo $TESTS | wc -w) test classes"
java -Dmeshpose.repo="$REPO" -cp "$OUT/classes:$KHOME/lib/kotlin-stdlib.jar:$CP" org.junit.runner.JUnitCore $TESTS \
  | tee "$OUT/junit.txt" | grep -vE "^\s+at |^$" | tail -n 30
grep -q "^OK (" "$OUT/junit.txt"

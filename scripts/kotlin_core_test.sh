#!/usr/bin/env bash
# Compiles the pure-Kotlin `core` module of the Android sample and runs its JUnit tests with
# kotlinc from the npm package kotlin-compiler and junit4 from Debian (no Gradle or Maven is
# reachable here, docs/DESIGN.md §8). Installs both on first use. Idempotent.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
KOTLIN_VERSION=2.4.20
KROOT=${KOTLIN_ROOT:-/opt/meshpose-kotlin}
KHOME=$KROOT/node_modules/kotlin-compiler
OUT=$REPO/build/kotlin-core
if [[ ! -x $KHOME/bin/kotlinc ]] || ! grep -q "\"version\": \"$KOTLIN_VERSION\"" "$KHOME/package.json"; then
  echo ">> installing kotlin-compiler@$KOTLIN_VERSION (npm) into $KROOT"
  mkdir -p "$KROOT" && (cd "$KROOT" && npm install --silent --no-audit --no-fund "kotlin-compiler@$KOTLIN_VERSION")
fi
if [[ ! -f /usr/share/java/junit4.jar ]]; then
  echo ">> installing junit4 (Debian)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq junit4 >/dev/null
fi
CP=/usr/share/java/junit4.jar:/usr/share/java/hamcrest-core.jar
CORE=$REPO/runtimes/android_kotlin/core/src
rm -rf "$OUT" && mkdir -p "$OUT"
echo ">> kotlinc core (main + test)"
"$KHOME/bin/kotlinc" -nowarn -jvm-target 17 -cp "$CP" -d "$OUT/classes" \
  $(find "$CORE/main/kotlin" "$CORE/test/kotlin" -name '*.kt') 2>&1 | grep -v "^warning" || true
[[ -d $OUT/classes/com ]] || { echo "error: kotlinc failed" >&2; exit 1; }
TESTS=$(cd "$OUT/classes" && find . -name '*Test.class' | sed 's#^\./##; s#\.class$##; s#/#.#g' | sort)
echo ">> JUnit: $(echo $TESTS | wc -w) test classes"
java -Dmeshpose.repo="$REPO" -cp "$OUT/classes:$KHOME/lib/kotlin-stdlib.jar:$CP" org.junit.runner.JUnitCore $TESTS \
  | tee "$OUT/junit.txt" | grep -vE "^\s+at |^$" | tail -n 30
grep -q "^OK (" "$OUT/junit.txt"

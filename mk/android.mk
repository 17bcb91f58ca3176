# Android sample: the pure-Kotlin core module compiles and is tested here (kotlinc + JUnit 4).
.PHONY: test-android

test-android: ## Compile runtimes/android_kotlin/core and run its JUnit tests (installs kotlinc, junit4)
	@echo ">> Android core (Kotlin) tests"
	@scripts/kotlin_core_test.sh

test-native:: test-android

# Android sample: the pure-Kotlin core module compiles and is tested here (kotlinc + JUnit 4);
# the result JSON its tests write is then checked with the harness's schema validator.
.PHONY: test-android android-fixtures

test-android: $(STAMP) ## Compile runtimes/android_kotlin/core, run its JUnit tests (installs kotlinc, junit4), validate its result JSON
	@echo ">> Android core (Kotlin) tests"
	@scripts/kotlin_core_test.sh
	@echo ">> Kotlin benchmark result JSON against benchmarks/schema/result.schema.json"
	@$(PY) -m benchmarks.validate build/kotlin-core/out/*.json

android-fixtures: $(STAMP) ## Regenerate the Kotlin sampler's parity fixture (model/pipeline/crop.py) and the detector contract fixture (export/detector/contract.py)
	@$(PY) runtimes/android_kotlin/tools/make_sampler_fixture.py
	@PYTHONPATH=. $(PY) runtimes/android_kotlin/tools/make_detector_contract_fixture.py

test-native:: test-android

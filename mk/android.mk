# Android sample: the pure-Kotlin core module compiles and is tested here (kotlinc + JUnit 4);
# the result JSON its tests write is then checked with the harness's schema validator.
.PHONY: test-android android-fixtures sampler-fixture

test-android: $(STAMP) ## Compile runtimes/android_kotlin/core, run its JUnit tests (installs kotlinc, junit4), validate its result JSON
	@echo ">> Android core (Kotlin) tests"
	@scripts/kotlin_core_test.sh
	@echo ">> Kotlin benchmark result JSON against benchmarks/schema/result.schema.json"
	@$(PY) -m benchmarks.validate build/kotlin-core/out/*.json

android-fixtures: $(STAMP) sampler-fixture ## Regenerate the Kotlin detector contract fixture (export/detector/contract.py) and the shared sampler fixture
	@PYTHONPATH=. $(PY) runtimes/android_kotlin/tools/make_detector_contract_fixture.py

sampler-fixture: $(STAMP) ## Regenerate tests/fixtures/sampler_cases.json (frame -> model input by model/pipeline/crop.py), read by both apps' suites
	@$(PY) -m model.tools.sampler_fixture

test-native:: test-android

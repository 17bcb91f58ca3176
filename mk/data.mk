# Synthetic data (issue "Data, training and evaluation"): Anny renders in the DensePose-COCO layout.
DATA_DIR ?= data/synthetic
DATA_COUNT ?=

.PHONY: data

data: $(STAMP) ## Render the synthetic train/val/test splits into data/synthetic (DATA_COUNT=N per split)
	@$(PY) -m model.data.generate --out $(DATA_DIR) $(if $(DATA_COUNT),--count $(DATA_COUNT))

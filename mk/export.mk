# Export targets: the user's main job. Artifacts land in artifacts/$(VARIANT)/.
# KEEP_FAILED=1: publish a run whose parity gate failed (its contracts say parity_gate.passed = false);
# otherwise such a run publishes nothing and leaves its report in artifacts/$(VARIANT)/failed/.
# GPU_PRECISION=fp16|fp32|fp16-fp32acc: what the Android app asks LiteRT's GPU for (gated, and written into the
# contracts); default the variant's (xs: fp16).
EXPORT_ARGS = --variant $(VARIANT) $(if $(CKPT),--ckpt $(CKPT)) $(if $(TEMPLATE),--template $(TEMPLATE)) $(if $(GOLDEN),--golden $(GOLDEN)) $(if $(filter-out 0,$(STRICT)),--strict) \
  $(if $(filter-out 0,$(KEEP_FAILED)),--keep-failed) $(if $(GPU_PRECISION),--gpu-precision $(GPU_PRECISION))

.PHONY: export-coreml export-tflite export-onnx export-qnn export parity fixtures golden-poses

export-coreml: $(STAMP) ## Core ML .mlpackage (+ contract, ANE residency, fp16 parity, fixtures); COMPRESS=palettize8|linear8 INT8=1 (W8A8)
	@echo ">> export Core ML: VARIANT=$(VARIANT) $(if $(CKPT),CKPT=$(CKPT),(shipped checkpoint))"
	@$(PY) -m export coreml $(EXPORT_ARGS) $(if $(COMPRESS),--compress $(COMPRESS)) $(if $(INT8),--int8)

export-tflite: $(STAMP) system-gpu ## TFLite fp32/fp16 and the two-part GPU deployment (+ contracts, GPU-delegate gates, parity); INT8=1 NHWC=1 GPU_PRECISION=fp16|fp32|fp16-fp32acc
	@echo ">> export TFLite: VARIANT=$(VARIANT) $(if $(CKPT),CKPT=$(CKPT),(shipped checkpoint))"
	@$(PY) -m export tflite $(EXPORT_ARGS) $(if $(INT8),--int8) $(if $(NHWC),--nhwc)

export-onnx: $(STAMP) ## ONNX (dynamo) + onnx.checker + onnxruntime parity
	@echo ">> export ONNX: VARIANT=$(VARIANT)"
	@$(PY) -m export onnx $(EXPORT_ARGS)

export-qnn: $(STAMP) ## Snapdragon NPUs: per-SoC LiteRT AOT .tflite + QNN EPContext .onnx, NPU residency, HTP simulator parity; SOC=SM8650 INT8=1
	@echo ">> export QNN (Snapdragon HTP): VARIANT=$(VARIANT)"
	@$(PY) -m export qnn $(EXPORT_ARGS) $(if $(INT8),--int8) $(foreach s,$(SOC),--soc $(s))

export: $(STAMP) system-gpu ## Every format for VARIANT (Core ML, TFLite, ONNX, QNN), with one merged parity report
	@echo ">> export all formats: VARIANT=$(VARIANT)"
	@$(PY) -m export all $(EXPORT_ARGS) $(if $(COMPRESS),--compress $(COMPRESS)) $(if $(INT8),--int8)

parity: $(STAMP) ## Re-run the artifacts already exported on the golden inputs (converts nothing) and print one table
	@$(PY) -m export parity --variant $(VARIANT) $(if $(CKPT),--ckpt $(CKPT)) $(if $(TEMPLATE),--template $(TEMPLATE)) $(if $(GOLDEN),--golden $(GOLDEN)) $(if $(filter-out 0,$(STRICT)),--strict)

golden-poses: $(STAMP) ## Re-sample the golden set's and the int8 calibration's Anny poses (export/assets/golden_poses.safetensors)
	@$(PY) -m export.golden_poses

fixtures: ## Refresh the committed app fixtures (tests/fixtures/*_xs*) from an xs export
	@$(MAKE) --no-print-directory export-onnx export-tflite VARIANT=xs
	cp artifacts/xs/fixtures/golden.json tests/fixtures/golden_xs.json
	cp artifacts/xs/meshpose_xs.onnx.contract.json tests/fixtures/contract_xs.json
	cp artifacts/xs/meshpose_xs_gpu_two_part.contract.json tests/fixtures/contract_xs_gpu_two_part.json
	cp artifacts/xs/fixtures/golden_input_0.png tests/fixtures/golden_input_xs.png

# The authors' released MeshPose (non-commercial research licence): their weights -> the `paper` variant.
.PHONY: import-paper

import-paper: $(STAMP) ## Import the authors' release: PAPER_CKPT=... PAPER_UPSAMPLER=... PAPER_REPO=... [SMPL=...] [OUT=...]
	@if [ -z "$(PAPER_CKPT)" ] || [ -z "$(PAPER_UPSAMPLER)" ] || [ -z "$(PAPER_REPO)" ]; then \
	  echo "usage: make import-paper PAPER_CKPT=hrnet32_checkpoint_EXTERNAL.pth.tar PAPER_UPSAMPLER=upsampler_checkpoint_EXTERNAL.pth.tar PAPER_REPO=path/to/MeshPose [SMPL=SMPL_NEUTRAL.npz] [OUT=...]"; exit 2; fi
	@$(PY) -m model.tools.import_paper --ckpt $(PAPER_CKPT) --upsampler $(PAPER_UPSAMPLER) --repo $(PAPER_REPO) \
	  $(if $(SMPL),--smpl $(SMPL)) $(if $(OUT),--out $(OUT))

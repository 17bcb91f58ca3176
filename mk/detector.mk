# Person detector (MediaPipe BlazePose pose_detection, Apache-2.0): fetched, converted, exported beside the mesh.
# Nothing of MediaPipe is committed: the wheel is cached in .cache/detector/, the weights live in
# model/checkpoints/vendor/ (both git-ignored). See model/detector/README.md.
DETECTOR_FORMAT ?= all

.PHONY: detector export-detector detector-fixtures detect detector-test detector-graph

detector: $(STAMP) ## Fetch the pinned mediapipe wheel (sha256-checked), extract pose_detection.tflite, convert to safetensors
	@$(PY) -m model.tools.detector_fetch
	@$(PY) -m model.tools.blazepose_import

export-detector: $(STAMP) system-gpu detector ## Detector to artifacts/detector/ (ONNX, TFLite + GPU gate, Core ML + ANE check); DETECTOR_FORMAT=all|onnx|tflite|coreml
	@$(PY) -m export.detector $(DETECTOR_FORMAT) $(if $(COMPRESS),--compress $(COMPRESS)) $(if $(INT8),--int8) $(if $(NHWC),--nhwc)

detector-fixtures: $(STAMP) detector ## Regenerate tests/fixtures/detector_golden.json (the Swift/Kotlin ports' reference)
	@$(PY) -m model.tools.detector_fixtures

detect: $(STAMP) detector ## People in IMAGE=photo.jpg (boxes, scores) and an overlay in artifacts/detect/; MAX_PEOPLE=2
	@if [ -z "$(IMAGE)" ]; then echo "usage: make detect IMAGE=photo.jpg [MAX_PEOPLE=2]"; exit 2; fi
	@$(PY) -m model.tools.detect $(IMAGE) $(if $(MAX_PEOPLE),--max-people $(MAX_PEOPLE))

detector-test: $(STAMP) ## Detector tests (fast; the export test runs with -m slow)
	@$(PY) -m pytest -q tests/test_detector_pipeline.py tests/test_detector_model.py tests/test_detector_fixtures.py tests/test_detector_graph.py

detector-graph: $(STAMP) ## Print MediaPipe's pose-detection graphs from the pinned wheel (where the pipeline constants come from)
	@$(PY) -m model.tools.mediapipe_graph

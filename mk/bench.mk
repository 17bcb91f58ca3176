# Benchmark harness. DEVICE=host|pixel8|pixel9|galaxy-s24|iphone15pro|iphone16|mac (see benchmarks/devices.json);
# phones: ACCEL=all|npu|gpu|cpu (rows), BENCHMARK_MODEL= (your own binary instead of LiteRT's, fetched once);
# MODE=app runs the Kotlin app's benchmark mode on MODEL= (e.g. meshpose_xs_gpu_two_part; default the one-file model)
DEVICE ?= host
RUNS ?= 100
WARMUP ?= 10
SUSTAINED ?= 0
MODE ?= model
ACCEL ?= all
BENCH_ARGS = --device $(DEVICE) --variant $(VARIANT) --runs $(RUNS) --warmup $(WARMUP) --sustained $(SUSTAINED) \
	--mode $(MODE) --accelerator $(ACCEL) $(if $(BENCHMARK_MODEL),--benchmark-model $(BENCHMARK_MODEL)) $(if $(MODEL),--model $(MODEL)) $(if $(SERIAL),--serial $(SERIAL)) \
	$(if $(UDID),--udid $(UDID)) $(if $(APP),--app $(APP))

.PHONY: bench bench-report bench-publish bench-ci bench-devices

bench: $(STAMP) ## Benchmark DEVICE (default host) for VARIANT; phones: NPU/GPU/CPU rows (ACCEL=), or the app (MODE=app MODEL=), tools fetched once; results in artifacts/bench/
	@if [ "$(DEVICE)" = "host" ]; then $(MAKE) --no-print-directory export-tflite export-onnx VARIANT=$(VARIANT) $(if $(filter paper,$(VARIANT)),,INT8=1); fi
	@echo ">> bench DEVICE=$(DEVICE) VARIANT=$(VARIANT)"
	@$(PY) -m benchmarks run $(BENCH_ARGS)

bench-report: $(STAMP) ## One table + latency plot per run (published and local) into artifacts/bench/report/
	@$(PY) -m benchmarks report

bench-publish: $(STAMP) ## Copy run RUN=<id> into benchmarks/results/ and regenerate the committed benchmarks/report/
	@test -n "$(RUN)" || { echo "error: pass RUN=<run id> (folders in artifacts/bench/)" >&2; exit 2; }
	@$(PY) -m benchmarks publish $(RUN)

bench-devices: $(STAMP) ## List the registered devices
	@$(PY) -m benchmarks devices

bench-ci: $(STAMP) ## A short host benchmark of the tiny variant (CI)
	@$(MAKE) --no-print-directory export-tflite export-onnx VARIANT=tiny
	@$(PY) -m benchmarks run --device host --variant tiny --runs 20 --warmup 3 --quick --results build/bench-ci

.PHONY: bench-train-step

bench-train-step: $(STAMP) ## Training step time of VARIANT on TRAIN_DEVICE (auto: a GPU if any): closed-form vs autograd argsoftmax gradient, and batch building (needs make data)
	@$(PY) -m benchmarks.train_step --variant $(VARIANT) --device $(TRAIN_DEVICE)

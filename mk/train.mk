# Training and evaluation (issue "Data, training and evaluation").
TRAIN_OUT ?= runs/$(VARIANT)
# Extra arguments of `python -m model.train`, e.g. TRAIN_ARGS="--max-steps 7000 --lr 1e-3".
TRAIN_ARGS ?=
# Where training and distillation run (auto: a GPU when CUDA is available, else the CPU; cpu; cuda; cuda:N)
# and how many processes build batches ahead of the step (a GPU needs several; the batches are the same).
TRAIN_DEVICE ?= auto
WORKERS ?= 0
DEVICE_ARGS = --device $(TRAIN_DEVICE) --workers $(WORKERS)

.PHONY: train

train: $(STAMP) ## Train VARIANT on data/synthetic into runs/VARIANT (RESUME=1 continues; NPROC=2 uses torchrun; TRAIN_DEVICE=cuda WORKERS=8 on a GPU; TRAIN_ARGS=...)
	@if [ ! -f $(DATA_DIR)/train/annotations.json ]; then $(MAKE) --no-print-directory data; fi
	@if [ -n "$(NPROC)" ]; then \
	  $(PY) -m torch.distributed.run --standalone --nproc_per_node $(NPROC) -m model.train --variant $(VARIANT) \
	    --data $(DATA_DIR) --out $(TRAIN_OUT) $(if $(RESUME),--resume) $(DEVICE_ARGS) $(TRAIN_ARGS); \
	else \
	  $(PY) -m model.train --variant $(VARIANT) --data $(DATA_DIR) --out $(TRAIN_OUT) $(if $(RESUME),--resume) \
	    $(DEVICE_ARGS) $(TRAIN_ARGS); \
	fi

.PHONY: eval

eval: $(STAMP) ## Evaluate CKPT (default: the shipped xs checkpoint) on data/synthetic test beside the mean-template baseline when a train split exists (to artifacts/<v>/eval.json; a CKPT other than the shipped one: beside it); ARTIFACT=path evaluates an exported .onnx/.tflite/.mlpackage itself
	@if [ -n "$(ARTIFACT)" ]; then $(PY) -m export.evaluate $(ARTIFACT) --data $(DATA_DIR) $(if $(LIMIT),--limit $(LIMIT)); \
	else $(PY) -m model.eval --variant $(VARIANT) --data $(DATA_DIR) --ckpt $(if $(CKPT),$(CKPT),shipped); fi

.PHONY: select-checkpoint

select-checkpoint: $(STAMP) system-gpu ## Measure RUN=runs/xs's kept checkpoints (--keep-every) beside the shipped one: accuracy, spread share, fp16 maxima (LiteRT GPU; FP16_PATHS=gpu,gpu-fp32acc,qnn adds its fp32-accumulation mode and the HTP simulator; FP16_COUNT renders, default 64) on SPLIT=val; names the candidates
	@if [ -z "$(RUN)" ]; then echo "usage: make select-checkpoint RUN=runs/xs [SPLIT=val] [REFERENCE=ckpt] [FP16_PATHS=gpu,qnn] [FP16_COUNT=500]"; exit 2; fi
	@$(PY) -m export.select_checkpoint $(RUN) --variant $(VARIANT) --data $(DATA_DIR) --split $(if $(SPLIT),$(SPLIT),val) \
	  $(if $(REFERENCE),--reference $(REFERENCE)) $(if $(FP16_PATHS),--paths $(FP16_PATHS)) \
	  $(if $(FP16_COUNT),--count $(FP16_COUNT)) --json $(RUN)/select_checkpoint.json

ABLATION_STEPS ?= 600

.PHONY: ablations

ablations: $(STAMP) ## The paper's two ablations on synthetic data (UV decoding of CKPT; loss groups: 3 runs of ABLATION_STEPS) into artifacts/ablations
	@if [ ! -f $(DATA_DIR)/train/annotations.json ]; then $(MAKE) --no-print-directory data; fi
	@$(PY) -m model.eval.ablations uv --variant $(VARIANT) --data $(DATA_DIR) \
	  --ckpt $(if $(CKPT),$(CKPT),shipped)
	@$(PY) -m model.eval.ablations losses --variant $(VARIANT) --data $(DATA_DIR) --steps $(ABLATION_STEPS)

.PHONY: demo

demo: $(STAMP) ## Every person's mesh over IMAGE (PNG + side view) or VIDEO (MP4, tracked) into artifacts/demo/, with demo.json; MAX_PEOPLE=2 BOX=x0,y0,x1,y1 FIT=1
	@$(PY) -m model.tools.demo --variant $(VARIANT) $(if $(IMAGE),--image $(IMAGE)) $(if $(VIDEO),--video $(VIDEO)) \
	  $(if $(CKPT),--ckpt $(CKPT)) $(if $(BOX),--box=$(BOX)) $(if $(MAX_PEOPLE),--max-people $(MAX_PEOPLE)) $(if $(FIT),--fit)

# Distillation: a teacher (the imported paper model or any checkpoint) labels your unlabelled photos or
# video; a phone variant learns from it (model/train/distill.py).
DISTILL_OUT ?= runs/distill/$(STUDENT)
STUDENT ?= xs
DISTILL_ARGS ?=
LABEL_ARGS ?=

.PHONY: distill

distill: $(STAMP) ## Distil TEACHER=ckpt into STUDENT=xs on IMAGES=dir|video (NPROC=2 for torchrun; TRAIN_DEVICE, WORKERS as for train; DISTILL_ARGS=...)
	@if [ -z "$(TEACHER)" ] || [ -z "$(IMAGES)" ]; then \
	  echo "usage: make distill TEACHER=teacher.safetensors IMAGES=folder|video.mp4 [STUDENT=xs] [DISTILL_ARGS=\"--max-steps 2000\"]"; exit 2; fi
	@$(PY) -m model.train.distill label --teacher $(TEACHER) --images $(IMAGES) --out $(DISTILL_OUT)/labels \
	  --device $(TRAIN_DEVICE) $(LABEL_ARGS)
	@if [ -n "$(NPROC)" ]; then \
	  $(PY) -m torch.distributed.run --standalone --nproc_per_node $(NPROC) -m model.train.distill train \
	    --labels $(DISTILL_OUT)/labels --student $(STUDENT) --out $(DISTILL_OUT) $(if $(RESUME),--resume) \
	    $(DEVICE_ARGS) $(DISTILL_ARGS); \
	else \
	  $(PY) -m model.train.distill train --labels $(DISTILL_OUT)/labels --student $(STUDENT) --out $(DISTILL_OUT) \
	    $(if $(RESUME),--resume) $(DEVICE_ARGS) $(DISTILL_ARGS); \
	fi

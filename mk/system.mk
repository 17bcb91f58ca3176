# System packages. The LiteRT GPU accelerator needs a Vulkan device: Mesa lavapipe >= 25.
.PHONY: system-gpu

system-gpu: ## Install the software Vulkan device (Mesa lavapipe, bookworm-backports) for the GPU gates
	@scripts/install_vulkan_lavapipe.sh
	@echo "system-gpu: mesa-vulkan-drivers $$(dpkg-query -W -f='$${Version}' mesa-vulkan-drivers) (lavapipe) ready"

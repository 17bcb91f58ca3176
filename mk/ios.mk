# iOS sample: the pure-Swift MeshPoseKit package builds and is tested here with Debian trixie's
# Swift 6 toolchain in a debootstrap root (docs/DESIGN.md §8). Needs root (debootstrap, chroot, mounts).
# The result JSON its tests write is then checked with the harness's schema validator.
.PHONY: test-ios swift-root
SWIFT_OUT := build/swift-kit/out

swift-root: ## Create the Debian trixie root with the Swift toolchain (/opt/meshpose-swift-root)
	@scripts/swift_root.sh setup

test-ios: $(STAMP) ## Build runtimes/ios_swift/MeshPoseKit, run its XCTest suite (sets up the Swift root), validate its result JSON
	@echo ">> iOS MeshPoseKit (Swift) tests"
	@rm -rf $(SWIFT_OUT)
	@scripts/swift_root.sh test runtimes/ios_swift/MeshPoseKit 2>&1 | grep -E "error|failed|Executed|passed at" | tail -n 12; \
	  exit $${PIPESTATUS[0]}
	@echo ">> Swift benchmark result JSON against benchmarks/schema/result.schema.json"
	@$(PY) -m benchmarks.validate $(SWIFT_OUT)/*.json

test-native:: test-ios

# iOS sample: the pure-Swift MeshPoseKit package builds and is tested here with Debian trixie's
# Swift 6 toolchain in a debootstrap root (DESIGN.md §8). Needs root (debootstrap, chroot, mounts).
.PHONY: test-ios swift-root

swift-root: ## Create the Debian trixie root with the Swift toolchain (/opt/meshpose-swift-root)
	@scripts/swift_root.sh setup

test-ios: ## Build runtimes/ios_swift/MeshPoseKit and run its XCTest suite (sets up the Swift root)
	@echo ">> iOS MeshPoseKit (Swift) tests"
	@scripts/swift_root.sh test runtimes/ios_swift/MeshPoseKit 2>&1 | grep -E "error|failed|Executed|passed at" | tail -n 12; \
	  exit $${PIPESTATUS[0]}

test-native:: test-ios

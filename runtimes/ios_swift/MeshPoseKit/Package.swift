// swift-tools-version:5.9
// MeshPoseKit: the sample app's pure logic (no Apple framework imports), so it builds and
// is tested on Linux too.
import PackageDescription

let package = Package(
    name: "MeshPoseKit",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [.library(name: "MeshPoseKit", targets: ["MeshPoseKit"])],
    targets: [
        .target(name: "MeshPoseKit"),
        .testTarget(name: "MeshPoseKitTests", dependencies: ["MeshPoseKit"]),
    ]
)

import Foundation

/// Everything around MediaPipe's BlazePose person-detector network, ported line by line from the Python
/// reference model/pipeline/detector.py (which cites the MediaPipe calculator and graph option behind every
/// constant) and tested against tests/fixtures/detector_golden.json: letterbox, input sampling at MediaPipe's
/// pixel phase, SSD anchors, box and keypoint decoding, clipped sigmoid scores, MediaPipe's weighted
/// non-maximum suppression, the way back to frame pixels, the person box and the rotated ROI. Doubles
/// throughout: the fixture holds float64 results, which floats do not reach to 1e-4 px.
public enum PersonDetector {
    public static let inputSize = 224
    public static let numCoords = 12
    public static let numKeypoints = 4
    public static let decodeScale = 224.0
    public static let scoreClipping = 100.0
    public static let minScore = 0.5
    public static let nmsIoU = 0.3
    public static let defaultMaxPeople = 2
    public static let centerKeypoint = 0  // mid-hip
    public static let scaleKeypoint = 1  // encodes the full-body size and rotation
    public static let roiTargetAngleDeg = 90.0
    public static let roiScale = 1.25
    // SsdAnchorsCalculatorOptions of the PoseDetectionCpu graph.
    static let minAnchorScale = 0.1484375
    static let maxAnchorScale = 0.75
    static let strides = [8, 16, 32, 32, 32]

    /// frame = (x0, y0) + scale * input; padding as fractions of the input (left, top, right, bottom).
    public struct Letterbox: Equatable, Sendable {
        public let frameWidth: Int, frameHeight: Int
        public let x0: Double, y0: Double, scale: Double
        public let padding: [Double]
    }

    /// MediaPipe's pose ROI: a square of side `size` about (cx, cy), turned by `rotation` radians.
    public struct Roi: Equatable, Sendable {
        public let cx: Double, cy: Double, size: Double, rotation: Double
    }

    /// One person in frame pixels; the detection's own box is the face box.
    public struct Person: Sendable {
        public let score: Double
        public let personBox: [Double]
        public let faceBox: [Double]
        public let keypoints: [[Double]]
        public let roi: Roi
        public let anchor: Int
    }

    /// The square input around a frame: centred, the short side padded equally, scaled to `size`.
    public static func letterbox(frameWidth: Int, frameHeight: Int, size: Int = inputSize) -> Letterbox? {
        guard frameWidth > 0, frameHeight > 0 else { return nil }
        let side = Double(max(frameWidth, frameHeight))
        let padX = (1.0 - Double(frameWidth) / side) / 2.0, padY = (1.0 - Double(frameHeight) / side) / 2.0
        return Letterbox(frameWidth: frameWidth, frameHeight: frameHeight, x0: Double(frameWidth) / 2.0 - side / 2.0,
                         y0: Double(frameHeight) / 2.0 - side / 2.0, scale: side / Double(size),
                         padding: [padX, padY, padX, padY])
    }

    /// The detector input (224 x 224 x 3, HWC, RGB in [0, 255]) of an RGBA frame: input pixel index u reads
    /// frame pixel index x0 + scale u bilinearly (MediaPipe's phase), black outside the frame, then rounded to
    /// whole levels (half to even) because MediaPipe resamples the 8-bit image.
    public static func sampleInput(rgba: [UInt8], width: Int, height: Int, rowStride: Int) -> ([Float], Letterbox)? {
        guard let lb = letterbox(frameWidth: width, frameHeight: height), rowStride >= 4 * width,
              rgba.count >= rowStride * (height - 1) + 4 * width else { return nil }
        func px(_ x: Int, _ y: Int, _ c: Int) -> Double {
            (x < 0 || y < 0 || x >= width || y >= height) ? 0 : Double(rgba[y * rowStride + 4 * x + c])
        }
        var out = [Float](repeating: 0, count: inputSize * inputSize * 3)
        for v in 0..<inputSize {
            let fy = lb.y0 + lb.scale * Double(v), y0 = Int(fy.rounded(.down)), ay = fy - Double(y0)
            for u in 0..<inputSize {
                let fx = lb.x0 + lb.scale * Double(u), x0 = Int(fx.rounded(.down)), ax = fx - Double(x0)
                for c in 0..<3 {
                    let top = px(x0, y0, c) * (1 - ax) + px(x0 + 1, y0, c) * ax
                    let bottom = px(x0, y0 + 1, c) * (1 - ax) + px(x0 + 1, y0 + 1, c) * ax
                    let value = (top * (1 - ay) + bottom * ay).rounded(.toNearestOrEven)
                    out[(v * inputSize + u) * 3 + c] = Float(min(255, max(0, value)))
                }
            }
        }
        return (out, lb)
    }

    static func layerScale(_ index: Int) -> Double {
        minAnchorScale + (maxAnchorScale - minAnchorScale) * Double(index) / Double(strides.count - 1)
    }

    /// (x_centre, y_centre) of the 2254 anchors in normalised input coordinates, the network's output order.
    public static func generateAnchors() -> [[Double]] {
        var out: [[Double]] = []
        var layer = 0
        while layer < strides.count {
            var perCell = 0, last = layer
            while last < strides.count && strides[last] == strides[layer] {
                perCell += 2  // one aspect ratio (1.0) and the interpolated-scale anchor; all fixed 1 x 1
                last += 1
            }
            let fm = Int((Double(inputSize) / Double(strides[layer])).rounded(.up))
            for y in 0..<fm { for x in 0..<fm { for _ in 0..<perCell {
                out.append([(Double(x) + 0.5) / Double(fm), (Double(y) + 0.5) / Double(fm)])
            } } }
            layer = last
        }
        return out
    }

    static func iou(_ a: [Double], _ b: [Double]) -> Double {
        let iw = min(a[2], b[2]) - max(a[0], b[0]), ih = min(a[3], b[3]) - max(a[1], b[1])
        if iw < 0 || ih < 0 { return 0 }
        let inter = iw * ih
        let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return union > 0 ? inter / union : 0
    }

    static func toFrame(_ x: Double, _ y: Double, _ lb: Letterbox) -> [Double] {
        let side = lb.scale * Double(inputSize)
        return [lb.x0 + side * x, lb.y0 + side * y]
    }

    /// Square around the body circle (mid-hip centre, radius to the full-body point), not clipped.
    public static func personBox(_ kp: [[Double]]) -> [Double] {
        let c = kp[centerKeypoint], s = kp[scaleKeypoint]
        let r = hypot(s[0] - c[0], s[1] - c[1])
        return [c[0] - r, c[1] - r, c[0] + r, c[1] + r]
    }

    /// PoseDetectionToRoi: centre the mid-hip, side 2 r x 1.25, rotation normalised to [-pi, pi).
    public static func poseRoi(_ kp: [[Double]]) -> Roi {
        let c = kp[centerKeypoint], s = kp[scaleKeypoint]
        var rotation = roiTargetAngleDeg * Double.pi / 180 - atan2(-(s[1] - c[1]), s[0] - c[0])
        rotation -= 2 * Double.pi * ((rotation + Double.pi) / (2 * Double.pi)).rounded(.down)
        return Roi(cx: c[0], cy: c[1], size: 2 * hypot(s[0] - c[0], s[1] - c[1]) * roiScale, rotation: rotation)
    }

    /// Raw outputs (regressors N x 12 row-major, score logits N) on a letterboxed frame -> up to `maxPeople`
    /// people, highest score first. Nil when the sizes do not fit the anchors.
    public static func detectPeople(regressors: [Double], logits: [Double], letterbox lb: Letterbox,
                                    maxPeople: Int = defaultMaxPeople, threshold: Double = minScore,
                                    anchors: [[Double]] = generateAnchors()) -> [Person]? {
        let n = anchors.count
        guard maxPeople >= 1, (0...1).contains(threshold), regressors.count == n * numCoords, logits.count == n
        else { return nil }
        var boxes = [[Double]](), kps = [[[Double]]](), probs = [Double]()
        for i in 0..<n {
            let r = i * numCoords, ax = anchors[i][0], ay = anchors[i][1]  // fixed anchor size: 1 x 1
            let cx = regressors[r] / decodeScale + ax, cy = regressors[r + 1] / decodeScale + ay
            let w = regressors[r + 2] / decodeScale, h = regressors[r + 3] / decodeScale
            boxes.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
            kps.append((0..<numKeypoints).map { k in
                [regressors[r + 4 + 2 * k] / decodeScale + ax, regressors[r + 5 + 2 * k] / decodeScale + ay]
            })
            probs.append(1 / (1 + exp(-min(scoreClipping, max(-scoreClipping, logits[i])))))
        }
        let candidates = (0..<n).filter { i in
            let w = boxes[i][2] - boxes[i][0], h = boxes[i][3] - boxes[i][1]
            return probs[i] >= threshold && w >= 0 && h >= 0 && !w.isNaN && !h.isNaN
        }
        // Weighted NMS: highest score first (ties: lower anchor first); the best and every box with IoU > 0.3
        // to it become one detection (score-weighted means of corners and keypoints).
        var order = candidates.sorted { probs[$0] != probs[$1] ? probs[$0] > probs[$1] : $0 < $1 }
        var people: [Person] = []
        while !order.isEmpty && people.count < maxPeople {
            let top = order[0]
            let members = order.filter { iou(boxes[$0], boxes[top]) > nmsIoU }
            let rest = order.filter { !members.contains($0) }
            var box = boxes[top], points = kps[top]
            if !members.isEmpty {
                let total = members.reduce(0) { $0 + probs[$1] }
                box = [0, 0, 0, 0]
                points = Array(repeating: [0, 0], count: numKeypoints)
                for m in members {
                    let wt = probs[m] / total
                    for c in 0..<4 { box[c] += wt * boxes[m][c] }
                    for k in 0..<numKeypoints { for c in 0..<2 { points[k][c] += wt * kps[m][k][c] } }
                }
            }
            let framePoints = points.map { toFrame($0[0], $0[1], lb) }
            let face = toFrame(box[0], box[1], lb) + toFrame(box[2], box[3], lb)
            people.append(Person(score: probs[top], personBox: personBox(framePoints), faceBox: face,
                                 keypoints: framePoints, roi: poseRoi(framePoints), anchor: top))
            if rest.count == order.count { break }
            order = rest
        }
        return people
    }
}

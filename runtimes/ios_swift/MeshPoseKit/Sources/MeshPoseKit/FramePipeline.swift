import Foundation

/// detect -> crop -> infer -> decode -> track -> smooth, for up to `config.maxPeople` people: a port of
/// model/pipeline/tracker.py `FramePipeline` (same steps, order, tie-breaking and arithmetic, in doubles),
/// tested against tests/fixtures/sequence_golden.json. The app supplies only the two closures; `Frame` is
/// whatever they take (a CVPixelBuffer in the app, anything in tests).
///
/// Per frame: detect when no person is tracked, or when fewer than `maxPeople` are and `detectEvery` frames
/// have passed since the last detection. Detections are matched to tracks greedily by IoU (highest first, ties
/// by track then detection order, at least `iouMatch`): a matched track keeps its crop and takes the
/// detection's score and box; an unmatched detection starts a track (ids from 1, fresh smoothing) while there is
/// room, highest score first. Every track's crop goes to `infer` in one call; the outputs are decoded to frame
/// pixels and each track's vertices and joints (concatenated) are smoothed by its own One Euro filter. A track
/// whose mesh shows too few visible vertices is lost (not drawn, dropped); otherwise its next crop is its visible
/// bounds' crop blended into the current one. Of two tracks overlapping more than `duplicateIoU`, the older
/// (smaller id) stays. Not thread-safe: call `process` from one queue.
public final class FramePipeline<Frame> {
    /// The people the detector finds in a frame.
    public typealias Detect = (Frame) throws -> [Detection]
    /// The model's outputs for each crop of a frame, one per crop, in order.
    public typealias Infer = (Frame, [Crop]) throws -> [RawOutputs]

    private struct Track {
        let id: Int
        var crop: Crop
        var box: Box
        var score: Double
        let filter: OneEuroFilter
        var detectionBox: Box  // the detector box that started or last confirmed the track
    }

    public let config: PipelineConfig
    private let detect: Detect
    private let infer: Infer
    private var tracks: [Track] = []
    private var nextId = 1
    private var framesSinceDetection: Int?

    public init(config: PipelineConfig, detect: @escaping Detect, infer: @escaping Infer) {
        self.config = config; self.detect = detect; self.infer = infer
    }

    private var wantsDetection: Bool {
        if tracks.isEmpty { return true }
        return tracks.count < config.maxPeople && (framesSinceDetection.map { $0 >= config.detectEvery } ?? true)
    }

    private func match(_ detections: [Detection]) {
        var pairs: [(iou: Double, ti: Int, di: Int)] = []
        for (ti, t) in tracks.enumerated() {
            for (di, d) in detections.enumerated() { pairs.append((Geometry.iou(t.box, d.box), ti, di)) }
        }
        pairs.sort { a, b in a.iou != b.iou ? a.iou > b.iou : (a.ti != b.ti ? a.ti < b.ti : a.di < b.di) }
        var usedT = Set<Int>(), usedD = Set<Int>()
        for p in pairs where !(p.iou < config.iouMatch) && !usedT.contains(p.ti) && !usedD.contains(p.di) {
            usedT.insert(p.ti); usedD.insert(p.di)
            tracks[p.ti].score = detections[p.di].score
            tracks[p.ti].detectionBox = detections[p.di].box
        }
        let unmatched = detections.indices.filter { !usedD.contains($0) }.sorted { a, b in
            detections[a].score != detections[b].score ? detections[a].score > detections[b].score : a < b
        }
        for di in unmatched {
            if tracks.count >= config.maxPeople { break }
            let d = detections[di]
            // Non-nil: process() passes only detections with area.
            let crop = Geometry.cropFromBox(d.box, inW: config.inW, inH: config.inH, expand: config.boxScale)!
            tracks.append(Track(id: nextId, crop: crop, box: d.box, score: d.score, filter: config.makeFilter(),
                                detectionBox: d.box))
            nextId += 1
        }
    }

    /// Runs the pipeline on one frame taken at `t` seconds. Rethrows what `detect` or `infer` throw; throws
    /// `PipelineError.badOutputs` when `infer` returns another number of outputs than crops, or outputs whose
    /// sizes do not fit (3 values per vertex and per joint).
    public func process(_ frame: Frame, t: Double) throws -> FrameResult {
        let detected = wantsDetection
        if detected {
            match(try detect(frame).filter { $0.box.x1 > $0.box.x0 && $0.box.y1 > $0.box.y0 })
            framesSinceDetection = 0
        } else if let n = framesSinceDetection {
            framesSinceDetection = n + 1
        }
        let crops = tracks.map(\.crop)
        let raws = crops.isEmpty ? [] : try infer(frame, crops)
        guard raws.count == crops.count else {
            throw PipelineError.badOutputs("infer returned \(raws.count) outputs for \(crops.count) crops")
        }
        var people: [Person] = [], kept: [Track] = [], lost: [Int] = []
        for (i, raw) in raws.enumerated() {
            var track = tracks[i]
            guard raw.vertices.count == 3 * raw.visibility.count, raw.joints.count % 3 == 0 else {
                throw PipelineError.badOutputs("track \(track.id): \(raw.vertices.count) vertex values for "
                                               + "\(raw.visibility.count) visibilities, \(raw.joints.count) joint values")
            }
            var mesh = Decoder.decode(vertices: raw.vertices, visibility: raw.visibility, joints: raw.joints,
                                      crop: crops[i], inW: config.inW, inH: config.inH,
                                      threshold: config.visibilityThreshold, expand: config.boxScale,
                                      origin: config.originPx)
            guard let next = mesh.nextCrop, let bounds = mesh.visibleBounds else {
                lost.append(track.id)
                continue
            }
            let smooth = track.filter.filter(mesh.vertices + mesh.joints, t: t)
            mesh.vertices = Array(smooth[..<mesh.vertices.count])
            mesh.joints = Array(smooth[mesh.vertices.count...])
            track.box = bounds
            people.append(Person(id: track.id, box: bounds, score: track.score, detectionBox: track.detectionBox,
                                 crop: crops[i], mesh: mesh))
            track.crop = Geometry.blend(track.crop, next, weight: config.cropSmoothing, inW: config.inW, inH: config.inH)
            kept.append(track)
        }
        // Two tracks that converged on one person: the older (smaller id) stays.
        var survivors: [Track] = []
        for track in kept.sorted(by: { $0.id < $1.id }) {
            if survivors.allSatisfy({ Geometry.iou(track.box, $0.box) <= config.duplicateIoU }) {
                survivors.append(track)
            } else {
                lost.append(track.id)
                people.removeAll { $0.id == track.id }
            }
        }
        tracks = survivors
        return FrameResult(detected: detected, crops: crops, people: people.sorted { $0.id < $1.id },
                           lost: lost.sorted())
    }
}

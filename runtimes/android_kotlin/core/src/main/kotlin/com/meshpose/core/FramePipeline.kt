package com.meshpose.core

/**
 * detect -> crop -> infer -> decode -> track -> smooth for up to `maxPeople` people: a line-by-line port
 * of model/pipeline/tracker.py `FramePipeline`, replayed against tests/fixtures/sequence_golden.json.
 *
 * Per frame: detect when no one is tracked, or when there is room and `detectEvery` frames have passed;
 * detections confirm tracks greedily by IoU (highest first) or start new ones (ids from 1, highest score
 * first). Every track's crop goes to [infer]; a track whose mesh shows too few visible vertices is lost,
 * the others are smoothed (One Euro on vertices and joints) and their crop blended towards the mesh's
 * visible bounds; of two tracks on one person the older id stays.
 *
 * [F] is the app's frame type; the pipeline only hands frames to [detect] and [infer]. Not thread-safe:
 * call [process] from one thread.
 */
class FramePipeline<F>(
    val config: PipelineConfig,
    /** The people in a frame (frame pixels); boxes without area are ignored. */
    private val detect: (F) -> List<Detection>,
    /** One [RawOutputs] per crop, in the crops' order. */
    private val infer: (F, List<Crop>) -> List<RawOutputs>,
) {
    private class Track(val id: Int, var crop: Crop, var box: Box, var score: Double, val filter: OneEuroFilter,
                        var detectionBox: Box)

    private class Candidate(val iou: Double, val ti: Int, val di: Int)

    private var tracks: List<Track> = emptyList()
    private var nextId = 1
    private var framesSinceDetection: Int? = null

    private fun wantsDetection(): Boolean {
        if (tracks.isEmpty()) return true
        val since = framesSinceDetection
        return tracks.size < config.maxPeople && (since == null || since >= config.detectEvery)
    }

    private fun match(detections: List<Detection>) {
        val c = config
        val pairs = tracks.indices
            .flatMap { ti -> detections.indices.map { di -> Candidate(Geometry.iou(tracks[ti].box, detections[di].box), ti, di) } }
            .sortedWith(compareBy<Candidate>({ -it.iou }, { it.ti }, { it.di }))
        val usedT = HashSet<Int>()
        val usedD = HashSet<Int>()
        for (p in pairs) {
            if (p.iou < c.iouMatch || p.ti in usedT || p.di in usedD) continue
            usedT.add(p.ti); usedD.add(p.di)
            tracks[p.ti].score = detections[p.di].score
            tracks[p.ti].detectionBox = detections[p.di].box
        }
        val grown = tracks.toMutableList()
        for (di in detections.indices.filter { it !in usedD }.sortedWith(compareBy({ -detections[it].score }, { it }))) {
            if (grown.size >= c.maxPeople) break
            val d = detections[di]
            grown.add(Track(nextId, Geometry.cropFromBox(d.box, c.inW, c.inH, c.boxScale), d.box, d.score,
                OneEuroFilter(c.minCutoff, c.beta, c.dCutoff), d.box))
            nextId++
        }
        tracks = grown
    }

    /** Runs the pipeline on one [frame] taken at [tSeconds]; throws IllegalStateException when [infer] miscounts. */
    fun process(frame: F, tSeconds: Double): FrameResult {
        val c = config
        val detected = wantsDetection()
        if (detected) {
            match(detect(frame).filter { it.box.x1 > it.box.x0 && it.box.y1 > it.box.y0 })
            framesSinceDetection = 0
        } else {
            framesSinceDetection = framesSinceDetection?.plus(1)
        }
        val crops = tracks.map { it.crop }
        val raws = if (crops.isEmpty()) emptyList() else infer(frame, crops)
        check(raws.size == crops.size) { "infer returned ${raws.size} outputs for ${crops.size} crops" }
        val people = ArrayList<Person>()
        val kept = ArrayList<Track>()
        val lost = ArrayList<Int>()
        for ((i, track) in tracks.withIndex()) {
            val crop = crops[i]
            val raw = raws[i]
            val mesh = Decoder.decode(raw.vertices, raw.visibility, raw.joints, crop, c.inW, c.inH,
                c.visibilityThreshold, c.boxScale, c.originPx)
            val next = mesh.nextCrop
            val bounds = mesh.visibleBounds
            if (next == null || bounds == null) {
                lost.add(track.id)
                continue
            }
            val smooth = track.filter.filter(mesh.vertices + mesh.joints, tSeconds)
            val nv = mesh.vertices.size
            val smoothed = mesh.copy(vertices = smooth.copyOfRange(0, nv), joints = smooth.copyOfRange(nv, smooth.size))
            track.box = bounds
            people.add(Person(track.id, track.box, track.score, track.detectionBox, crop, smoothed))
            track.crop = Geometry.blendCrops(track.crop, next, c.cropSmoothing, c.inW, c.inH)
            kept.add(track)
        }
        // Two tracks that converged on one person: the older (smaller id) stays.
        val survivors = ArrayList<Track>()
        for (track in kept.sortedBy { it.id }) {
            if (survivors.all { Geometry.iou(track.box, it.box) <= c.duplicateIou }) {
                survivors.add(track)
            } else {
                lost.add(track.id)
                people.removeAll { it.id == track.id }
            }
        }
        tracks = survivors
        return FrameResult(detected, crops, people.sortedBy { it.id }, lost.sorted())
    }
}

package com.meshpose.core

/** Tensor names and versions the app is written against; tests check them against the exported contract. */
object ModelIO {
    const val INPUT = "image"
    const val VERTICES = "vertices"
    const val VISIBILITY = "visibility"
    const val JOINTS = "joints"
    val OUTPUTS = listOf(VERTICES, VISIBILITY, JOINTS)

    /**
     * Contract versions this app can read (2: optional joints and faces, crop convention, licence; 3: vertices
     * and joints about the crop centre, with the origin_px to add; 4: a deployment of chained models, `parts`).
     */
    val SUPPORTED_CONTRACT_VERSIONS = setOf(1, 2, 3, 4)

    /** The version of a deployment of parts, and only of one: single-file contracts stay at 3 for older apps. */
    const val PARTS_CONTRACT_VERSION = 4

    /** The origin of outputs before contract version 3: crop pixels from the top-left corner already. */
    val CORNER_ORIGIN = listOf(0.0, 0.0, 0.0)
}

/** How a person box becomes the model input (contract v2 `crop`; v1 artifacts used these defaults). */
data class CropConvention(val boxScale: Double = Geometry.DEFAULT_EXPAND, val padRgb: List<Double> = listOf(0.0, 0.0, 0.0))

/** One output tensor of the model; [originPx] is added to vertices and joints for crop pixels from the corner. */
data class OutputSpec(val name: String, val shape: List<Int>, val units: String, val originPx: List<Double>? = null)

/** The model contract JSON written next to every exported artifact (docs/CONTRACTS.md §2). */
data class ModelContract(
    val contractVersion: Int,
    val name: String,
    val variant: String,
    val format: String,
    /** Weight precision of the artifact (fp32, fp16-weights, int8, ...), null when the contract omits it. */
    val precision: String?,
    val artifact: String,
    val trained: Boolean,
    val checkpointSha256: String?,
    val inputName: String,
    val inputShape: List<Int>,
    /** "NCHW" or "NHWC": how the app must lay out the float RGB input. */
    val layout: String,
    val inputWidth: Int,
    val inputHeight: Int,
    val outputs: List<OutputSpec>,
    /** Low-poly triangles; empty when the template has none (e.g. the authors' release): draw points. */
    val faces: List<IntArray>,
    /** Joint names; empty when the model has no joints output. */
    val jointNames: List<String>,
    val visibilityThreshold: Double,
    val crop: CropConvention = CropConvention(),
    /** False for weights whose licence forbids commercial use (the authors' release); null in v1 contracts. */
    val commercialUse: Boolean? = null,
    val licenseName: String? = null,
    /**
     * The LiteRT GPU precision the export gated (`gpu_precision`: fp16, fp32 or fp16-fp32acc; fp16 when absent).
     * A deployment of parts has none (this keeps the default, unused): each of its [parts] names its own.
     */
    val gpuPrecision: String = GpuPrecision.DEFAULT,
    /**
     * A deployment of chained models (contract version 4), in run order; empty for a single-file contract. The
     * contract's [artifact] is then the deployment's name (its contract is `<artifact>.contract.json`), not a file.
     */
    val parts: List<ModelPart> = emptyList(),
) {
    val numVertices: Int get() = outputs[0].shape[1]
    val hasJoints: Boolean get() = outputs.size == 3
    val numJoints: Int get() = if (hasJoints) outputs[2].shape[1] else 0
    val nhwc: Boolean get() = layout == "NHWC"

    /**
     * What decoding adds to raw (x, y, z) before the crop maps them to the frame: (W/2, H/2, 0) for graphs that
     * emit coordinates about the crop centre (v3, finer in fp16), zero before v3.
     */
    val originPx: List<Double> get() = outputs[0].originPx ?: ModelIO.CORNER_ORIGIN

    /** Refuses an artifact of another format (e.g. a Core ML contract copied into the Android app). */
    fun requireFormat(expected: String) {
        if (format != expected) {
            throw ContractException("the contract describes a '$format' model ($artifact); this app runs '$expected' models")
        }
    }

    companion object {
        /** Parses and checks a contract; every problem becomes a [ContractException] with a message for the user. */
        fun parse(text: String): ModelContract {
            val root = try {
                Json.parse(text).asObject("contract")
            } catch (e: JsonException) {
                throw ContractException("contract is not valid JSON: ${e.message}")
            }
            val version = root["contract_version"]
            if (version !is Double || version != Math.floor(version)) {
                throw ContractException("contract has no integer contract_version (found ${Json.write(version)})")
            }
            if (version.toInt() !in ModelIO.SUPPORTED_CONTRACT_VERSIONS) {
                throw ContractException(
                    "model contract version ${version.toInt()} is not supported by this app " +
                        "(it reads ${ModelIO.SUPPORTED_CONTRACT_VERSIONS.joinToString()}); update the app or re-export",
                )
            }
            return try {
                build(root, version.toInt())
            } catch (e: JsonException) {
                throw ContractException("contract is incomplete: ${e.message}")
            }
        }

        private fun build(root: Map<String, Any?>, version: Int): ModelContract {
            val input = root.obj("input")
            val outputs = root.list("outputs").mapIndexed { i, o ->
                val m = o.asObject("outputs[$i]")
                val origin = m["origin_px"]?.let { o ->
                    (o as? List<*>)?.map { it as? Double ?: throw JsonException("outputs[$i].origin_px must be numbers") }
                        ?: throw JsonException("outputs[$i].origin_px must be a list")
                }
                OutputSpec(m.str("name"), m.intList("shape"), m.str("units"), origin)
            }
            val joints = root["joints"]
            val crop = root["crop"] as? Map<*, *>
            val license = root["license"] as? Map<*, *>
            val c = ModelContract(
                contractVersion = version,
                name = root.str("name"),
                variant = root.str("variant"),
                format = root.str("format"),
                precision = root["precision"] as? String,
                artifact = root.str("artifact"),
                trained = root.obj("checkpoint")["trained"] as? Boolean ?: false,
                checkpointSha256 = root.obj("checkpoint")["sha256"] as? String,
                inputName = input.str("name"),
                inputShape = input.intList("shape"),
                layout = input.str("layout"),
                inputWidth = input.int("width"),
                inputHeight = input.int("height"),
                outputs = outputs,
                faces = root.obj("mesh").list("faces").mapIndexed { i, f -> f.asIntArray("mesh.faces[$i]") },
                jointNames = if (joints == null) emptyList() else root.obj("joints").list("names").map {
                    it as? String ?: throw JsonException("joint names must be strings")
                },
                visibilityThreshold = root.num("visibility_threshold"),
                crop = if (crop == null) CropConvention() else CropConvention(
                    boxScale = (crop["box_scale"] as? Double) ?: throw JsonException("crop.box_scale must be a number"),
                    padRgb = (crop["pad_rgb"] as? List<*>)?.map { it as? Double ?: throw JsonException("crop.pad_rgb must be numbers") }
                        ?: throw JsonException("crop.pad_rgb must be a list"),
                ),
                commercialUse = license?.get("commercial_use") as? Boolean,
                licenseName = license?.get("name") as? String,
                gpuPrecision = when (val p = root["gpu_precision"]) {
                    null -> GpuPrecision.DEFAULT
                    is String -> p.also { GpuPrecision.litertName(it) }
                    else -> throw JsonException("gpu_precision must be a string")
                },
                parts = ModelParts.parse(root, version),
            )
            c.check(input)
            if (c.parts.isNotEmpty()) ModelParts.checkChain(c)
            return c
        }
    }

    /** Checks that the contract describes the tensors the app feeds and reads (names, shapes, units). */
    private fun check(input: Map<String, Any?>) {
        fun fail(msg: String): Nothing = throw ContractException(msg)
        if (inputName != ModelIO.INPUT) fail("contract input '$inputName' differs from the app's '${ModelIO.INPUT}'")
        val names = outputs.map { it.name }
        if (names.size !in 2..3 || names != ModelIO.OUTPUTS.take(names.size)) {
            fail("contract outputs $names differ from the app's ${ModelIO.OUTPUTS} (joints optional)")
        }
        if (contractVersion == 1 && !hasJoints) fail("a version 1 contract must name the joints output")
        val want = when (layout) {
            "NCHW" -> listOf(1, 3, inputHeight, inputWidth)
            "NHWC" -> listOf(1, inputHeight, inputWidth, 3)
            else -> fail("input layout '$layout' is neither NCHW nor NHWC")
        }
        if (inputShape != want) fail("input shape $inputShape does not match $layout ${inputWidth}x$inputHeight")
        if (input["dtype"] != "float32") fail("input dtype ${input["dtype"]} is not float32")
        if (input["color_order"] != "RGB") fail("input colour order ${input["color_order"]} is not RGB")
        // The app feeds raw 0..255 RGB; a graph without the normalisation inside would see wrong values.
        if ((input["normalization"] as? Map<*, *>)?.get("baked_in") != true) {
            fail("input normalisation is not baked into the graph; this app feeds RGB in [0, 255]")
        }
        val v = outputs[0].shape.getOrNull(1) ?: -1
        if (outputs[0].shape != listOf(1, v, 3) || v <= 0) fail("vertices shape ${outputs[0].shape} is not [1, V, 3]")
        if (outputs[1].shape != listOf(1, v)) fail("visibility shape ${outputs[1].shape} is not [1, $v]")
        if (outputs[0].units != "pixels") fail("vertices must be in pixels")
        val origin = outputs[0].originPx
        if (contractVersion >= 3 && origin == null) fail("a version $contractVersion contract's vertices must carry origin_px")
        if (origin != null && (origin.size != 3 || origin.any { !it.isFinite() })) fail("vertices origin_px $origin is not 3 numbers")
        if (hasJoints && outputs[2].originPx != origin) fail("joints origin_px ${outputs[2].originPx} differs from the vertices' $origin")
        if (hasJoints) {
            val j = outputs[2].shape.getOrNull(1) ?: -1
            if (outputs[2].shape != listOf(1, j, 3) || j <= 0) fail("joints shape ${outputs[2].shape} is not [1, J, 3]")
            if (j != jointNames.size) fail("joints output has $j joints but the contract names ${jointNames.size}")
            if (outputs[2].units != "pixels") fail("joints must be in pixels")
        } else if (jointNames.isNotEmpty()) {
            fail("the contract names joints but the model has no joints output")
        }
        if (crop.boxScale <= 0.0 || crop.padRgb.size != 3 || crop.padRgb.any { it !in 0.0..255.0 }) {
            fail("crop convention $crop is not a positive box scale and an RGB pad colour in 0..255")
        }
        faces.forEachIndexed { i, f ->
            if (f.size != 3 || f.any { it !in 0 until v }) fail("mesh face $i ${f.toList()} is not a triangle of vertices 0..${v - 1}")
        }
        if (visibilityThreshold !in 0.0..1.0) fail("visibility_threshold $visibilityThreshold is outside [0, 1]")
    }
}

class ContractException(message: String) : RuntimeException(message)

package com.meshpose.core

/**
 * The person detector's contract JSON (export/detector/contract.py, `kind` "person_detector"), reduced to
 * what the app feeds and reads, and checked against what [PersonDetector] decodes: a 224 x 224 float RGB
 * input in [0, 255] (normalisation baked in), regressors [1, N, 12] and scores [1, N, 1] over its N anchors.
 */
data class DetectorContract(
    val artifact: String,
    val format: String,
    val inputName: String,
    /** "NCHW" or "NHWC". */
    val layout: String,
    val regressorsName: String,
    val scoresName: String,
    /** The anchors file exported beside the model (the core generates the same anchors itself). */
    val anchorsFile: String,
) {
    val nhwc: Boolean get() = layout == "NHWC"

    companion object {
        const val KIND = "person_detector"
        const val SUPPORTED_VERSION = 1

        /** Parses and checks a detector contract; every problem becomes a [ContractException]. */
        fun parse(text: String): DetectorContract {
            val root = try {
                Json.parse(text).asObject("detector contract")
            } catch (e: JsonException) {
                throw ContractException("detector contract is not valid JSON: ${e.message}")
            }
            return try {
                build(root)
            } catch (e: JsonException) {
                throw ContractException("detector contract is incomplete: ${e.message}")
            }
        }

        private fun build(root: Map<String, Any?>): DetectorContract {
            fun fail(msg: String): Nothing = throw ContractException(msg)
            if (root["kind"] != KIND) fail("the contract's kind is ${Json.write(root["kind"])}, not \"$KIND\"")
            if (root["contract_version"] != SUPPORTED_VERSION.toDouble()) {
                fail("detector contract version ${Json.write(root["contract_version"])} is not supported (this app reads $SUPPORTED_VERSION)")
            }
            val input = root.obj("input")
            val size = PersonDetector.INPUT_SIZE
            val layout = input.str("layout")
            val want = when (layout) {
                "NCHW" -> listOf(1, 3, size, size)
                "NHWC" -> listOf(1, size, size, 3)
                else -> fail("detector input layout '$layout' is neither NCHW nor NHWC")
            }
            if (input.intList("shape") != want) fail("detector input shape ${input.intList("shape")} is not $layout ${size}x$size")
            if (input["dtype"] != "float32") fail("detector input dtype ${input["dtype"]} is not float32")
            if ((input["normalization"] as? Map<*, *>)?.get("baked_in") != true) {
                fail("detector input normalisation is not baked into the graph; this app feeds RGB in [0, 255]")
            }
            val n = PersonDetector.generateAnchors().size
            val outputs = root.list("outputs").mapIndexed { i, o -> o.asObject("outputs[$i]") }
            if (outputs.size != 2) fail("the detector has ${outputs.size} outputs, not 2 (regressors, scores)")
            val wantShapes = listOf(listOf(1, n, PersonDetector.NUM_COORDS), listOf(1, n, 1))
            for (i in 0..1) {
                val shape = outputs[i].intList("shape")
                if (shape != wantShapes[i]) fail("detector output '${outputs[i].str("name")}' has shape $shape, not ${wantShapes[i]}")
            }
            return DetectorContract(
                artifact = root.str("artifact"),
                format = root.str("format"),
                inputName = input.str("name"),
                layout = layout,
                regressorsName = outputs[0].str("name"),
                scoresName = outputs[1].str("name"),
                anchorsFile = root.obj("anchors").str("file"),
            )
        }
    }

    /** Refuses an artifact of another format (a Core ML detector contract copied into the Android app). */
    fun requireFormat(expected: String) {
        if (format != expected) throw ContractException("the detector contract describes a '$format' model ($artifact); this app runs '$expected' models")
    }
}

package com.meshpose.core

/** A float32 tensor a deployment's part takes or gives: its name and shape. */
data class TensorSpec(val name: String, val shape: List<Int>) {
    /** How many floats the tensor holds. */
    val elementCount: Int get() = shape.fold(1) { n, d -> n * d }

    override fun toString(): String = "'$name' $shape"
}

/**
 * One model file of a deployment of chained models (contract version 4 `parts`, docs/CONTRACTS.md §2), compiled
 * for the GPU at its own [gpuPrecision]: it takes [inputs] by name and gives [outputs] by name.
 */
data class ModelPart(
    /** The part's .tflite file name. */
    val artifact: String,
    /** The file's sha256 (64 lowercase hex digits): the app refuses a file that differs. */
    val sha256: String,
    /** fp16, fp32 or fp16-fp32acc: the precision the export gated this part at. */
    val gpuPrecision: String,
    val inputs: List<TensorSpec>,
    val outputs: List<TensorSpec>,
)

/** Reads and checks a version 4 contract's `parts`, mirroring export/contract.py (`validate_contract`, `check_parts_chain`). */
internal object ModelParts {
    /** What to tell the user after any problem with a deployment's contract. */
    private const val REEXPORT = "re-export (make export-tflite) and copy the deployment's contract and parts from that export"
    private val SHA256 = Regex("^[0-9a-f]{64}$")

    private fun fail(msg: String): Nothing = throw ContractException("$msg; $REEXPORT")

    /**
     * The `parts` of [root], empty for a single-file contract. Version 4 ([ModelIO.PARTS_CONTRACT_VERSION]) and
     * `parts` come together, and such a contract has no top-level `gpu_precision` (each part has its own).
     */
    fun parse(root: Map<String, Any?>, version: Int): List<ModelPart> {
        val listed = root.containsKey("parts")
        val partsVersion = ModelIO.PARTS_CONTRACT_VERSION
        if (version == partsVersion && !listed) fail("a version $partsVersion contract describes a deployment of parts but lists none")
        if (version != partsVersion && listed) {
            fail("the contract lists parts, but is version $version: only version $partsVersion contracts describe a deployment of parts")
        }
        if (!listed) return emptyList()
        if (root.containsKey("gpu_precision")) fail("a deployment of parts has a gpu_precision per part, not one for the whole")
        val parts = root["parts"] as? List<*> ?: fail("parts must be a list")
        if (parts.size < 2) fail("a deployment needs at least 2 parts, the contract lists ${parts.size}")
        return parts.mapIndexed { i, p -> part(p as? Map<*, *> ?: fail("parts[$i] must be an object"), i) }
    }

    /** One entry of `parts`. */
    private fun part(m: Map<*, *>, i: Int): ModelPart {
        val artifact = (m["artifact"] as? String)?.takeIf { it.isNotEmpty() } ?: fail("parts[$i] has no artifact file name")
        val where = "parts[$i] ($artifact)"
        val sha256 = m["sha256"] as? String
        if (sha256 == null || !SHA256.matches(sha256)) fail("$where: sha256 ${Json.write(sha256)} is not 64 lowercase hex digits")
        val precision = m["gpu_precision"] as? String ?: fail("$where has no gpu_precision")
        if (precision !in GpuPrecision.LITERT_NAMES) {
            fail("$where: gpu_precision '$precision' is not one this app knows (${GpuPrecision.LITERT_NAMES.keys.joinToString()})")
        }
        return ModelPart(artifact, sha256, precision, tensors(m["inputs"], "$where inputs"), tensors(m["outputs"], "$where outputs"))
    }

    /** A part's `inputs` or `outputs`: a non-empty list of float32 tensors with a name and a shape of positive sizes. */
    private fun tensors(value: Any?, what: String): List<TensorSpec> {
        val list = value as? List<*> ?: fail("$what must be a list")
        if (list.isEmpty()) fail("$what are empty")
        return list.mapIndexed { i, t ->
            val m = t as? Map<*, *> ?: fail("$what[$i] must be an object")
            val name = (m["name"] as? String)?.takeIf { it.isNotEmpty() } ?: fail("$what[$i] has no name")
            val shape = (m["shape"] as? List<*>)?.map { d -> (d as? Double)?.takeIf { it >= 1 && it == Math.floor(it) }?.toInt() }
            if (shape == null || shape.any { it == null }) {
                fail("$what '$name': shape ${Json.write(m["shape"])} is not a list of positive integers")
            }
            if (m["dtype"] != "float32") fail("$what '$name': dtype ${Json.write(m["dtype"])} is not float32")
            TensorSpec(name, shape.filterNotNull())
        }
    }

    /**
     * Checks that the parts chain: the first takes the contract's input, each next one the previous one's outputs
     * (names and shapes, in any order), and the last gives the contract's outputs (names and shapes, in order).
     */
    fun checkChain(contract: ModelContract) {
        var fed = listOf(TensorSpec(contract.inputName, contract.inputShape))
        contract.parts.forEachIndexed { i, part ->
            if (part.inputs.sortedBy { it.toString() } != fed.sortedBy { it.toString() }) {
                fail("parts[$i] (${part.artifact}) takes ${part.inputs}, but is fed $fed")
            }
            fed = part.outputs
        }
        val final = contract.outputs.map { TensorSpec(it.name, it.shape) }
        if (fed != final) fail("the last part (${contract.parts.last().artifact}) gives $fed, not the contract's outputs $final")
    }
}

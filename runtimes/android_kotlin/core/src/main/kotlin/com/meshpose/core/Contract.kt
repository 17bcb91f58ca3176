package com.meshpose.core

/** Tensor names and versions the app is written against; tests check them against the exported contract. */
object ModelIO {
    const val INPUT = "image"
    const val VERTICES = "vertices"
    const val VISIBILITY = "visibility"
    const val JOINTS = "joints"
    val OUTPUTS = listOf(VERTICES, VISIBILITY, JOINTS)
    /** Contract versions this app can read. */
    val SUPPORTED_CONTRACT_VERSIONS = setOf(1)
}

/** One output tensor of the model. */
data class OutputSpec(val name: String, val shape: List<Int>, val units: String)

/** The model contract JSON written next to every exported artifact (docs/CONTRACTS.md §2). */
data class ModelContract(
    val contractVersion: Int,
    val variant: String,
    val artifact: String,
    val trained: Boolean,
    val inputName: String,
    val inputShape: List<Int>,
    val layout: String,
    val inputWidth: Int,
    val inputHeight: Int,
    val outputs: List<OutputSpec>,
    val faces: List<IntArray>,
    val jointNames: List<String>,
    val visibilityThreshold: Double,
) {
    val numVertices: Int get() = outputs.first { it.name == ModelIO.VERTICES }.shape[1]

    companion object {
        /** Parses and checks a contract; throws [ContractException] with a message for the user. */
        fun parse(text: String): ModelContract {
            val root = try {
                @Suppress("UNCHECKED_CAST")
                Json.parse(text) as? Map<String, Any?> ?: throw ContractException("contract is not a JSON object")
            } catch (e: JsonException) {
                throw ContractException("contract is not valid JSON: ${e.message}")
            }
            val version = (root["contract_version"] as? Double)?.toInt()
                ?: throw ContractException("contract has no contract_version")
            if (version !in ModelIO.SUPPORTED_CONTRACT_VERSIONS) {
                throw ContractException(
                    "model contract version $version is not supported by this app " +
                        "(it reads ${ModelIO.SUPPORTED_CONTRACT_VERSIONS.joinToString()}); update the app or re-export"
                )
            }
            try {
                val input = root.obj("input")
                val outputs = root.list("outputs").map {
                    @Suppress("UNCHECKED_CAST") val o = it as Map<String, Any?>
                    OutputSpec(o.str("name"), o.list("shape").map { d -> (d as Double).toInt() }, o.str("units"))
                }
                val names = outputs.map { it.name }
                if (names != ModelIO.OUTPUTS) {
                    throw ContractException("contract outputs $names differ from the app's ${ModelIO.OUTPUTS}")
                }
                if (input.str("name") != ModelIO.INPUT) {
                    throw ContractException("contract input '${input.str("name")}' differs from the app's '${ModelIO.INPUT}'")
                }
                return ModelContract(
                    contractVersion = version,
                    variant = root.str("variant"),
                    artifact = root.str("artifact"),
                    trained = root.obj("checkpoint")["trained"] as? Boolean ?: false,
                    inputName = input.str("name"),
                    inputShape = input.list("shape").map { (it as Double).toInt() },
                    layout = input.str("layout"),
                    inputWidth = input.num("width").toInt(),
                    inputHeight = input.num("height").toInt(),
                    outputs = outputs,
                    faces = root.obj("mesh").list("faces").map { f ->
                        (f as List<*>).map { (it as Double).toInt() }.toIntArray()
                    },
                    jointNames = root.obj("joints").list("names").map { it as String },
                    visibilityThreshold = root.num("visibility_threshold"),
                )
            } catch (e: JsonException) {
                throw ContractException("contract is incomplete: ${e.message}")
            }
        }
    }
}

class ContractException(message: String) : RuntimeException(message)

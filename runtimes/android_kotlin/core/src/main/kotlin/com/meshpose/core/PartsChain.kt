package com.meshpose.core

/**
 * Runs a deployment's parts in order without knowing the runtime: the image goes to the first part, each part's
 * outputs to the next one by name, and the last part's outputs come back. Every array handed over is checked
 * against the shape its part's contract declares, so a file from another export fails with a message, not a crash.
 */
object PartsChain {
    /** What to do when the parts and their contract disagree. */
    private const val ONE_EXPORT = "copy the deployment's contract and all its parts from one export (make export-tflite)"

    /**
     * The last part's outputs by name for one [image] (the first part's only input). [runPart] runs part `index`
     * on its inputs by name and returns its outputs by name.
     */
    fun run(
        parts: List<ModelPart>,
        image: FloatArray,
        runPart: (index: Int, inputsByName: Map<String, FloatArray>) -> Map<String, FloatArray>,
    ): Map<String, FloatArray> {
        require(parts.isNotEmpty()) { "a chain needs at least one part" }
        val imageSpec = parts[0].inputs.single()
        require(image.size == imageSpec.elementCount) {
            "the image has ${image.size} values, but ${describe(parts, 0)} takes $imageSpec (${imageSpec.elementCount})"
        }
        var values: Map<String, FloatArray> = mapOf(imageSpec.name to image)
        parts.forEachIndexed { i, part ->
            val inputs = part.inputs.associate { spec ->
                spec.name to (values[spec.name] ?: throw ContractException(
                    "${describe(parts, i)} takes '${spec.name}', which the part before it does not give; $ONE_EXPORT",
                ))
            }
            val given = runPart(i, inputs)
            values = part.outputs.associate { spec ->
                val array = given[spec.name] ?: throw ContractException(
                    "${describe(parts, i)} gave no output '${spec.name}'; $ONE_EXPORT",
                )
                spec.name to checked(array, spec, "output '${spec.name}' of ${describe(parts, i)}")
            }
        }
        return values
    }

    /** [array] when it holds as many floats as [spec]'s shape, else a [ContractException] naming [what]. */
    private fun checked(array: FloatArray, spec: TensorSpec, what: String): FloatArray {
        if (array.size != spec.elementCount) {
            throw ContractException(
                "$what has ${array.size} values, but its contract's shape ${spec.shape} holds ${spec.elementCount}; $ONE_EXPORT",
            )
        }
        return array
    }

    private fun describe(parts: List<ModelPart>, index: Int) = "part ${index + 1} of ${parts.size} (${parts[index].artifact})"
}

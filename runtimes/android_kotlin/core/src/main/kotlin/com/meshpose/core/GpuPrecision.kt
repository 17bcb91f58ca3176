package com.meshpose.core

/**
 * The LiteRT GPU precisions a contract's `gpu_precision` can name (docs/CONTRACTS.md §2), each with the name of
 * LiteRT's `CompiledModel.GpuOptions.Precision` value the app asks for. The export gated the precision its
 * contract names; "fp16-fp32acc" keeps fp16 storage but accumulates convolutions and matmuls in fp32.
 */
object GpuPrecision {
    /** Contract value -> LiteRT Kotlin enum name (LiteRT 2.2+). */
    val LITERT_NAMES = linkedMapOf("fp16" to "FP16", "fp32" to "FP32", "fp16-fp32acc" to "FP16_WITH_FP32_ACCUM")

    /** What contracts that predate the field mean: the accelerator's fp16 arithmetic. */
    const val DEFAULT = "fp16"

    /** The LiteRT enum name for a contract value; unknown values are refused, never run at another precision. */
    fun litertName(contractValue: String): String = LITERT_NAMES[contractValue]
        ?: throw ContractException("gpu_precision '$contractValue' is not one this app knows (${LITERT_NAMES.keys.joinToString()})")
}

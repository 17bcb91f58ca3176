package com.meshpose.sample

import android.content.Context
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Environment
import com.google.ai.edge.litert.TensorBuffer
import com.meshpose.core.AppError
import com.meshpose.core.DetectorContract
import com.meshpose.core.PersonDetector

/** The detector's output tensors of one inference: regressors (N x 12) and score logits (N). */
class DetectorTensors(val regressors: FloatArray, val scoreLogits: FloatArray)

/**
 * Runs the exported person detector (make export-detector) with LiteRT's CompiledModel: GPU first,
 * the CPU when the GPU fails, said through [fallback] as [ModelRunner] does. Tensor names come from
 * the detector's contract.
 */
class DetectorRunner private constructor(
    val contract: DetectorContract,
    val source: ModelSource,
    private val env: Environment,
    private val model: CompiledModel,
    /** "GPU" or "CPU": what actually runs. */
    val accelerator: String,
    val fallback: AppError?,
) : AutoCloseable {
    private val input: TensorBuffer = model.createInputBuffer(contract.inputName)
    private val outputs: Map<String, TensorBuffer> =
        listOf(contract.regressorsName, contract.scoresName).associateWith { model.createOutputBuffer(it) }

    /** One inference on the 224 x 224 letterboxed input (RGB in [0, 255], the contract's layout). */
    fun run(image: FloatArray): DetectorTensors {
        input.writeFloat(image)
        model.run(mapOf(contract.inputName to input), outputs)
        return DetectorTensors(outputs.getValue(contract.regressorsName).readFloat(), outputs.getValue(contract.scoresName).readFloat())
    }

    /** Runs once on a blank input and checks the output sizes against the anchors. */
    private fun selfTest() {
        val n = PersonDetector.generateAnchors().size
        val out = run(FloatArray(3 * PersonDetector.INPUT_SIZE * PersonDetector.INPUT_SIZE))
        if (out.regressors.size != n * PersonDetector.NUM_COORDS || out.scoreLogits.size != n) {
            throw ModelLoadException(AppError.BadContract(
                "the detector's outputs (${out.regressors.size}, ${out.scoreLogits.size} values) do not match its " +
                    "${n} anchors (${n * PersonDetector.NUM_COORDS}, $n)",
            ))
        }
    }

    private fun release() {
        input.close()
        outputs.values.forEach { it.close() }
        model.close()
    }

    override fun close() {
        release()
        env.close()
    }

    companion object {
        /** `make export-detector`'s float32 TFLite (NCHW); `--es detector <file>` picks another export. */
        const val DEFAULT_DETECTOR = "blazepose_detector.tflite"

        /** Loads the detector [name]; throws [ModelLoadException] carrying the on-screen error (a missing file is named). */
        fun load(context: Context, name: String = DEFAULT_DETECTOR): DetectorRunner {
            val source = ModelSource(context, name)
            val text = source.readContract() ?: throw ModelLoadException(AppError.MissingDetector("$name.contract.json"))
            val contract = try {
                DetectorContract.parse(text).also { it.requireFormat("tflite") }
            } catch (e: Exception) {
                throw ModelLoadException(AppError.fromContractFailure(e))
            }
            if (!source.exists()) throw ModelLoadException(AppError.MissingDetector(name))
            val env = Environment.create(context.applicationContext) // with a Context: LiteRT caches GPU kernels
            return loadGpuThenCpu("the detector", source.description, env) { accelerator, label, fallback ->
                compile(contract, source, env, accelerator, label, fallback)
            }
        }

        /** Compiles for one accelerator and proves it with one inference; frees everything it made on failure. */
        private fun compile(contract: DetectorContract, source: ModelSource, env: Environment, accelerator: Accelerator,
                            label: String, fallback: AppError?): DetectorRunner {
            val model = source.compile(accelerator, env)
            return provenOrFreed(model, { DetectorRunner(contract, source, env, it, label, fallback) },
                                 { it.selfTest() }, { it.release() })
        }
    }
}

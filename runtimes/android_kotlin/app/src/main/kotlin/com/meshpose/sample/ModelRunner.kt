package com.meshpose.sample

import android.content.Context
import android.util.Log
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Environment
import com.google.ai.edge.litert.TensorBuffer
import com.meshpose.core.AppError
import com.meshpose.core.ModelContract
import com.meshpose.core.ModelIO
import java.io.FileNotFoundException

/** Raw outputs of one inference, in the contract's units (crop pixels). */
class RawOutputs(val vertices: FloatArray, val visibility: FloatArray, val joints: FloatArray)

/**
 * Loads the exported .tflite and its contract from assets and runs it with LiteRT's
 * CompiledModel on the GPU accelerator. If the GPU fails to initialise the runner falls
 * back to the CPU and says so through [fallback]: the app shows it, never silently.
 */
class ModelRunner private constructor(
    val contract: ModelContract,
    private val model: CompiledModel,
    val accelerator: String,
    val fallback: AppError?,
    val loadMs: Double,
) : AutoCloseable {
    private val inputs: Map<String, TensorBuffer> = mapOf(ModelIO.INPUT to model.createInputBuffer(ModelIO.INPUT))
    private val outputs: Map<String, TensorBuffer> = ModelIO.OUTPUTS.associateWith { model.createOutputBuffer(it) }

    /** One inference on an input laid out as the contract says (NCHW or NHWC float RGB 0..255). */
    fun run(input: FloatArray): RawOutputs {
        inputs.getValue(ModelIO.INPUT).writeFloat(input)
        model.run(inputs, outputs)
        return RawOutputs(
            outputs.getValue(ModelIO.VERTICES).readFloat(),
            outputs.getValue(ModelIO.VISIBILITY).readFloat(),
            outputs.getValue(ModelIO.JOINTS).readFloat(),
        )
    }

    override fun close() {
        inputs.values.forEach { it.close() }
        outputs.values.forEach { it.close() }
        model.close()
    }

    companion object {
        private const val TAG = "MeshPose"
        const val MODEL_ASSET = "meshpose_xs.tflite"

        /** Loads the model; throws [ModelLoadException] carrying the on-screen error. */
        fun load(context: Context, modelAsset: String = MODEL_ASSET): ModelRunner {
            val contractText = try {
                context.assets.open("$modelAsset.contract.json").bufferedReader().use { it.readText() }
            } catch (e: FileNotFoundException) {
                throw ModelLoadException(AppError.MissingModel("$modelAsset.contract.json"))
            }
            val contract = try {
                ModelContract.parse(contractText)
            } catch (e: Exception) {
                throw ModelLoadException(AppError.fromContractFailure(e))
            }
            try {
                context.assets.openFd(modelAsset).close()
            } catch (e: Exception) {
                throw ModelLoadException(AppError.MissingModel(modelAsset))
            }
            val env = Environment.create()
            val t0 = System.nanoTime()
            return try {
                val gpu = CompiledModel.create(context.assets, modelAsset, CompiledModel.Options(Accelerator.GPU), env)
                ModelRunner(contract, gpu, "GPU", null, (System.nanoTime() - t0) / 1e6)
            } catch (e: Exception) {
                Log.w(TAG, "GPU accelerator failed, falling back to CPU", e)
                val cpu = CompiledModel.create(context.assets, modelAsset, CompiledModel.Options(Accelerator.CPU), env)
                ModelRunner(contract, cpu, "CPU", AppError.AcceleratorUnavailable("GPU", e.message ?: e.toString()),
                    (System.nanoTime() - t0) / 1e6)
            }
        }
    }
}

class ModelLoadException(val error: AppError) : RuntimeException(error.userMessage)

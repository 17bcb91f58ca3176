package com.meshpose.sample

import android.content.Context
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Environment
import com.google.ai.edge.litert.TensorBuffer
import com.meshpose.core.AppError
import com.meshpose.core.GpuPrecision
import com.meshpose.core.ModelContract
import com.meshpose.core.ModelIO
import java.io.File
import java.io.IOException
import java.io.InputStream

/** The mesh model's output tensors of one inference, in the contract's units (crop pixels). */
class MeshTensors(val vertices: FloatArray, val visibility: FloatArray, val joints: FloatArray)

/**
 * Where the .tflite and its .contract.json come from: the app's external files directory
 * (`adb push`, no rebuild needed) when present there, else the APK's assets.
 */
class ModelSource(private val context: Context, val name: String) {
    private val file: File? = context.getExternalFilesDir(null)?.let { File(it, name) }?.takeIf { it.isFile }

    val description: String get() = file?.path ?: "assets/$name"

    /** Opens the model bytes (for hashing); throws IOException when missing. */
    fun openModel(): InputStream = file?.inputStream() ?: context.assets.open(name)

    /** The contract text next to the model, or null when it is missing. */
    fun readContract(): String? {
        val contractName = "$name.contract.json"
        file?.let { f -> File(f.parentFile, contractName).takeIf { it.isFile }?.let { return it.readText() } }
        return try {
            context.assets.open(contractName).bufferedReader().use { it.readText() }
        } catch (e: IOException) {
            null
        }
    }

    fun exists(): Boolean = file != null || try {
        context.assets.open(name).close(); true
    } catch (e: IOException) {
        false
    }

    /** Compiles for [accelerator]; on the GPU at [gpuPrecision], the contract's `gpu_precision` the export gated. */
    fun compile(accelerator: Accelerator, env: Environment, gpuPrecision: String = GpuPrecision.DEFAULT): CompiledModel {
        val options = CompiledModel.Options(accelerator)
        if (accelerator == Accelerator.GPU) {
            val precision = CompiledModel.GpuOptions.Precision.valueOf(GpuPrecision.litertName(gpuPrecision))
            options.gpuOptions = CompiledModel.GpuOptions(precision = precision)
        }
        return file?.let { CompiledModel.create(it.path, options, env) } ?: CompiledModel.create(context.assets, name, options, env)
    }
}

/**
 * Runs the exported .tflite with LiteRT's CompiledModel on the GPU accelerator. If the GPU fails
 * to compile the model or to run it once, the runner falls back to the CPU and says so through
 * [fallback], which the app shows on screen and writes into benchmark results: never silently.
 */
class ModelRunner private constructor(
    val contract: ModelContract,
    val source: ModelSource,
    private val env: Environment,
    private val model: CompiledModel,
    /** "GPU" or "CPU": what actually runs. */
    val accelerator: String,
    val fallback: AppError?,
    val loadMs: Double,
) : AutoCloseable {
    private val inputs: Map<String, TensorBuffer> = mapOf(ModelIO.INPUT to model.createInputBuffer(ModelIO.INPUT))
    // Contract v2: a model without a landmarker (the authors' release without SMPL) has no joints output.
    private val outputs: Map<String, TensorBuffer> =
        ModelIO.OUTPUTS.take(contract.outputs.size).associateWith { model.createOutputBuffer(it) }

    /** One inference on an input laid out as the contract says (NCHW or NHWC float RGB in [0, 255]). */
    fun run(input: FloatArray): MeshTensors {
        inputs.getValue(ModelIO.INPUT).writeFloat(input)
        model.run(inputs, outputs)
        return MeshTensors(
            outputs.getValue(ModelIO.VERTICES).readFloat(),
            outputs.getValue(ModelIO.VISIBILITY).readFloat(),
            outputs[ModelIO.JOINTS]?.readFloat() ?: FloatArray(0),
        )
    }

    /** Runs once on a blank input and checks the output sizes against the contract. */
    private fun selfTest() {
        val out = run(FloatArray(3 * contract.inputWidth * contract.inputHeight))
        val v = contract.numVertices
        val j = contract.numJoints
        if (out.vertices.size != 3 * v || out.visibility.size != v || out.joints.size != 3 * j) {
            throw ModelLoadException(AppError.BadContract(
                "the model's outputs (${out.vertices.size}, ${out.visibility.size}, ${out.joints.size} values) " +
                    "do not match its contract (${3 * v}, $v, ${3 * j})",
            ))
        }
    }

    /** Frees the buffers and the compiled model, keeping the shared environment. */
    private fun release() {
        inputs.values.forEach { it.close() }
        outputs.values.forEach { it.close() }
        model.close()
    }

    override fun close() {
        release()
        env.close()
    }

    companion object {
        const val DEFAULT_MODEL = "meshpose_xs.tflite"

        /** Loads the model named [modelName]; throws [ModelLoadException] carrying the on-screen error. */
        fun load(context: Context, modelName: String = DEFAULT_MODEL): ModelRunner {
            val source = ModelSource(context, modelName)
            val contractText = source.readContract()
                ?: throw ModelLoadException(AppError.MissingModel("$modelName.contract.json"))
            val contract = try {
                ModelContract.parse(contractText).also { it.requireFormat("tflite") }
            } catch (e: Exception) {
                throw ModelLoadException(AppError.fromContractFailure(e))
            }
            if (!source.exists()) throw ModelLoadException(AppError.MissingModel(modelName))
            // With a Context, LiteRT keeps its compiled-kernel cache in context.cacheDir; the Context-less
            // Environment.create() "does not enable compiler caching" (LiteRT 2.2+ Environment.kt), so the
            // GPU accelerator would recompile its kernels on every launch.
            val env = Environment.create(context.applicationContext)
            return loadGpuThenCpu("the model", source.description, env) { accelerator, label, fallback ->
                compile(contract, source, env, accelerator, label, fallback)
            }
        }

        /** Compiles for one accelerator and proves it with one inference; frees everything it made on failure. */
        private fun compile(
            contract: ModelContract, source: ModelSource, env: Environment, accelerator: Accelerator, label: String,
            fallback: AppError?,
        ): ModelRunner {
            val t0 = System.nanoTime()
            val model = source.compile(accelerator, env, contract.gpuPrecision)
            val loadMs = (System.nanoTime() - t0) / 1e6
            return provenOrFreed(model, { ModelRunner(contract, source, env, it, label, fallback, loadMs) },
                                 { it.selfTest() }, { it.release() })
        }
    }
}

/** A load failure with the message to show. */
class ModelLoadException(val error: AppError) : RuntimeException(error.userMessage)

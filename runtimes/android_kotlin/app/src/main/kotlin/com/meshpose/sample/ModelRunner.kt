package com.meshpose.sample

import android.content.Context
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Environment
import com.google.ai.edge.litert.TensorBuffer
import com.meshpose.core.AppError
import com.meshpose.core.ContractException
import com.meshpose.core.GpuPrecision
import com.meshpose.core.ModelContract
import com.meshpose.core.ModelIO
import com.meshpose.core.ModelPart
import com.meshpose.core.PartsChain
import com.meshpose.core.Sha256
import java.io.File
import java.io.IOException
import java.io.InputStream

/** The mesh model's output tensors of one inference, in the contract's units (crop pixels). */
class MeshTensors(val vertices: FloatArray, val visibility: FloatArray, val joints: FloatArray)

/**
 * Where a .tflite and its .contract.json come from: the app's external files directory
 * (`adb push`, no rebuild needed) when present there, else the APK's assets.
 */
class ModelSource(private val context: Context, val name: String) {
    private val pushedDir: File? = context.getExternalFilesDir(null)
    private val file: File? = pushedDir?.let { File(it, name) }?.takeIf { it.isFile }

    val description: String get() = file?.path ?: "assets/$name"

    /** Opens the model bytes (for hashing); throws IOException when missing. */
    fun openModel(): InputStream = file?.inputStream() ?: context.assets.open(name)

    /**
     * The contract text `<name>.contract.json`, or null when it is missing: the pushed one beside a pushed model,
     * else the bundled one. A deployment's name names no model file, so its pushed contract comes first too.
     */
    fun readContract(): String? {
        val contractName = "$name.contract.json"
        val pushed = pushedDir?.let { File(it, contractName) }?.takeIf { it.isFile }
        if (pushed != null && (file != null || !exists())) return pushed.readText()
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

    /** Compiles for [accelerator]; on the GPU at [gpuPrecision], the `gpu_precision` the export gated. */
    fun compile(accelerator: Accelerator, env: Environment, gpuPrecision: String = GpuPrecision.DEFAULT): CompiledModel {
        val options = CompiledModel.Options(accelerator)
        if (accelerator == Accelerator.GPU) {
            val precision = CompiledModel.GpuOptions.Precision.valueOf(GpuPrecision.litertName(gpuPrecision))
            options.gpuOptions = CompiledModel.GpuOptions(precision = precision)
        }
        return file?.let { CompiledModel.create(it.path, options, env) } ?: CompiledModel.create(context.assets, name, options, env)
    }
}

/** One .tflite the runner compiles: where it comes from, the GPU precision to ask for, and its tensors by name. */
private class ModelFile(val source: ModelSource, val gpuPrecision: String, val inputNames: List<String>, val outputNames: List<String>)

/** Where [files] came from (pushed or bundled), in run order. */
private fun describe(files: List<ModelFile>): String = files.joinToString(" + ") { it.source.description }

/** A compiled [ModelFile] with one buffer per tensor; a failure while making the buffers closes those made. */
private class CompiledFile(private val model: CompiledModel, file: ModelFile) {
    private val buffers = ArrayList<TensorBuffer>()
    private val inputs: Map<String, TensorBuffer>
    private val outputs: Map<String, TensorBuffer>

    init {
        try {
            inputs = file.inputNames.associateWith { name -> model.createInputBuffer(name).also { buffers.add(it) } }
            outputs = file.outputNames.associateWith { name -> model.createOutputBuffer(name).also { buffers.add(it) } }
        } catch (e: Exception) {
            closeBuffers(); throw e
        }
    }

    /** Writes [values] into the input buffers by name, runs the model, and reads every output by name. */
    fun run(values: Map<String, FloatArray>): Map<String, FloatArray> {
        for ((name, buffer) in inputs) buffer.writeFloat(values.getValue(name))
        model.run(inputs, outputs)
        return outputs.mapValues { (_, buffer) -> buffer.readFloat() }
    }

    /** Frees the buffers, keeping the compiled model (its owner frees it when this file could not be made whole). */
    fun closeBuffers() = buffers.forEach { it.close() }

    /** Frees the buffers and the compiled model. */
    fun release() {
        closeBuffers()
        model.close()
    }
}

/**
 * Runs the exported mesh model with LiteRT's CompiledModel on the GPU accelerator: one .tflite, or a deployment of
 * chained parts (contract version 4, e.g. `meshpose_xs_gpu_two_part`), each part compiled at its own GPU precision.
 * If the GPU fails to compile any file or to run the model once, the runner falls back to the CPU for every file
 * and says so through [fallback], which the app shows on screen and writes into benchmark results: never silently.
 */
class ModelRunner private constructor(
    val contract: ModelContract,
    /** What was asked for and loaded: the .tflite file name, or the deployment's name. */
    val modelName: String,
    private val files: List<ModelFile>,
    private val compiled: List<CompiledFile>,
    private val env: Environment,
    /** "GPU" or "CPU": what actually runs. */
    val accelerator: String,
    val fallback: AppError?,
    val loadMs: Double,
) : AutoCloseable {
    /** Where the model's file or files came from (pushed or bundled). */
    val description: String get() = describe(files)

    /** One inference on an input laid out as the contract says (NCHW or NHWC float RGB in [0, 255]). */
    fun run(input: FloatArray): MeshTensors {
        val outputs = if (contract.parts.isEmpty()) {
            compiled.single().run(mapOf(ModelIO.INPUT to input))
        } else {
            // Feature maps pass through host memory (readFloat, writeFloat); keeping them on the GPU: not measured.
            PartsChain.run(contract.parts, input) { index, inputsByName -> compiled[index].run(inputsByName) }
        }
        return MeshTensors(
            outputs.getValue(ModelIO.VERTICES),
            outputs.getValue(ModelIO.VISIBILITY),
            outputs[ModelIO.JOINTS] ?: FloatArray(0),
        )
    }

    /**
     * The sha256 a benchmark result names: the file's, or for a deployment the hash of its parts' hashes in run
     * order (export/evaluate.py's convention), which [load] checked against the part files.
     */
    fun artifactSha256(): String =
        if (contract.parts.isEmpty()) files.single().source.openModel().use { Sha256.of(it) } else Sha256.ofDeployment(contract.parts)

    /** Runs once on a blank input and checks the output sizes against the contract. */
    private fun selfTest() {
        val out = try {
            run(FloatArray(3 * contract.inputWidth * contract.inputHeight))
        } catch (e: ContractException) {
            throw ModelLoadException(AppError.fromContractFailure(e)) // a part's tensor disagrees with the contract
        }
        val v = contract.numVertices
        val j = contract.numJoints
        if (out.vertices.size != 3 * v || out.visibility.size != v || out.joints.size != 3 * j) {
            throw ModelLoadException(AppError.BadContract(
                "the model's outputs (${out.vertices.size}, ${out.visibility.size}, ${out.joints.size} values) " +
                    "do not match its contract (${3 * v}, $v, ${3 * j})",
            ))
        }
    }

    /** Frees the buffers and the compiled models, keeping the shared environment. */
    private fun release() = compiled.forEach { it.release() }

    override fun close() {
        release()
        env.close()
    }

    companion object {
        const val DEFAULT_MODEL = "meshpose_xs.tflite"

        /**
         * Loads the model file or deployment named [modelName] (its contract is `<modelName>.contract.json`); throws
         * [ModelLoadException] carrying the on-screen error.
         */
        fun load(context: Context, modelName: String = DEFAULT_MODEL): ModelRunner {
            val source = ModelSource(context, modelName)
            val contractText = source.readContract()
                ?: throw ModelLoadException(AppError.MissingModel("$modelName.contract.json"))
            val contract = try {
                ModelContract.parse(contractText).also { it.requireFormat("tflite") }
            } catch (e: Exception) {
                throw ModelLoadException(AppError.fromContractFailure(e))
            }
            val files = if (contract.parts.isEmpty()) {
                listOf(singleFile(source, contract))
            } else {
                contract.parts.map { partFile(context, it, modelName) }
            }
            // With a Context, LiteRT keeps its compiled-kernel cache in context.cacheDir; the Context-less
            // Environment.create() "does not enable compiler caching" (LiteRT 2.2+ Environment.kt), so the
            // GPU accelerator would recompile its kernels on every launch.
            val env = Environment.create(context.applicationContext)
            return loadGpuThenCpu("the model", describe(files), env) { accelerator, label, fallback ->
                compile(contract, modelName, files, env, accelerator, label, fallback)
            }
        }

        /** A single-file model: the tensors the app names ([ModelIO]), at the contract's GPU precision. */
        private fun singleFile(source: ModelSource, contract: ModelContract): ModelFile {
            if (!source.exists()) throw ModelLoadException(AppError.MissingModel(source.name))
            // Contract v2: a model without a landmarker (the authors' release without SMPL) has no joints output.
            return ModelFile(source, contract.gpuPrecision, listOf(ModelIO.INPUT), ModelIO.OUTPUTS.take(contract.outputs.size))
        }

        /**
         * A part of the deployment [deployment], found as any model file is (pushed first, then bundled) and refused
         * unless its bytes are the ones its contract hashed; its tensor names come from the contract.
         */
        private fun partFile(context: Context, part: ModelPart, deployment: String): ModelFile {
            val source = ModelSource(context, part.artifact)
            if (!source.exists()) throw ModelLoadException(AppError.MissingPart(part.artifact, deployment))
            if (source.openModel().use { Sha256.of(it) } != part.sha256) {
                throw ModelLoadException(AppError.PartMismatch(part.artifact, source.description, deployment))
            }
            return ModelFile(source, part.gpuPrecision, part.inputs.map { it.name }, part.outputs.map { it.name })
        }

        /** Compiles every file for one accelerator and proves them with one inference; frees everything it made on failure. */
        private fun compile(
            contract: ModelContract, modelName: String, files: List<ModelFile>, env: Environment, accelerator: Accelerator,
            label: String, fallback: AppError?,
        ): ModelRunner {
            val t0 = System.nanoTime()
            val models = allOrClosed(files.size, { i -> files[i].source.compile(accelerator, env, files[i].gpuPrecision) }, { it.close() })
            val loadMs = (System.nanoTime() - t0) / 1e6
            return provenOrFreed(models, { made ->
                val compiled = allOrClosed(files.size, { i -> CompiledFile(made[i], files[i]) }, { it.closeBuffers() })
                ModelRunner(contract, modelName, files, compiled, env, label, fallback, loadMs)
            }, { it.selfTest() }, { it.release() })
        }
    }
}

/** A load failure with the message to show. */
class ModelLoadException(val error: AppError) : RuntimeException(error.userMessage)

package com.meshpose.sample

import android.util.Log
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Environment
import com.meshpose.core.AppError

/**
 * Loads a LiteRT model on the GPU, or on the CPU when the GPU fails, and says so: [compile] builds the runner
 * for one accelerator and proves it with one inference (freeing what it made when it fails), given the label
 * ("GPU" or "CPU") and the fallback error to report. A [ModelLoadException] (a contract mismatch) is not the
 * GPU's fault and is not retried. [env] is closed when nothing loads. Shared by the mesh and detector runners.
 */
internal fun <R> loadGpuThenCpu(
    what: String,
    description: String,
    env: Environment,
    compile: (accelerator: Accelerator, label: String, fallback: AppError?) -> R,
): R {
    val gpuError = try {
        return compile(Accelerator.GPU, "GPU", null)
    } catch (e: ModelLoadException) {
        env.close(); throw e
    } catch (e: Exception) {
        e
    }
    Log.w("MeshPose", "GPU accelerator failed on $what ($description), falling back to the CPU", gpuError)
    val fallback = AppError.AcceleratorUnavailable("GPU", "$what: ${gpuError.message ?: gpuError}")
    try {
        return compile(Accelerator.CPU, "CPU", fallback)
    } catch (e: ModelLoadException) {
        env.close(); throw e
    } catch (e: Exception) {
        env.close()
        throw ModelLoadException(AppError.InferenceFailed("$what could not be loaded on the CPU either: ${e.message ?: e}"))
    }
}

/**
 * A runner made around freshly compiled [models] and proven with one inference ([prove]); whatever was made is
 * freed when either step fails (the models, or the runner through [release]), so a failed GPU attempt leaks nothing.
 */
internal fun <R> provenOrFreed(
    models: List<CompiledModel>, make: (List<CompiledModel>) -> R, prove: (R) -> Unit, release: (R) -> Unit,
): R {
    val runner = try {
        make(models)
    } catch (e: Exception) {
        models.forEach { it.close() }; throw e
    }
    try {
        prove(runner)
    } catch (e: Exception) {
        release(runner); throw e
    }
    return runner
}

/** [provenOrFreed] for a runner of one compiled [model]. */
internal fun <R> provenOrFreed(model: CompiledModel, make: (CompiledModel) -> R, prove: (R) -> Unit, release: (R) -> Unit): R =
    provenOrFreed(listOf(model), { make(it.single()) }, prove, release)

/**
 * [count] things made in order by [make] (compiled models, buffers); when one fails, those already made are
 * closed by [close] before the error goes on, so a deployment whose second part fails leaks nothing of its first.
 */
internal fun <T> allOrClosed(count: Int, make: (index: Int) -> T, close: (T) -> Unit): List<T> {
    val made = ArrayList<T>(count)
    try {
        for (i in 0 until count) made.add(make(i))
    } catch (e: Exception) {
        made.forEach(close); throw e
    }
    return made
}

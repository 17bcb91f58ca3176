package com.meshpose.core

/** Failures the app shows on screen (and logs) instead of crashing or showing a blank view. */
sealed class AppError(val userMessage: String) {
    class MissingModel(file: String) :
        AppError(
            "Model file '$file' is missing. Export it (make export-tflite) and copy it with its .contract.json " +
                "into app/src/main/assets/ (or adb push both to the app's files directory).",
        )
    class MissingDetector(file: String) :
        AppError(
            "Person detector '$file' is missing, so no one can be found in the frame. Export it (make export-detector) " +
                "and copy it with its .contract.json from artifacts/detector/ into app/src/main/assets/ " +
                "(or adb push both to the app's files directory).",
        )
    class MissingPart(file: String, deployment: String) :
        AppError(
            "Model file '$file', a part of the deployment '$deployment', is missing. Export it (make export-tflite) and " +
                "copy all the deployment's part files with $deployment.contract.json into app/src/main/assets/ " +
                "(or adb push them all to the app's files directory).",
        )
    class PartMismatch(file: String, where: String, deployment: String) :
        AppError(
            "Model file '$file' ($where) is not the part that $deployment.contract.json names (its sha256 differs): " +
                "the files come from different exports. Copy all the deployment's part files and its contract from one export.",
        )
    class BadContract(reason: String) : AppError("The model contract cannot be used: $reason")
    class CameraPermissionDenied :
        AppError("Camera permission was refused. Allow it in Settings > Apps > MeshPose to see the live mesh.")
    class CameraFailed(reason: String) : AppError("The camera could not start: $reason")
    class AcceleratorUnavailable(accelerator: String, reason: String) :
        AppError("The $accelerator accelerator failed to start ($reason); running on the CPU instead.")
    class InferenceFailed(reason: String) : AppError("Inference failed: $reason")

    /** True when the app can keep running (with a banner) rather than stopping. */
    val recoverable: Boolean get() = this is AcceleratorUnavailable

    companion object {
        /** Maps a contract loading failure to the on-screen error. */
        fun fromContractFailure(e: Exception): AppError = when (e) {
            is ContractException -> BadContract(e.message ?: "unknown reason")
            is JsonException -> BadContract("not valid JSON: ${e.message}")
            else -> BadContract(e.toString())
        }
    }
}

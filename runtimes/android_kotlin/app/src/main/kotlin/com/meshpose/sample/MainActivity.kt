package com.meshpose.sample

import android.Manifest
import android.content.pm.PackageManager
import android.graphics.Color
import android.graphics.PixelFormat
import android.opengl.GLSurfaceView
import android.os.Bundle
import android.util.Log
import android.view.Gravity
import android.view.View
import android.widget.FrameLayout
import android.widget.TextView
import androidx.activity.ComponentActivity
import androidx.activity.enableEdgeToEdge
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.camera.core.Preview
import androidx.camera.core.resolutionselector.AspectRatioStrategy
import androidx.camera.core.resolutionselector.ResolutionSelector
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import androidx.core.view.ViewCompat
import androidx.core.view.WindowInsetsCompat
import com.meshpose.core.AppError
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * Camera, views and lifecycle only: each camera frame goes to [LivePipeline] (person detector -> core
 * FramePipeline -> mesh model per person, LiteRT GPU with an on-screen CPU fallback) and its people to
 * the overlay, with FPS and latency on screen; or, with the `benchmark_runs` extra, the benchmark mode.
 * Without the detector the live mode does not start: the screen names the missing file and how to make it.
 */
class MainActivity : ComponentActivity() {
    private lateinit var root: FrameLayout
    private lateinit var previewView: PreviewView
    private lateinit var status: TextView
    private lateinit var banner: TextView
    // Set on one thread, read on another (UI / analysis): volatile.
    @Volatile private var overlay: GLSurfaceView? = null
    @Volatile private var runner: ModelRunner? = null
    @Volatile private var detector: DetectorRunner? = null
    @Volatile private var live: LivePipeline? = null
    @Volatile private var renderer: MeshOverlayRenderer? = null
    private val analysisExecutor: ExecutorService = Executors.newSingleThreadExecutor()

    // Analysis-thread state.
    private var frameBytes = ByteArray(0)
    private var lastFrameNs = 0L
    private var fpsAvg = 0.0
    private var lastError: String? = null

    private val permission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) startCamera() else showError(AppError.CameraPermissionDenied())
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // targetSdk 35: Android 15 draws the app edge to edge whatever the app asks, so the window runs under
        // the status and navigation bars. enableEdgeToEdge() makes older versions behave the same, and
        // buildViews() pads the text by the system-bar insets (Android 15 behaviour changes; "Handle
        // edge-to-edge enforcements in Android 15" codelab).
        enableEdgeToEdge()
        buildViews()
        val modelName = intent.getStringExtra(BenchmarkMode.EXTRA_MODEL) ?: ModelRunner.DEFAULT_MODEL
        val bench = BenchmarkMode.Request.from(intent)
        status.text = "Loading $modelName…"
        // Compiling for the GPU takes a while: off the UI thread, the screen says what is going on.
        analysisExecutor.execute {
            val loaded = try {
                ModelRunner.load(this, modelName)
            } catch (e: ModelLoadException) {
                onLoadFailed(e.error, modelName, bench); return@execute
            } catch (e: Exception) {
                onLoadFailed(AppError.InferenceFailed("the model could not be loaded: ${e.message ?: e}"), modelName, bench)
                return@execute
            }
            runner = loaded
            loaded.fallback?.let { showError(it) } // CPU fallback: said on screen and in the log, app keeps running
            val c = loaded.contract
            val label = "MeshPose ${c.variant} on ${acceleratorLabel(loaded)}${if (c.trained) "" else " (UNTRAINED model)"}"
            if (bench != null) {
                runOnUiThread { status.text = label; runBenchmark(loaded, bench) }
                return@execute
            }
            val det = loadDetector(intent.getStringExtra(EXTRA_DETECTOR) ?: DetectorRunner.DEFAULT_DETECTOR) ?: return@execute
            detector = det
            live = LivePipeline(loaded, det)
            runOnUiThread {
                status.text = label
                addOverlay(MeshOverlayRenderer(c.faces))
                requestCameraOrStart()
            }
        }
    }

    /** The person detector, or null after showing why not (no whole-frame fallback: it would hide the problem). */
    private fun loadDetector(name: String): DetectorRunner? {
        runOnUiThread { status.text = "Loading the person detector $name…" }
        val error = try {
            return DetectorRunner.load(this, name).also { d -> d.fallback?.let { showError(it) } }
        } catch (e: ModelLoadException) {
            e.error
        } catch (e: Exception) {
            AppError.InferenceFailed("the person detector could not be loaded: ${e.message ?: e}")
        }
        showError(error)
        runOnUiThread { status.text = "MeshPose: no person detector, live mode stopped" }
        return null
    }

    private fun buildViews() {
        root = FrameLayout(this)
        // PERFORMANCE = a SurfaceView; the GL overlay's media-overlay surface sits just above it.
        previewView = PreviewView(this).apply {
            scaleType = PreviewView.ScaleType.FIT_CENTER
            implementationMode = PreviewView.ImplementationMode.PERFORMANCE
        }
        status = TextView(this).apply {
            setTextColor(Color.WHITE); setBackgroundColor(0x88000000.toInt()); textSize = 14f; setPadding(16, 16, 16, 16)
        }
        banner = TextView(this).apply {
            setTextColor(Color.WHITE); setBackgroundColor(0xCCB00020.toInt()); textSize = 16f; gravity = Gravity.CENTER
            visibility = View.GONE; setPadding(32, 32, 32, 32)
        }
        // The preview and the overlay may run under the bars; the status text and the banner may not.
        ViewCompat.setOnApplyWindowInsetsListener(root) { _, insets ->
            val bars = insets.getInsets(WindowInsetsCompat.Type.systemBars() or WindowInsetsCompat.Type.displayCutout())
            status.setPadding(16 + bars.left, 16 + bars.top, 16 + bars.right, 16)
            banner.setPadding(32 + bars.left, 32, 32 + bars.right, 32)
            insets
        }
        root.addView(previewView)
        root.addView(status, FrameLayout.LayoutParams(-1, -2, Gravity.TOP))
        root.addView(banner, FrameLayout.LayoutParams(-1, -2, Gravity.CENTER))
        setContentView(root)
    }

    /** The overlay exists only once a model is loaded: a GLSurfaceView without a renderer would crash. */
    private fun addOverlay(r: MeshOverlayRenderer) {
        val view = GLSurfaceView(this).apply {
            setEGLContextClientVersion(2)
            setEGLConfigChooser(8, 8, 8, 8, 16, 0)
            holder.setFormat(PixelFormat.TRANSLUCENT)
            setZOrderMediaOverlay(true) // above the camera surface, below the status and banner views
            setRenderer(r)
            renderMode = GLSurfaceView.RENDERMODE_WHEN_DIRTY
        }
        root.addView(view, 1)
        overlay = view
        renderer = r
    }

    private fun acceleratorLabel(r: ModelRunner) = if (r.fallback != null) "CPU (GPU unavailable)" else r.accelerator

    private fun onLoadFailed(error: AppError, modelName: String, bench: BenchmarkMode.Request?) {
        showError(error)
        runOnUiThread { status.text = "MeshPose: no model running" }
        if (bench != null) {
            try {
                BenchmarkMode.writeFailure(this, modelName, bench, error.userMessage)
            } catch (e: Exception) {
                Log.e(TAG, "cannot write the failure result", e)
            }
        }
    }

    private fun runBenchmark(loaded: ModelRunner, req: BenchmarkMode.Request) {
        status.text = "Benchmark: ${req.runs} runs after ${req.warmup} warm-up on ${acceleratorLabel(loaded)}…"
        analysisExecutor.execute {
            val msg = try {
                "Benchmark written to ${BenchmarkMode.run(this, loaded, req)}"
            } catch (e: Exception) {
                Log.e(TAG, "benchmark failed", e)
                try {
                    BenchmarkMode.writeFailure(this, loaded.modelName, req, e.toString())
                } catch (w: Exception) {
                    Log.e(TAG, "cannot write the failure result", w)
                }
                "Benchmark failed: $e"
            }
            runOnUiThread { status.text = msg }
        }
    }

    private fun requestCameraOrStart() {
        if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            startCamera()
        } else {
            permission.launch(Manifest.permission.CAMERA)
        }
    }

    private fun startCamera() {
        val future = ProcessCameraProvider.getInstance(this)
        future.addListener({
            try {
                val provider = future.get()
                // Same aspect ratio for preview and analysis, so both show the same field of view and
                // the overlay's letterbox (FIT_CENTER) lines up with the preview.
                val resolution = ResolutionSelector.Builder()
                    .setAspectRatioStrategy(AspectRatioStrategy.RATIO_4_3_FALLBACK_AUTO_STRATEGY).build()
                val preview = Preview.Builder().setResolutionSelector(resolution).build()
                    .also { it.setSurfaceProvider(previewView.surfaceProvider) }
                val analysis = ImageAnalysis.Builder()
                    .setResolutionSelector(resolution)
                    .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                    .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
                    .setOutputImageRotationEnabled(true) // upright frames, as the preview shows them
                    .build()
                analysis.setAnalyzer(analysisExecutor, ::analyze)
                provider.unbindAll()
                provider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, preview, analysis)
            } catch (e: Exception) {
                Log.e(TAG, "camera failed", e)
                showError(AppError.CameraFailed(e.message ?: e.toString()))
            }
        }, ContextCompat.getMainExecutor(this))
    }

    private fun analyze(image: ImageProxy) {
        try {
            val run = runner ?: return
            val pipeline = live ?: return
            val plane = image.planes[0]
            val buffer = plane.buffer
            if (frameBytes.size != buffer.remaining()) frameBytes = ByteArray(buffer.remaining())
            buffer.get(frameBytes)
            val frame = CameraFrame(frameBytes, image.width, image.height, plane.rowStride)
            val start = System.nanoTime()
            val result = pipeline.process(frame, image.imageInfo.timestamp / 1e9)
            val e2eMs = (System.nanoTime() - start) / 1e6
            renderer?.submit(result.people, frame.width, frame.height)
            overlay?.requestRender()
            val now = System.nanoTime()
            if (lastFrameNs != 0L) {
                val fps = 1e9 / (now - lastFrameNs)
                fpsAvg = if (fpsAvg == 0.0) fps else 0.9 * fpsAvg + 0.1 * fps
            }
            lastFrameNs = now
            val text = String.format(
                "%s  %.1f FPS  end-to-end %.1f ms  mesh %.1f ms x %d  %s  people %s", acceleratorLabel(run), fpsAvg, e2eMs,
                pipeline.meshMs, result.crops.size,
                if (result.detected) String.format("detector %.1f ms", pipeline.detectorMs) else "tracking",
                if (result.people.isEmpty()) "none" else result.people.joinToString(",") { "#${it.id}" },
            )
            runOnUiThread { status.text = text }
            if (lastError != null) {
                lastError = null
                runOnUiThread { if (run.fallback == null && detector?.fallback == null) banner.visibility = View.GONE }
            }
        } catch (e: Exception) {
            val msg = e.message ?: e.toString()
            if (msg != lastError) { // one log line and banner per distinct failure, not one per frame
                lastError = msg
                Log.e(TAG, "inference failed", e)
                showError(AppError.InferenceFailed(msg))
            }
        } finally {
            image.close()
        }
    }

    private fun showError(error: AppError) {
        Log.e(TAG, error.userMessage)
        runOnUiThread {
            banner.text = error.userMessage
            banner.visibility = View.VISIBLE
            if (error.recoverable) banner.postDelayed({ banner.visibility = View.GONE }, 6000)
        }
    }

    override fun onResume() {
        super.onResume()
        overlay?.onResume()
    }

    override fun onPause() {
        overlay?.onPause()
        super.onPause()
    }

    override fun onDestroy() {
        // Close the model on the thread that uses it, after any frame in flight.
        analysisExecutor.execute {
            live = null
            detector?.close(); detector = null
            runner?.close(); runner = null
        }
        analysisExecutor.shutdown()
        super.onDestroy()
    }

    companion object {
        private const val TAG = "MeshPose"
        /** `--es detector <file>`: another detector export than [DetectorRunner.DEFAULT_DETECTOR]. */
        const val EXTRA_DETECTOR = "detector"
    }
}

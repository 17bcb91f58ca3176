package com.meshpose.sample

import android.Manifest
import android.content.pm.PackageManager
import android.graphics.Color
import android.opengl.GLSurfaceView
import android.os.Bundle
import android.util.Log
import android.view.Gravity
import android.widget.FrameLayout
import android.widget.TextView
import androidx.activity.ComponentActivity
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import com.meshpose.core.AppError
import com.meshpose.core.Box
import com.meshpose.core.Decoder
import com.meshpose.core.OneEuroFilter
import com.meshpose.core.PersonTracker
import java.util.concurrent.Executors

/**
 * Live camera -> person crop -> LiteRT (GPU, CPU fallback shown on screen) -> mesh overlay,
 * with FPS and latency on screen. Person detection on the first frame is the full frame
 * (documented choice: no extra detector dependency); after that the crop follows the mesh
 * (PersonTracker) and falls back to the full frame whenever visibility collapses.
 */
class MainActivity : ComponentActivity() {
    private lateinit var status: TextView
    private lateinit var banner: TextView
    private lateinit var overlay: GLSurfaceView
    private var runner: ModelRunner? = null
    private var renderer: MeshOverlayRenderer? = null
    private val analysisExecutor = Executors.newSingleThreadExecutor()
    private val smoother = OneEuroFilter(minCutoff = 1.5, beta = 0.02)
    private var tracker: PersonTracker? = null
    private var converter: FrameConverter? = null
    private var lastFrameNs = 0L
    private var fpsAvg = 0.0

    private val permission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) startCamera() else showError(AppError.CameraPermissionDenied())
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val root = FrameLayout(this)
        val preview = PreviewView(this).apply { scaleType = PreviewView.ScaleType.FIT_CENTER; id = 1 }
        overlay = GLSurfaceView(this).apply {
            setEGLContextClientVersion(2)
            setEGLConfigChooser(8, 8, 8, 8, 16, 0)
            holder.setFormat(android.graphics.PixelFormat.TRANSLUCENT)
            setZOrderOnTop(true)
        }
        status = TextView(this).apply { setTextColor(Color.WHITE); setBackgroundColor(0x88000000.toInt()); textSize = 14f }
        banner = TextView(this).apply {
            setTextColor(Color.WHITE); setBackgroundColor(0xCCB00020.toInt()); textSize = 16f; gravity = Gravity.CENTER
            visibility = TextView.GONE; setPadding(32, 32, 32, 32)
        }
        root.addView(preview)
        root.addView(overlay)
        root.addView(status, FrameLayout.LayoutParams(-1, -2, Gravity.TOP))
        root.addView(banner, FrameLayout.LayoutParams(-1, -2, Gravity.CENTER))
        setContentView(root)

        val loaded = try {
            ModelRunner.load(this)
        } catch (e: ModelLoadException) {
            showError(e.error); return
        } catch (e: Exception) {
            showError(AppError.InferenceFailed(e.toString())); return
        }
        runner = loaded
        loaded.fallback?.let { showError(it) }  // CPU fallback: said on screen, app keeps running
        val c = loaded.contract
        renderer = MeshOverlayRenderer(c.faces).also { overlay.setRenderer(it) }
        tracker = PersonTracker(c.inputWidth, c.inputHeight)
        converter = FrameConverter(c.inputWidth, c.inputHeight, c.layout == "NHWC")
        status.text = "MeshPose ${c.variant} on ${loaded.accelerator}${if (c.trained) "" else " (UNTRAINED model)"}"

        val runs = intent.getIntExtra(BenchmarkMode.EXTRA_RUNS, 0)
        if (runs > 0) {
            val warmup = intent.getIntExtra(BenchmarkMode.EXTRA_WARMUP, 10)
            analysisExecutor.execute {
                val msg = try {
                    "benchmark written to ${BenchmarkMode.run(this, loaded, runs, warmup)}"
                } catch (e: Exception) {
                    Log.e(TAG, "benchmark failed", e); "benchmark failed: $e"
                }
                runOnUiThread { status.text = msg }
            }
            return
        }
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
                val previewView = findViewById<PreviewView>(1)
                val preview = Preview.Builder().build().also { it.surfaceProvider = previewView.surfaceProvider }
                val analysis = ImageAnalysis.Builder()
                    .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                    .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
                    .build()
                analysis.setAnalyzer(analysisExecutor, ::analyze)
                provider.unbindAll()
                provider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, preview, analysis)
            } catch (e: Exception) {
                Log.e(TAG, "camera failed", e)
                showError(AppError.InferenceFailed("camera could not start: ${e.message}"))
            }
        }, ContextCompat.getMainExecutor(this))
    }

    private fun analyze(image: ImageProxy) {
        val run = runner ?: return image.close()
        val trk = tracker ?: return image.close()
        try {
            val plane = image.planes[0]
            val w = image.width
            val h = image.height
            val bytes = ByteArray(plane.buffer.remaining()).also { plane.buffer.get(it) }
            if (trk.needsDetection) trk.startFrom(Box(0.0, 0.0, w.toDouble(), h.toDouble()))
            val crop = trk.crop!!
            val input = converter!!.convert(bytes, w, h, plane.rowStride, crop)
            val t0 = System.nanoTime()
            val out = run.run(input)
            val latencyMs = (System.nanoTime() - t0) / 1e6
            val c = run.contract
            val mesh = Decoder.decode(out.vertices, out.visibility, out.joints, crop, c.inputWidth, c.inputHeight,
                c.visibilityThreshold)
            if (!trk.update(mesh)) smoother.reset()
            val smooth = mesh.copy(vertices = smoother.filter(mesh.vertices, image.imageInfo.timestamp / 1e9))
            renderer?.submit(smooth, w, h)
            overlay.requestRender()
            val now = System.nanoTime()
            if (lastFrameNs != 0L) fpsAvg = 0.9 * fpsAvg + 0.1 * (1e9 / (now - lastFrameNs))
            lastFrameNs = now
            runOnUiThread {
                status.text = String.format("%s  %.1f FPS  model %.1f ms  visible %d/%d", run.accelerator, fpsAvg,
                    latencyMs, mesh.numVisible, mesh.visible.size)
            }
        } catch (e: Exception) {
            Log.e(TAG, "inference failed", e)
            showError(AppError.InferenceFailed(e.message ?: e.toString()))
        } finally {
            image.close()
        }
    }

    private fun showError(error: AppError) {
        Log.e(TAG, error.userMessage)
        runOnUiThread {
            banner.text = error.userMessage
            banner.visibility = TextView.VISIBLE
            if (error.recoverable) banner.postDelayed({ banner.visibility = TextView.GONE }, 6000)
        }
    }

    override fun onDestroy() {
        analysisExecutor.shutdown()
        runner?.close()
        super.onDestroy()
    }

    companion object {
        private const val TAG = "MeshPose"
    }
}

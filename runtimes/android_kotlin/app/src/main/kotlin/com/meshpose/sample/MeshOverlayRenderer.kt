package com.meshpose.sample

import android.opengl.GLES20
import android.opengl.GLSurfaceView
import android.util.Log
import com.meshpose.core.Letterbox
import com.meshpose.core.Person
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.FloatBuffer
import javax.microedition.khronos.egl.EGLConfig
import javax.microedition.khronos.opengles.GL10

/**
 * OpenGL ES 2 overlay: each person's mesh edges between visible vertices, one colour per track id, drawn
 * over the camera preview. Frame pixels go to the screen through the preview's letterbox (FIT_CENTER),
 * then to clip space.
 */
class MeshOverlayRenderer(faces: List<IntArray>) : GLSurfaceView.Renderer {
    @Volatile private var people: List<Person> = emptyList()
    @Volatile private var frameW = 0
    @Volatile private var frameH = 0
    private var program = 0
    private var viewW = 1
    private var viewH = 1

    /** Each undirected edge once (faces share edges), as vertex index pairs. */
    private val edges: IntArray = faces
        .flatMap { f -> listOf(f[0] to f[1], f[1] to f[2], f[2] to f[0]) }
        .map { (a, b) -> if (a < b) a to b else b to a }
        .distinct()
        .flatMap { listOf(it.first, it.second) }
        .toIntArray()
    private val lineBuffer: FloatBuffer =
        ByteBuffer.allocateDirect(edges.size * 2 * 4).order(ByteOrder.nativeOrder()).asFloatBuffer()

    /** Called from the analysis thread with the newest people (meshes in frame pixels) and the frame size. */
    fun submit(people: List<Person>, frameW: Int, frameH: Int) {
        this.frameW = frameW
        this.frameH = frameH
        this.people = people
    }

    override fun onSurfaceCreated(gl: GL10?, config: EGLConfig?) {
        GLES20.glClearColor(0f, 0f, 0f, 0f)
        program = link(
            "attribute vec2 aPos; void main() { gl_Position = vec4(aPos, 0.0, 1.0); }",
            "precision mediump float; uniform vec4 uColor; void main() { gl_FragColor = uColor; }",
        )
    }

    override fun onSurfaceChanged(gl: GL10?, width: Int, height: Int) {
        viewW = width; viewH = height
        GLES20.glViewport(0, 0, width, height)
    }

    override fun onDrawFrame(gl: GL10?) {
        GLES20.glClear(GLES20.GL_COLOR_BUFFER_BIT)
        val shown = people
        if (program == 0 || frameW <= 0 || frameH <= 0 || shown.isEmpty()) return
        val lb = Letterbox(frameW, frameH, viewW, viewH)
        GLES20.glUseProgram(program)
        val loc = GLES20.glGetAttribLocation(program, "aPos")
        val color = GLES20.glGetUniformLocation(program, "uColor")
        GLES20.glEnableVertexAttribArray(loc)
        GLES20.glLineWidth(2f)
        for (person in shown) {
            val n = fillEdges(person, lb)
            if (n == 0) continue
            // A track keeps its colour while it lives; a new id (a re-found person) gets the next one.
            val c = COLORS[(person.id - 1) % COLORS.size]
            GLES20.glUniform4f(color, c[0], c[1], c[2], 0.9f)
            GLES20.glVertexAttribPointer(loc, 2, GLES20.GL_FLOAT, false, 0, lineBuffer)
            GLES20.glDrawArrays(GLES20.GL_LINES, 0, n)
        }
        GLES20.glDisableVertexAttribArray(loc)
    }

    /** Puts [person]'s visible edges into [lineBuffer] (clip space); returns the number of line ends. */
    private fun fillEdges(person: Person, lb: Letterbox): Int {
        val m = person.mesh
        lineBuffer.clear()
        var n = 0
        for (k in edges.indices step 2) {
            val a = edges[k]; val b = edges[k + 1]
            if (!m.visible[a] || !m.visible[b]) continue
            for (v in intArrayOf(a, b)) {
                val (sx, sy) = lb.toScreen(m.vertices[3 * v], m.vertices[3 * v + 1])
                lineBuffer.put((2 * sx / viewW - 1).toFloat()).put((1 - 2 * sy / viewH).toFloat())
            }
            n += 2
        }
        lineBuffer.position(0)
        return n
    }

    /** Compiles and links the shaders; returns 0 (and logs why) on failure, so nothing is drawn. */
    private fun link(vs: String, fs: String): Int {
        fun compile(type: Int, src: String): Int {
            val s = GLES20.glCreateShader(type)
            GLES20.glShaderSource(s, src)
            GLES20.glCompileShader(s)
            val ok = IntArray(1)
            GLES20.glGetShaderiv(s, GLES20.GL_COMPILE_STATUS, ok, 0)
            if (ok[0] == 0) Log.e(TAG, "overlay shader: ${GLES20.glGetShaderInfoLog(s)}")
            return s
        }
        val p = GLES20.glCreateProgram()
        GLES20.glAttachShader(p, compile(GLES20.GL_VERTEX_SHADER, vs))
        GLES20.glAttachShader(p, compile(GLES20.GL_FRAGMENT_SHADER, fs))
        GLES20.glLinkProgram(p)
        val ok = IntArray(1)
        GLES20.glGetProgramiv(p, GLES20.GL_LINK_STATUS, ok, 0)
        if (ok[0] == 0) {
            Log.e(TAG, "overlay program: ${GLES20.glGetProgramInfoLog(p)}")
            return 0
        }
        return p
    }

    companion object {
        private const val TAG = "MeshPose"
        /** Track colours (RGB): green, orange, blue, magenta. */
        private val COLORS = arrayOf(floatArrayOf(0.2f, 1.0f, 0.4f), floatArrayOf(1.0f, 0.6f, 0.1f),
            floatArrayOf(0.3f, 0.6f, 1.0f), floatArrayOf(1.0f, 0.3f, 0.8f))
    }
}

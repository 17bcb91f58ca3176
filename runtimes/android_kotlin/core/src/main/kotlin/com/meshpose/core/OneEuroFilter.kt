package com.meshpose.core

import kotlin.math.PI
import kotlin.math.abs

/**
 * One Euro filter (Casiez et al., CHI 2012): a low-pass filter whose cutoff rises with speed,
 * so a still mesh stops jittering and a moving one does not lag. [minCutoff] (Hz) sets the
 * smoothing at rest, [beta] how fast the cutoff follows speed, [dCutoff] the derivative's cutoff.
 */
class OneEuroFilter(
    var minCutoff: Double = 1.0,
    var beta: Double = 0.01,
    var dCutoff: Double = 1.0,
) {
    init {
        checkParameters()
    }

    private var prev: DoubleArray? = null
    private var prevDeriv: DoubleArray? = null
    private var prevT: Double = 0.0

    private fun alpha(cutoff: Double, dt: Double): Double {
        val tau = 1.0 / (2 * PI * cutoff)
        return 1.0 / (1.0 + tau / dt)
    }

    // At construction as in model/pipeline/smoothing.py, and per sample because the parameters are mutable.
    private fun checkParameters() = require(minCutoff > 0 && dCutoff > 0 && beta >= 0) {
        "One Euro parameters must be minCutoff > 0, dCutoff > 0, beta >= 0 (got $minCutoff, $dCutoff, $beta)"
    }

    /**
     * Filters one sample (any length, fixed across calls) taken at time [tSeconds]; the same arithmetic,
     * in the same order, as model/pipeline/smoothing.py, so the sequence fixture matches to rounding.
     */
    fun filter(x: DoubleArray, tSeconds: Double): DoubleArray {
        checkParameters()
        // A new length, or time not moving forward (a restarted clock), starts a new history.
        val p = prev
        if (p == null || p.size != x.size || tSeconds <= prevT) {
            prev = x.copyOf(); prevDeriv = DoubleArray(x.size); prevT = tSeconds
            return x.copyOf()
        }
        val dt = tSeconds - prevT
        val ad = alpha(dCutoff, dt)
        val pd = prevDeriv!!
        val out = DoubleArray(x.size)
        for (i in x.indices) {
            val dHat = ad * (x[i] - p[i]) / dt + (1 - ad) * pd[i]
            val a = alpha(minCutoff + beta * abs(dHat), dt)
            out[i] = a * x[i] + (1 - a) * p[i]
            pd[i] = dHat
        }
        prev = out.copyOf(); prevT = tSeconds
        return out
    }

    /** Forgets the history (after a re-detection the mesh jumps; do not smooth across it). */
    fun reset() {
        prev = null; prevDeriv = null; prevT = 0.0
    }
}

"""The compiled parts, optional: sparseae.engine._fused, the fused elementwise passes of an
evaluation (sparseae/engine/fused.py), and sparseae.engine._history, L-BFGS's passes over its
history (sparseae/engine/vectors.py). Built on x86-64 Linux where a C compiler is at hand; where it
cannot be built, the install goes on and sparseae computes the same steps with NumPy."""

import platform
import sys

from setuptools import Extension, setup

extensions = []
if sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64"):
    extensions.append(Extension(
        "sparseae.engine._fused", ["src/sparseae/engine/_fused.c"], optional=True,
        # -fno-math-errno lets exp run as glibc's vector exp (libmvec), nothing else of fast-math;
        # -ffp-contract=off: each product and sum rounded as NumPy's steps round them (no FMA).
        extra_compile_args=["-O3", "-fno-math-errno", "-ffp-contract=off", "-std=gnu11"],
        libraries=["mvec", "m"]))
    # L-BFGS's two passes over its history (sparseae/engine/vectors.py): no FMA, so that its dot
    # products, summed in fixed lanes, have the same bits on every instruction set.
    extensions.append(Extension(
        "sparseae.engine._history", ["src/sparseae/engine/_history.c"], optional=True,
        extra_compile_args=["-O3", "-ffp-contract=off", "-std=gnu11"]))

setup(ext_modules=extensions)

/* Fused elementwise passes of one evaluation (sparseae.engine.fused): each is one pass over a
 * block's rows where NumPy takes three to six (a bias added, f, δ = a - y, its squares summed,
 * δ / m, f', the column sums of δ); and, on θ-sized vectors, Adam's step and the
 * reparametrised gradient's column corrections, each rounded as NumPy's steps round it.
 * Optional: built where a C compiler is at hand (setup.py), else sparseae computes the same steps
 * with NumPy. Arrays come through the buffer protocol,
 * C-contiguous, float64 or float32 (computed in their own dtype; sums accumulated in double);
 * the GIL is released while a pass runs, so sparseae's threads run their ranges of rows at once.
 *
 * Activations, by code: 0 the identity, 1 the sigmoid, 2 tanh, 3 ReLU, and 4 softmax (the output
 * pass alone, with the cross-entropy). f' is written from a = f(z).
 * On x86-64 Linux each pass is compiled for AVX-512, AVX2 and the baseline, chosen at load time
 * (target_clones), and exp is glibc's vector exp (libmvec), so the sigmoid runs 8 (or 4) values
 * an instruction, as NumPy's does; on AVX-512 its division is a refined reciprocal (below).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)
#define VECTOR_X86 1
#include <immintrin.h>
__attribute__((simd("notinbranch"))) double exp(double);
__attribute__((simd("notinbranch"))) float expf(float);
__attribute__((simd("notinbranch"))) double log(double);
__attribute__((simd("notinbranch"))) float logf(float);
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_X86 0
#define CLONES
#endif

enum { IDENTITY = 0, SIGMOID = 1, TANH = 2, RELU = 3, SOFTMAX = 4 };

/* Whether the CPU runs AVX-512F: then the sigmoid takes sigmoid_avx512_d/_f (set at import). */
static int have_avx512 = 0;

#if VECTOR_X86
/* glibc's vector exp of 8 doubles and 16 floats (libmvec, the x86-64 vector function ABI). */
__m512d _ZGVeN8v_exp(__m512d);
__m512 _ZGVeN16v_expf(__m512);

/* row <- 1 / (1 + exp(-row)), 8 (16) values at a time, the last ones under a mask, so that every
 * value takes the same path whatever the row's length or address. The division, the sigmoid's
 * bottleneck (8 values per 16 cycles), is a reciprocal estimate (14 bits) refined by Newton's
 * step r <- r + r (1 - d r), twice for double (56 bits), once for float (28): within an ulp of
 * the quotient. -z is held at LIMIT so that exp stays finite; from there on the sigmoid (below
 * 3.3e-308 in double, 1.7e-38 in float) is written as 0. NaN stays NaN. */
#define SIGMOID_AVX512(NAME, T, V, W, MASK, SUF, EXPV, LIMIT, STEPS)                                 \
    __attribute__((target("avx512f"))) static void NAME(T *restrict row, Py_ssize_t n) {             \
        const V one = _mm512_set1_##SUF(1), limit = _mm512_set1_##SUF(LIMIT);                      \
        for (Py_ssize_t j = 0; j < n; j += W) {                                                      \
            MASK m = n - j >= W ? (MASK)~0 : (MASK)((1ull << (n - j)) - 1);                          \
            V t = _mm512_sub_##SUF(_mm512_setzero_##SUF(), _mm512_maskz_loadu_##SUF(m, row + j));   \
            V d = _mm512_add_##SUF(one, EXPV(_mm512_min_##SUF(limit, t)));                          \
            V r = _mm512_rcp14_##SUF(d);                                                             \
            for (int k = 0; k < STEPS; k++) r = _mm512_fmadd_##SUF(r, _mm512_fnmadd_##SUF(d, r, one), r); \
            r = _mm512_mask_mov_##SUF(r, _mm512_cmp_##SUF##_mask(t, limit, _CMP_GE_OQ), _mm512_setzero_##SUF()); \
            _mm512_mask_storeu_##SUF(row + j, m, r);                                                 \
        }                                                                                            \
    }
SIGMOID_AVX512(sigmoid_avx512_d, double, __m512d, 8, __mmask8, pd, _ZGVeN8v_exp, 708.0, 2)
SIGMOID_AVX512(sigmoid_avx512_f, float, __m512, 16, __mmask16, ps, _ZGVeN16v_expf, 87.0f, 1)
#define SIGMOID_ROW(T, row, n) (sizeof(T) == 8 ? sigmoid_avx512_d((double *)(row), n) : sigmoid_avx512_f((float *)(row), n))
#else
#define SIGMOID_ROW(T, row, n) ((void)0)
#endif

/* row <- f(row) in place for one row: the sigmoid, ReLU (NaN kept, as np.clip keeps it) or the identity.
 * One function (not inlined) for every pass that computes f, so that f(z) has the same bits wherever
 * it is computed: inlined into two loops, the compiler may vectorise one and not the other, and
 * glibc's scalar and vector exp differ in the last bit. */
#define ACTIVATE_ROW_FUNCTION(NAME, T, EXP)                                                          \
    CLONES __attribute__((noinline)) static void NAME(T *restrict row, Py_ssize_t cols, int kind) {  \
        if (kind == SIGMOID && have_avx512)                                                          \
            SIGMOID_ROW(T, row, cols);                                                               \
        else if (kind == SIGMOID)                                                                    \
            for (Py_ssize_t j = 0; j < cols; j++) row[j] = (T)1 / ((T)1 + EXP(-row[j]));             \
        else if (kind == RELU)                                                                       \
            for (Py_ssize_t j = 0; j < cols; j++) row[j] = row[j] < 0 ? (T)0 : row[j];               \
    }
ACTIVATE_ROW_FUNCTION(activate_row_d, double, exp)
ACTIVATE_ROW_FUNCTION(activate_row_f, float, expf)
#define ACTIVATE_ROW(T, row, cols, kind)                                                             \
    (sizeof(T) == 8 ? activate_row_d((double *)(row), cols, kind) : activate_row_f((float *)(row), cols, kind))

/* Values the AVX-512 sigmoid takes at once from consecutive rows (16 KiB of doubles: in L1). */
#define SIGMOID_SPAN 2048

/* z <- f(z + b) in place (b may be NULL). The AVX-512 sigmoid gives each value the same bits
 * whatever lane it is in (masked lanes, no scalar tail), so it runs over several rows at once:
 * row by row, short rows (the notes' 25 units) left a third of the lanes empty and paid a call
 * each. Elsewhere (a scalar exp for a row's tail) f stays row by row, as the output pass takes it. */
#define ACTIVATE(NAME, T)                                                                            \
    CLONES static void NAME(T *restrict z, const T *restrict b, Py_ssize_t rows, Py_ssize_t cols,    \
                            int kind) {                                                              \
        Py_ssize_t step = kind == SIGMOID && have_avx512 && 0 < cols && cols < SIGMOID_SPAN ? SIGMOID_SPAN / cols : 1; \
        for (Py_ssize_t i = 0; i < rows; i += step) {                                                \
            Py_ssize_t n = rows - i < step ? rows - i : step;                                        \
            T *restrict span = z + i * cols;                                                         \
            if (b != NULL)                                                                           \
                for (Py_ssize_t r = 0; r < n; r++)                                                   \
                    for (Py_ssize_t j = 0; j < cols; j++) span[r * cols + j] += b[j];                \
            ACTIVATE_ROW(T, span, n * cols, kind);                                                   \
        }                                                                                            \
    }
ACTIVATE(activate_d, double)
ACTIVATE(activate_f, float)

/* f'(z) from a = f(z), for each elementwise activation: the one place the passes take it from. */
#define FPRIME_SIGMOID(T, a) ((a) * ((T)1 - (a)))
#define FPRIME_TANH(T, a) ((T)1 - (a) * (a))
#define FPRIME_RELU(T, a) ((T)((a) > 0))

/* delta <- delta ⊙ f'(z) from a = f(z), one row (ReLU's as a product, as NumPy's steps: a NaN stays). */
#define DERIVATIVE_ROW(T, d, a, cols, kind)                                                          \
    do {                                                                                             \
        if ((kind) == SIGMOID)                                                                       \
            for (Py_ssize_t j = 0; j < (cols); j++) d[j] *= FPRIME_SIGMOID(T, a[j]);                 \
        else if ((kind) == TANH)                                                                     \
            for (Py_ssize_t j = 0; j < (cols); j++) d[j] *= FPRIME_TANH(T, a[j]);                    \
        else if ((kind) == RELU)                                                                     \
            for (Py_ssize_t j = 0; j < (cols); j++) d[j] *= FPRIME_RELU(T, a[j]);                    \
    } while (0)

/* One row of the output layer's δ under the squared error, from a(n_l)'s row A (which may be d
 * itself): e = a - y, squares[j] += e², d = e * scale ⊙ f'(z) (f' from a), sums[j] += d (squares
 * and sums in double). Each value is rounded as the steps round it: (e * scale) * f'. */
#define DELTA_ROW(T, A, d, yr, scale, squares, sums, cols, FPRIME)                                   \
    for (Py_ssize_t j = 0; j < (cols); j++) {                                                        \
        T aj = A[j], e = aj - yr[j], t = e * (scale);                                                \
        squares[j] += (double)e * (double)e;                                                         \
        d[j] = FPRIME;                                                                               \
        sums[j] += d[j];                                                                             \
    }
#define DELTA_ROW_OF(T, A, d, yr, scale, squares, sums, cols, kind)                                  \
    do {                                                                                             \
        if ((kind) == SIGMOID)                                                                       \
            DELTA_ROW(T, A, d, yr, scale, squares, sums, cols, t * FPRIME_SIGMOID(T, aj))            \
        else if ((kind) == TANH)                                                                     \
            DELTA_ROW(T, A, d, yr, scale, squares, sums, cols, t * FPRIME_TANH(T, aj))               \
        else if ((kind) == RELU)                                                                     \
            DELTA_ROW(T, A, d, yr, scale, squares, sums, cols, t * FPRIME_RELU(T, aj))               \
        else                                                                                         \
            DELTA_ROW(T, A, d, yr, scale, squares, sums, cols, t)                                    \
    } while (0)

/* One row's softmax in place, stably (the row's largest value subtracted first), as
 * sparseae.activations.softmax computes it: exp(z - max) / Σ exp(z - max). A NaN makes the row NaN. */
#define SOFTMAX_ROW(T, EXP, row, cols)                                                               \
    do {                                                                                             \
        T top = row[0], total = 0;                                                                   \
        for (Py_ssize_t j = 1; j < (cols); j++) top = row[j] > top ? row[j] : top;                   \
        for (Py_ssize_t j = 0; j < (cols); j++) row[j] = EXP(row[j] - top);                          \
        for (Py_ssize_t j = 0; j < (cols); j++) total += row[j];                                     \
        for (Py_ssize_t j = 0; j < (cols); j++) row[j] /= total;                                     \
    } while (0)

/* One row of the cross-entropy's δ(n_l) = (a - y) * scale from softmax outputs A (which may be d),
 * with terms[j] += y log a (log a floored at the dtype's smallest normal number TINY, a NaN kept)
 * and sums[j] += d. */
#define CROSS_ENTROPY_ROW(T, LOG, TINY, A, d, yr, scale, terms, sums, cols)                          \
    for (Py_ssize_t j = 0; j < (cols); j++) {                                                        \
        T aj = A[j], floored = aj < (TINY) ? (TINY) : aj;                                            \
        terms[j] += (double)yr[j] * (double)LOG(floored);                                            \
        d[j] = (aj - yr[j]) * (scale);                                                               \
        sums[j] += d[j];                                                                             \
    }

/* The output layer's δ under the squared error (softmax: under the cross-entropy). With ``forward``
 * 0, ``a`` holds a(n_l) = f(z); with 1, it holds W a(n_l - 1), and each row's a(n_l) = f(row + b)
 * is formed in δ's row first (b may be NULL), so that a(n_l) never goes to memory: one pass
 * instead of the forward pass's f and this one. ``a`` NULL: a is δ's own buffer (in place: no
 * stream written that was not read). */
#define OUTPUT(NAME, T, EXP, LOG, TINY)                                                              \
    CLONES static void NAME(const T *restrict a, const T *restrict b, const T *restrict y,           \
                            T *restrict delta, T scale, double *restrict terms,                      \
                            double *restrict sums, Py_ssize_t rows, Py_ssize_t cols, int kind,       \
                            int forward) {                                                           \
        for (Py_ssize_t i = 0; i < rows; i++) {                                                      \
            const T *restrict yr = y + i * cols;                                                     \
            T *restrict d = delta + i * cols;                                                        \
            if (a != NULL && forward) {                                                              \
                const T *restrict ar = a + i * cols;                                                 \
                if (b != NULL)                                                                       \
                    for (Py_ssize_t j = 0; j < cols; j++) d[j] = ar[j] + b[j];                       \
                else                                                                                 \
                    for (Py_ssize_t j = 0; j < cols; j++) d[j] = ar[j];                              \
            } else if (forward && b != NULL)                                                         \
                for (Py_ssize_t j = 0; j < cols; j++) d[j] += b[j];                                  \
            if (forward && kind == SOFTMAX)                                                          \
                SOFTMAX_ROW(T, EXP, d, cols);                                                        \
            else if (forward)                                                                        \
                ACTIVATE_ROW(T, d, cols, kind);                                                      \
            if (a != NULL && !forward) {                                                             \
                const T *restrict ar = a + i * cols;                                                 \
                if (kind == SOFTMAX)                                                                 \
                    CROSS_ENTROPY_ROW(T, LOG, TINY, ar, d, yr, scale, terms, sums, cols)             \
                else                                                                                 \
                    DELTA_ROW_OF(T, ar, d, yr, scale, terms, sums, cols, kind);                      \
            } else if (kind == SOFTMAX)                                                              \
                CROSS_ENTROPY_ROW(T, LOG, TINY, d, d, yr, scale, terms, sums, cols)                  \
            else                                                                                     \
                DELTA_ROW_OF(T, d, d, yr, scale, terms, sums, cols, kind);                           \
        }                                                                                            \
    }
OUTPUT(output_d, double, exp, log, DBL_MIN)
OUTPUT(output_f, float, expf, logf, FLT_MIN)

/* A hidden layer's δ: delta <- (delta + s) ⊙ f'(z) (s may be NULL), sums[j] += delta. */
#define HIDDEN(NAME, T)                                                                              \
    CLONES static void NAME(T *restrict delta, const T *restrict a, const T *restrict s,             \
                            double *restrict sums, Py_ssize_t rows, Py_ssize_t cols, int kind) {     \
        for (Py_ssize_t i = 0; i < rows; i++) {                                                      \
            T *restrict d = delta + i * cols;                                                        \
            const T *restrict ar = a + i * cols;                                                     \
            if (s != NULL)                                                                           \
                for (Py_ssize_t j = 0; j < cols; j++) d[j] += s[j];                                  \
            DERIVATIVE_ROW(T, d, ar, cols, kind);                                                    \
            for (Py_ssize_t j = 0; j < cols; j++) sums[j] += d[j];                                   \
        }                                                                                            \
    }
HIDDEN(hidden_d, double)
HIDDEN(hidden_f, float)

/* ---- the Python side: buffers checked, the GIL released around each pass ---- */

/* The item's type code of a buffer's format: 'd', 'f', or 0 for anything else. Native order may be
 * written "d", "@d", "=d" or (this being little-endian x86-64) "<d": NumPy writes "=d" for an
 * array Dask has sent to a worker. */
static char item_type(const char *format) {
    if (format == NULL) return 0;
    if (format[0] == '@' || format[0] == '=' || format[0] == '<') format++;
    return (format[0] == 'd' || format[0] == 'f') && format[1] == '\0' ? format[0] : 0;
}

static int matrix(PyObject *obj, Py_buffer *view, int writable, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    char type = item_type(view->format);
    if (view->ndim != 2 || type == 0 || view->itemsize != (type == 'd' ? 8 : 4)) {
        PyErr_Format(PyExc_TypeError, "%s: a C-contiguous 2-D float64 or float32 array is needed", name);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* A vector of ``length`` items of ``itemsize`` bytes (``itemsize`` 8 with format 'd' for the sums). */
static int vector(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t length, Py_ssize_t itemsize,
                  const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (view->itemsize != itemsize || view->len != length * itemsize || item_type(view->format) != (itemsize == 8 ? 'd' : 'f')) {
        PyErr_Format(PyExc_TypeError, "%s: a contiguous vector of %zd values of the block's dtype is needed "
                     "(got %zd bytes of %zd-byte items, format %s)", name, length, view->len, view->itemsize,
                     view->format == NULL ? "none" : view->format);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *py_activate(PyObject *self, PyObject *args) {
    PyObject *zo, *bo;
    int kind;
    Py_buffer z, b = {0};
    if (!PyArg_ParseTuple(args, "OOi", &zo, &bo, &kind)) return NULL;
    if (kind < IDENTITY || kind > RELU) {
        PyErr_SetString(PyExc_ValueError, "activate: an elementwise activation's code (0-3) is needed");
        return NULL;
    }
    if (matrix(zo, &z, 1, "z") < 0) return NULL;
    Py_ssize_t rows = z.shape[0], cols = z.shape[1];
    if (bo != Py_None && vector(bo, &b, 0, cols, z.itemsize, "b") < 0) {
        PyBuffer_Release(&z);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (z.itemsize == 8) activate_d(z.buf, bo == Py_None ? NULL : b.buf, rows, cols, kind);
    else activate_f(z.buf, bo == Py_None ? NULL : b.buf, rows, cols, kind);
    Py_END_ALLOW_THREADS
    if (bo != Py_None) PyBuffer_Release(&b);
    PyBuffer_Release(&z);
    Py_RETURN_NONE;
}

static PyObject *py_output(PyObject *self, PyObject *args) {
    PyObject *ao, *yo, *deltao, *squareso, *sumso, *bo = Py_None;
    double scale;
    int kind, forward = 0;
    Py_buffer a, y, delta, squares, sums, b = {0};
    if (!PyArg_ParseTuple(args, "OOOdOOi|pO", &ao, &yo, &deltao, &scale, &squareso, &sumso, &kind, &forward, &bo))
        return NULL;
    if (matrix(ao, &a, 0, "a") < 0) return NULL;
    Py_ssize_t rows = a.shape[0], cols = a.shape[1];
    int ok = 0;
    if (matrix(yo, &y, 0, "y") == 0) {
        if (matrix(deltao, &delta, 1, "delta") == 0) {
            if (vector(squareso, &squares, 1, cols, 8, "terms") == 0) {
                if (vector(sumso, &sums, 1, cols, 8, "sums") == 0) {
                    if (bo == Py_None || vector(bo, &b, 0, cols, a.itemsize, "b") == 0) {
                        if (y.itemsize != a.itemsize || delta.itemsize != a.itemsize || y.shape[0] != rows ||
                            y.shape[1] != cols || delta.shape[0] != rows || delta.shape[1] != cols)
                            PyErr_SetString(PyExc_ValueError, "a, y and delta must have one shape and dtype");
                        else if (kind < IDENTITY || kind > SOFTMAX || (forward && kind == TANH))
                            PyErr_SetString(PyExc_ValueError, "the fused output pass computes f for the "
                                            "sigmoid, ReLU, the identity and softmax only");
                        else if (bo != Py_None && !forward)
                            PyErr_SetString(PyExc_ValueError, "b is added only with forward=True");
                        else if (a.buf != delta.buf && (char *)a.buf < (char *)delta.buf + delta.len &&
                                 (char *)delta.buf < (char *)a.buf + a.len)
                            PyErr_SetString(PyExc_ValueError, "a and delta overlap without being one array");
                        else {
                            ok = 1;
                            const void *bb = bo == Py_None ? NULL : b.buf;
                            const void *ab = a.buf == delta.buf ? NULL : a.buf;  /* in place */
                            Py_BEGIN_ALLOW_THREADS
                            if (a.itemsize == 8)
                                output_d(ab, bb, y.buf, delta.buf, scale, squares.buf, sums.buf, rows, cols,
                                         kind, forward);
                            else
                                output_f(ab, bb, y.buf, delta.buf, (float)scale, squares.buf, sums.buf, rows,
                                         cols, kind, forward);
                            Py_END_ALLOW_THREADS
                        }
                        if (bo != Py_None) PyBuffer_Release(&b);
                    }
                    PyBuffer_Release(&sums);
                }
                PyBuffer_Release(&squares);
            }
            PyBuffer_Release(&delta);
        }
        PyBuffer_Release(&y);
    }
    PyBuffer_Release(&a);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_hidden(PyObject *self, PyObject *args) {
    PyObject *deltao, *ao, *so, *sumso;
    int kind;
    Py_buffer delta, a, s = {0}, sums;
    if (!PyArg_ParseTuple(args, "OOOOi", &deltao, &ao, &so, &sumso, &kind)) return NULL;
    if (kind < IDENTITY || kind > RELU) {
        PyErr_SetString(PyExc_ValueError, "hidden: an elementwise activation's code (0-3) is needed");
        return NULL;
    }
    if (matrix(deltao, &delta, 1, "delta") < 0) return NULL;
    Py_ssize_t rows = delta.shape[0], cols = delta.shape[1];
    int ok = 0;
    if (matrix(ao, &a, 0, "a") == 0) {
        if (so == Py_None || vector(so, &s, 0, cols, delta.itemsize, "s") == 0) {
            if (vector(sumso, &sums, 1, cols, 8, "sums") == 0) {
                if (a.itemsize != delta.itemsize || a.shape[0] != rows || a.shape[1] != cols)
                    PyErr_SetString(PyExc_ValueError, "a and delta must have one shape and dtype");
                else {
                    ok = 1;
                    const void *sb = so == Py_None ? NULL : s.buf;
                    Py_BEGIN_ALLOW_THREADS
                    if (delta.itemsize == 8) hidden_d(delta.buf, a.buf, sb, sums.buf, rows, cols, kind);
                    else hidden_f(delta.buf, a.buf, sb, sums.buf, rows, cols, kind);
                    Py_END_ALLOW_THREADS
                }
                PyBuffer_Release(&sums);
            }
            if (so != Py_None) PyBuffer_Release(&s);
        }
        PyBuffer_Release(&a);
    }
    PyBuffer_Release(&delta);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* One Adam step (sparseae.optim.adam) on n values: m <- m β1 + g c1, v <- v β2 + (g c2) g,
 * θ <- θ - (m α) / (√v + ε), with c1 = (1 - β1)·scale and c2 = (1 - β2)·scale² given; each
 * operation rounded as NumPy's steps round it (no FMA, a correctly rounded √ and quotient), so
 * the same bits in one pass where the steps take eleven. In float32, each scalar is rounded to
 * float first, as NumPy rounds a Python float that meets a float32 array. */
#define ADAM(NAME, T, SQRT)                                                                            \
    CLONES static void NAME(T *restrict theta, const T *restrict g, T *restrict m, T *restrict v,       \
                            Py_ssize_t n, double alpha_, double beta1_, double beta2_, double c1_,      \
                            double c2_, double eps_) {                                                  \
        const T alpha = (T)alpha_, beta1 = (T)beta1_, beta2 = (T)beta2_, c1 = (T)c1_, c2 = (T)c2_;    \
        const T eps = (T)eps_;                                                                          \
        for (Py_ssize_t i = 0; i < n; i++) {                                                            \
            T mi = m[i] * beta1 + g[i] * c1, vi = v[i] * beta2 + g[i] * c2 * g[i];                      \
            m[i] = mi;                                                                                  \
            v[i] = vi;                                                                                  \
            theta[i] -= mi * alpha / (SQRT(vi) + eps);                                                  \
        }                                                                                               \
    }
ADAM(adam_d, double, sqrt)
ADAM(adam_f, float, sqrtf)

static int overlap(const Py_buffer *a, const Py_buffer *b) {
    return (const char *)a->buf < (const char *)b->buf + b->len && (const char *)b->buf < (const char *)a->buf + a->len;
}

static PyObject *py_adam(PyObject *self, PyObject *args) {
    PyObject *objects[4];
    double alpha, beta1, beta2, c1, c2, eps;
    if (!PyArg_ParseTuple(args, "OOOOdddddd", &objects[0], &objects[1], &objects[2], &objects[3], &alpha, &beta1,
                          &beta2, &c1, &c2, &eps))
        return NULL;
    static const char *names[4] = {"theta", "grad", "m", "v"};
    Py_buffer views[4];
    Py_ssize_t n = -1, size = 8;
    char type = 'd';
    int got = 0, ok = 1;
    for (; got < 4; got++) {
        if (PyObject_GetBuffer(objects[got], &views[got], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT |
                               (got == 1 ? 0 : PyBUF_WRITABLE)) < 0) {
            ok = 0;
            break;
        }
        if (n < 0) {
            type = item_type(views[got].format);
            size = type == 'd' ? 8 : 4;
            n = views[got].len / size;
        }
        if (views[got].itemsize != size || item_type(views[got].format) != type || views[got].len != n * size) {
            PyErr_Format(PyExc_TypeError, "adam: %s must be a contiguous vector of theta's length and dtype "
                         "(float64 or float32)", names[got]);
            ok = 0;
            got++;
            break;
        }
    }
    for (int i = 0; ok && i < 4; i++)
        for (int j = i + 1; ok && j < 4; j++)
            if (n > 0 && overlap(&views[i], &views[j])) {
                PyErr_Format(PyExc_ValueError, "adam: %s and %s overlap", names[i], names[j]);
                ok = 0;
            }
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        if (type == 'd')
            adam_d(views[0].buf, views[1].buf, views[2].buf, views[3].buf, n, alpha, beta1, beta2, c1, c2, eps);
        else
            adam_f(views[0].buf, views[1].buf, views[2].buf, views[3].buf, n, alpha, beta1, beta2, c1, c2, eps);
        Py_END_ALLOW_THREADS
    }
    for (int i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* The unit-norm decoder's gradient taken back to θ's columns (sparseae.objective_base):
 * g[i][j] <- (g[i][j] - w[i][j] p[j]) / n[j], and the centred encoder's g[i][j] <- g[i][j] - x[i] y[j]
 * (p, n, x, y NULL in the other), each rounded as NumPy's broadcast steps round it, in one pass;
 * all in g's dtype. */
#define COLUMNS(NAME, T)                                                                               \
    CLONES static void NAME(T *restrict g, const T *restrict w, const T *restrict p, const T *restrict n, \
                            const T *restrict x, const T *restrict y, Py_ssize_t rows, Py_ssize_t cols) { \
        for (Py_ssize_t i = 0; i < rows; i++) {                                                         \
            T *restrict gi = g + i * cols;                                                              \
            if (x != NULL)                                                                              \
                for (Py_ssize_t j = 0; j < cols; j++) gi[j] = gi[j] - x[i] * y[j];                      \
            else                                                                                        \
                for (Py_ssize_t j = 0; j < cols; j++) gi[j] = (gi[j] - w[i * cols + j] * p[j]) / n[j];  \
        }                                                                                               \
    }
COLUMNS(columns_d, double)
COLUMNS(columns_f, float)

static PyObject *py_columns(PyObject *self, PyObject *args) {
    PyObject *go, *wo, *po, *no;
    int outer;
    if (!PyArg_ParseTuple(args, "OOOOp", &go, &wo, &po, &no, &outer)) return NULL;
    Py_buffer g, w = {0}, p, n;
    if (matrix(go, &g, 1, "g") < 0) return NULL;
    Py_ssize_t rows = g.shape[0], cols = g.shape[1], size = g.itemsize;
    int ok = 0;
    if (outer || matrix(wo, &w, 0, "w") == 0) {
        if (!outer && (w.itemsize != size || w.shape[0] != rows || w.shape[1] != cols))
            PyErr_SetString(PyExc_ValueError, "columns: g and w must have one shape and one dtype");
        else if (!outer && rows * cols > 0 && overlap(&g, &w))
            PyErr_SetString(PyExc_ValueError, "columns: g and w overlap");
        else if (vector(po, &p, 0, outer ? rows : cols, size, outer ? "x" : "p") == 0) {
            if (vector(no, &n, 0, cols, size, outer ? "y" : "n") == 0) {
                ok = 1;
                Py_BEGIN_ALLOW_THREADS
                if (size == 8) {
                    if (outer) columns_d(g.buf, NULL, NULL, NULL, p.buf, n.buf, rows, cols);
                    else columns_d(g.buf, w.buf, p.buf, n.buf, NULL, NULL, rows, cols);
                } else {
                    if (outer) columns_f(g.buf, NULL, NULL, NULL, p.buf, n.buf, rows, cols);
                    else columns_f(g.buf, w.buf, p.buf, n.buf, NULL, NULL, rows, cols);
                }
                Py_END_ALLOW_THREADS
                PyBuffer_Release(&n);
            }
            PyBuffer_Release(&p);
        }
        if (!outer) PyBuffer_Release(&w);
    }
    PyBuffer_Release(&g);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"activate", py_activate, METH_VARARGS, "activate(z, b, kind): z <- f(z + b) in place (b may be None)."},
    {"output", py_output, METH_VARARGS,
     "output(a, y, delta, scale, terms, sums, kind, forward=False, b=None): delta <- (a - y) * scale * f'(z); "
     "terms += (a - y)^2 (softmax, kind 4: the cross-entropy's delta <- (a - y) * scale, terms += y log a) "
     "and sums += delta, per column (float64 vectors). With forward, a holds z - b and "
     "f(a + b) is computed first (a itself not written unless it is delta: then all in place)."},
    {"hidden", py_hidden, METH_VARARGS,
     "hidden(delta, a, s, sums, kind): delta <- (delta + s) * f'(z) (s may be None); sums += delta per column."},
    {"columns", py_columns, METH_VARARGS,
     "columns(g, w, p, n, outer): in place on a float64 or float32 matrix g (all in its dtype): g <- (g - w * p) / n (p, n per column); "
     "with outer, w is not read and g <- g - outer(p, n)."},
    {"adam", py_adam, METH_VARARGS,
     "adam(theta, grad, m, v, alpha, beta1, beta2, c1, c2, eps): one Adam step in place (float64 or float32 vectors, one dtype): "
     "m <- m*beta1 + grad*c1, v <- v*beta2 + grad*c2*grad, theta <- theta - m*alpha / (sqrt(v) + eps)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "_fused", .m_doc = "Fused elementwise passes (sparseae.engine.fused).",
    .m_size = -1, .m_methods = methods,
};

PyMODINIT_FUNC PyInit__fused(void) {
#if VECTOR_X86
    __builtin_cpu_init();
    have_avx512 = __builtin_cpu_supports("avx512f");
#endif
    return PyModule_Create(&module);
}

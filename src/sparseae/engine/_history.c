/* The two passes of an L-BFGS iteration over its history (sparseae.engine.vectors, for
 * sparseae.optim.lbfgs), each one pass over the history's rows with the vector work that BLAS and
 * NumPy did in passes of their own:
 *
 *   pair:      s <- alpha d and y <- g_new - g written into two rows, then rows[used] . g_new,
 *              s . y, y . y and max |g_new|;
 *   direction: out <- alpha x + sum_q c_q rows[used_q], x . out, and trial <- theta + out.
 *
 * Columns are taken in blocks of BLOCK (the vectors' block stays in L1 while every row's block
 * streams past); each block's dot products go to a row of `partials`, which the caller adds in
 * block order. A dot product within a block is accumulated in LANES independent lanes, summed in a
 * fixed tree: with no FMA (-ffp-contract=off) and no reassociation, every instruction set gives
 * the same bits, and so does any split of the blocks over threads. Optional, like
 * sparseae.engine._fused: where it is not built, NumPy's and BLAS's calls do the same steps.
 * float64 C-contiguous arrays; the GIL is released while a pass runs, so each core can run a range
 * of blocks at once.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

#define BLOCK 2048
#define LANES 16

/* The lanes summed in a fixed tree: (0+8), (1+9), ... then halves again. */
static double lanes_sum(double *acc) {
    for (int width = LANES / 2; width > 0; width /= 2)
        for (int l = 0; l < width; l++) acc[l] = acc[l] + acc[l + width];
    return acc[0];
}

/* sum_j a[j] b[j] over j < n, lane j % LANES (a block's values: n <= BLOCK). */
CLONES static double dot_block(const double *restrict a, const double *restrict b, Py_ssize_t n) {
    double acc[LANES] = {0};
    Py_ssize_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) acc[l] = acc[l] + a[j + l] * b[j + l];
    for (int l = 0; j + l < n; l++) acc[l] = acc[l] + a[j + l] * b[j + l];
    return lanes_sum(acc);
}

/* Blocks [first, last) of the pair pass; partials row b: k dot products, s.y, y.y, max|g_new|. */
CLONES static void pair_blocks(double *rows, Py_ssize_t n, const int64_t *used, Py_ssize_t k, int64_t s_row,
                               int64_t y_row, double alpha, const double *restrict d, const double *restrict g_new,
                               const double *restrict g, Py_ssize_t first, Py_ssize_t last, double *partials) {
    /* s and y are rows of the history that the products below read again: no restrict on them */
    double *s = rows + s_row * n, *y = rows + y_row * n;
    for (Py_ssize_t b = first; b < last; b++) {
        Py_ssize_t lo = b * BLOCK, len = n - lo < BLOCK ? n - lo : BLOCK;
        double *part = partials + b * (k + 3), top = 0.0;
        for (Py_ssize_t j = lo; j < lo + len; j++) {
            s[j] = alpha * d[j];
            y[j] = g_new[j] - g[j];
            double v = g_new[j] < 0 ? -g_new[j] : g_new[j];
            if (v > top || v != v) top = top != top ? top : v;  /* a NaN stays */
        }
        for (Py_ssize_t q = 0; q < k; q++) part[q] = dot_block(rows + used[q] * n + lo, g_new + lo, len);
        part[k] = dot_block(s + lo, y + lo, len);
        part[k + 1] = dot_block(y + lo, y + lo, len);
        part[k + 2] = top;
    }
}

/* Blocks [first, last) of the direction pass; partials row b: x . out. */
CLONES static void direction_blocks(const double *restrict rows, Py_ssize_t n, const int64_t *used,
                                    const double *restrict c, Py_ssize_t k, double alpha, const double *restrict x,
                                    double *restrict out, const double *restrict theta, double *restrict trial,
                                    Py_ssize_t first, Py_ssize_t last, double *partials) {
    for (Py_ssize_t b = first; b < last; b++) {
        Py_ssize_t lo = b * BLOCK, len = n - lo < BLOCK ? n - lo : BLOCK;
        double *restrict o = out + lo;
        for (Py_ssize_t j = 0; j < len; j++) o[j] = alpha * x[lo + j];
        for (Py_ssize_t q = 0; q < k; q++) {
            const double *restrict r = rows + used[q] * n + lo;
            double cq = c[q];
            for (Py_ssize_t j = 0; j < len; j++) o[j] = o[j] + cq * r[j];
        }
        partials[b] = dot_block(x + lo, o, len);
        if (theta != NULL)
            for (Py_ssize_t j = 0; j < len; j++) trial[lo + j] = theta[lo + j] + o[j];
    }
}

/* A float64 C-contiguous buffer of `length` values (-1: any), writable if asked. */
static int take(PyObject *o, Py_buffer *view, int writable, Py_ssize_t length, const char *name) {
    if (PyObject_GetBuffer(o, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    const char *f = view->format;
    if (f != NULL && (*f == '<' || *f == '=' || *f == '@')) f++;
    if (view->itemsize != 8 || f == NULL || *f != 'd' || (length >= 0 && view->len != length * 8)) {
        PyErr_Format(PyExc_TypeError, "%s must be a contiguous float64 array of %zd values", name, length);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* The history: a float64 C-contiguous matrix. */
static int take_rows(PyObject *o, Py_buffer *view, int writable) {
    if (take(o, view, writable, -1, "rows") < 0) return -1;
    if (view->ndim != 2) {
        PyErr_SetString(PyExc_ValueError, "rows must be a matrix");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* The used rows' indices (int64, each in [0, count)), as a buffer. */
static int take_indices(PyObject *o, Py_buffer *view, Py_ssize_t count) {
    if (PyObject_GetBuffer(o, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *f = view->format;
    if (f != NULL && (*f == '<' || *f == '=' || *f == '@')) f++;
    if (view->itemsize != 8 || f == NULL || (*f != 'q' && *f != 'l')) {
        PyErr_SetString(PyExc_TypeError, "used must be a contiguous int64 array");
        PyBuffer_Release(view);
        return -1;
    }
    const int64_t *u = view->buf;
    for (Py_ssize_t q = 0; q < view->len / 8; q++)
        if (u[q] < 0 || u[q] >= count) {
            PyErr_Format(PyExc_IndexError, "used row %lld is outside the history's %zd rows", (long long)u[q], count);
            PyBuffer_Release(view);
            return -1;
        }
    return 0;
}

static Py_ssize_t n_blocks(Py_ssize_t n) { return (n + BLOCK - 1) / BLOCK; }

static int block_range(Py_ssize_t first, Py_ssize_t last, Py_ssize_t n) {
    if (first < 0 || last < first || last > n_blocks(n)) {
        PyErr_Format(PyExc_ValueError, "blocks [%zd, %zd) are outside the %zd blocks", first, last, n_blocks(n));
        return -1;
    }
    return 0;
}

static PyObject *py_pair(PyObject *self, PyObject *args) {
    PyObject *ro, *uo, *dobj, *gno, *go, *po;
    long long s_row, y_row;
    double alpha;
    Py_ssize_t first, last;
    if (!PyArg_ParseTuple(args, "OOLLdOOOnnO", &ro, &uo, &s_row, &y_row, &alpha, &dobj, &gno, &go, &first, &last, &po))
        return NULL;
    Py_buffer rows, used, d, gn, g, part;
    if (take_rows(ro, &rows, 1) < 0) return NULL;
    PyObject *result = NULL;
    Py_ssize_t count = rows.shape[0], n = rows.shape[1];
    if (s_row < 0 || s_row >= count || y_row < 0 || y_row >= count || s_row == y_row) {
        PyErr_SetString(PyExc_IndexError, "s and y must be two rows of the history");
        goto rows_done;
    }
    if (take_indices(uo, &used, count) < 0) goto rows_done;
    Py_ssize_t k = used.len / 8;
    if (block_range(first, last, n) < 0 || take(dobj, &d, 0, n, "d") < 0) goto used_done;
    if (take(gno, &gn, 0, n, "g_new") < 0) goto d_done;
    if (take(go, &g, 0, n, "g") < 0) goto gn_done;
    if (take(po, &part, 1, n_blocks(n) * (k + 3), "partials") < 0) goto g_done;
    Py_BEGIN_ALLOW_THREADS
    pair_blocks(rows.buf, n, used.buf, k, s_row, y_row, alpha, d.buf, gn.buf, g.buf, first, last, part.buf);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
    PyBuffer_Release(&part);
g_done:
    PyBuffer_Release(&g);
gn_done:
    PyBuffer_Release(&gn);
d_done:
    PyBuffer_Release(&d);
used_done:
    PyBuffer_Release(&used);
rows_done:
    PyBuffer_Release(&rows);
    return result;
}

static PyObject *py_direction(PyObject *self, PyObject *args) {
    PyObject *ro, *uo, *co, *xo, *oo, *to, *tro, *po;
    double alpha;
    Py_ssize_t first, last;
    if (!PyArg_ParseTuple(args, "OOOdOOOOnnO", &ro, &uo, &co, &alpha, &xo, &oo, &to, &tro, &first, &last, &po))
        return NULL;
    Py_buffer rows, used, c, x, out, theta = {0}, trial = {0}, part;
    int with_trial = to != Py_None;
    if (take_rows(ro, &rows, 0) < 0) return NULL;
    PyObject *result = NULL;
    Py_ssize_t count = rows.shape[0], n = rows.shape[1];
    if (take_indices(uo, &used, count) < 0) goto rows_done;
    Py_ssize_t k = used.len / 8;
    if (block_range(first, last, n) < 0 || take(co, &c, 0, k, "coefficients") < 0) goto used_done;
    if (take(xo, &x, 0, n, "x") < 0) goto c_done;
    if (take(oo, &out, 1, n, "out") < 0) goto x_done;
    if (with_trial && take(to, &theta, 0, n, "theta") < 0) goto out_done;
    if (with_trial && take(tro, &trial, 1, n, "trial") < 0) goto theta_done;
    if (take(po, &part, 1, n_blocks(n), "partials") < 0) goto trial_done;
    Py_BEGIN_ALLOW_THREADS
    direction_blocks(rows.buf, n, used.buf, c.buf, k, alpha, x.buf, out.buf, with_trial ? theta.buf : NULL,
                     with_trial ? trial.buf : NULL, first, last, part.buf);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
    PyBuffer_Release(&part);
trial_done:
    if (with_trial) PyBuffer_Release(&trial);
theta_done:
    if (with_trial) PyBuffer_Release(&theta);
out_done:
    PyBuffer_Release(&out);
x_done:
    PyBuffer_Release(&x);
c_done:
    PyBuffer_Release(&c);
used_done:
    PyBuffer_Release(&used);
rows_done:
    PyBuffer_Release(&rows);
    return result;
}

static PyMethodDef methods[] = {
    {"pair", py_pair, METH_VARARGS,
     "pair(rows, used, s_row, y_row, alpha, d, g_new, g, first, last, partials): for column blocks [first, last): "
     "rows[s_row] <- alpha d, rows[y_row] <- g_new - g; partials[b] <- (rows[used] . g_new, s . y, y . y, max |g_new|) "
     "over block b."},
    {"direction", py_direction, METH_VARARGS,
     "direction(rows, used, c, alpha, x, out, theta, trial, first, last, partials): for column blocks [first, last): "
     "out <- alpha x + sum_q c[q] rows[used[q]]; partials[b] <- x . out over block b; trial <- theta + out "
     "(theta may be None)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "_history", .m_doc = "L-BFGS's passes over its history (sparseae.engine.vectors).",
    .m_size = -1, .m_methods = methods,
};

PyMODINIT_FUNC PyInit__history(void) { return PyModule_Create(&module); }

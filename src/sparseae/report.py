"""A run's report: ``report.html``, one self-contained page a person opens to judge a model.

Everything it shows is inside the file (images as ``data:`` PNGs, inline CSS, no script, nothing
fetched): the feature tiles; J per iteration on the training and held-out rows; the histograms
of ρ̂ (the target ρ marked) and of the hidden activations; :func:`~sparseae.reconstruction_metrics`
on the held-out and the training rows; the hyperparameters; the notes' two figures redrawn from
the code (sigmoid against tanh; KL(ρ ‖ ρ̂) against ρ̂ for ρ = 0.2); and for image data the
held-out patches that most activate each of the first dozen units.

Training calls :func:`write_report_data` while it has the data (``report_data.safetensors``:
the activation histogram and the top patches); :func:`write_report` then builds the page from
the run folder's files alone, which is what ``sparseae report RUN_DIR`` does.
"""

import base64
import html
from pathlib import Path

import numpy as np

from . import figures
from ._io import atomic_path, read_json_object
from .activations import ACTIVATIONS
from .errors import DataError, ModelFileError, ParameterError

REPORT, REPORT_DATA, TOP_TOKENS = "report.html", "report_data.safetensors", "top_tokens.json"
N_UNITS, N_TOP, N_BINS = 12, 9, 50
#: Rows of the data whose activations the report shows (the first ones: held-out rows are random).
MAX_ROWS = 10_000


def write_report_data(folder, model, X, rows):
    """Store what the report needs from the data: the histogram of the hidden activations on
    (the first MAX_ROWS of) ``X``, and for square patches the ``N_TOP`` rows that most activate
    each of the first ``N_UNITS`` units. ``rows`` says which rows X holds ("held-out rows")."""
    from .persistence import write_document
    from .visualize import infer_patch_shape

    X = np.asarray(X[:MAX_ROWS], dtype=np.float64)
    H = model.transform(X)
    lo, hi = ACTIVATIONS[model.activation].output_range
    if not (np.isfinite(lo) and np.isfinite(hi)):
        lo, hi = float(H.min()), float(H.max())
    counts, edges = np.histogram(H, bins=N_BINS, range=(lo, hi))
    arrays = {"activation_counts": counts.astype(np.int64), "activation_edges": edges}
    try:
        infer_patch_shape(X.shape[1])
    except ParameterError:
        pass
    else:
        units = np.arange(min(N_UNITS, H.shape[1]))
        top = np.argsort(-H[:, units], axis=0, kind="stable")[:N_TOP].T  # (units, N_TOP) row indices
        arrays.update(top_units=units, top_patches=X[top].astype(np.float32))
    write_document(Path(folder) / REPORT_DATA, {"kind": "ReportData", "rows": rows, "n_rows": len(X)}, arrays)


def _read_report_data(folder):
    """The report data's (metadata, arrays), checked against its digest as a model file is;
    a file written before it had one (plain safetensors metadata) still reads."""
    from safetensors import SafetensorError, safe_open

    from .persistence import _KEY, read_document

    path = Path(folder) / REPORT_DATA
    if not path.is_file():
        return None, {}
    try:
        with safe_open(str(path), framework="np") as f:
            metadata = f.metadata() or {}
            if _KEY not in metadata:  # before the digest
                return metadata, {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{str(path)!r} is not readable (corrupt or truncated?): {exc}") from None
    document, arrays = read_document(path, "report data")
    if document["kind"] != "ReportData":
        raise ModelFileError(f"{str(path)!r} holds a {document['kind']}, not a run's report data")
    return {"rows": str(document.get("rows", "rows")), "n_rows": str(document.get("n_rows", ""))}, arrays


def write_report(folder):
    """Build ``report.html`` in the run folder ``folder`` from its files; returns its path."""
    from . import load

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{str(folder)!r} is not a run folder")
    try:
        metrics = read_json_object(folder / "metrics.json")
    except FileNotFoundError:
        raise DataError(
            f"{str(folder)!r} is not a finished run folder (it has no metrics.json)"
        ) from None
    model = load(folder / "model.safetensors")
    if not hasattr(model, "components_"):
        raise DataError(f"{str(folder)!r} holds a {type(model).__name__}; the report is for a "
                        f"SparseAutoencoder")
    try:
        settings = read_json_object(folder / "run.json")["settings"]
        if not isinstance(settings, dict):
            raise DataError(f"{str(folder / 'run.json')!r} is damaged: its settings are not an object")
    except FileNotFoundError:
        settings = model.get_params()  # a run written before run.json: the model's own parameters
    except KeyError:
        raise DataError(f"{str(folder / 'run.json')!r} is damaged: it has no settings") from None
    meta, data = _read_report_data(folder)
    if (folder / TOP_TOKENS).is_file():  # a dictionary trained on a transformer's activations
        meta = {**meta, "top_tokens": read_json_object(folder / TOP_TOKENS)}
    page = _page(model, metrics, settings, meta, data)
    with atomic_path(folder / REPORT) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return folder / REPORT


def _img(png_bytes, alt):
    source = base64.b64encode(png_bytes).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{source}">'


def _figure(fig, alt):
    return _img(figures.png(fig), alt)


def _table(rows, header=None):
    cells = [(header, "th")] if header else []
    cells += [(row, "td") for row in rows]
    lines = ["<tr>" + "".join(f"<{tag}>{html.escape(_text(v))}</{tag}>" for v in row) + "</tr>"
             for row, tag in cells]
    return "<table>" + "".join(lines) + "</table>"


def _text(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return f"{len(value)}: {', '.join(map(str, value[:20]))}{' ...' if len(value) > 20 else ''}"
    return "" if value is None else str(value)


_METRICS = (("fvu", "fraction of variance unexplained (centred)"), ("mse", "mean squared error"),
            ("l0", "units active per example (L0)"), ("dead_units", "dead units (never active)"),
            ("dense_units", "dense units (active on > 90 %)"))
_TERMS = ("squared_error", "weight_decay", "sparsity", "cost")


def _metrics_table(metrics):
    """Item by item, on the held-out rows and the training rows (those the run measured)."""
    names = {"validation": "held-out rows", "training": "training rows"}
    blocks = {names[key]: metrics[key] for key in names if isinstance(metrics.get(key), dict)}
    rows = [(label, *(block.get(key) for block in blocks.values())) for key, label in _METRICS]
    for term in _TERMS:
        rows.append((f"J term: {term}", *(block.get("terms", {}).get(term) for block in blocks.values())))
    rows.append(("examples", *(block.get("n_examples") for block in blocks.values())))
    return _table(rows, ["metric", *blocks])


def _unit_patches(meta, data):
    from .visualize import feature_tiles, image_png, infer_patch_shape

    patches = data["top_patches"].astype(np.float64)  # (units, N_TOP, n)
    n_units, n_top, n = patches.shape
    flat = patches.reshape(-1, n)
    shape = infer_patch_shape(n)
    tiles = feature_tiles(flat - flat.mean(axis=1, keepdims=True), shape, n_cols=n_top)
    units = ", ".join(str(u) for u in data["top_units"])
    caption = (f"<p>Row k: the {n_top} {html.escape(meta.get('rows', 'rows'))} that most activate unit k "
               f"(units {units}; each patch contrast-stretched, its mean grey).</p>")
    picture = image_png(tiles, max(1, min(6, 48 // shape[0])))
    return caption + _img(picture, "the patches that most activate each unit")


def _unit_tokens(found):
    """Each unit's top tokens in their context, the token itself in bold."""
    rows = []
    for entry in found.get("units", []):
        cells = "<br>".join(f"{html.escape(e['before'])} <b>{html.escape(e['token'])}</b> {html.escape(e['after'])}"
                            f" <small>({e['activation']:.3g})</small>" for e in entry["examples"])
        rows.append(f"<tr><td>unit {int(entry['unit'])}</td><td>{cells}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def _features(model):
    from .visualize import infer_patch_shape, tiles_png

    text = "<p>Each tile is the norm-bounded input that most activates one hidden unit.</p>"
    try:
        infer_patch_shape(model.n_features_in_)
    except ParameterError:
        return text + "<p>The inputs are not square patches: no tiles.</p>"
    return text + _img(tiles_png(model.components_), "feature tiles: the input that most activates each unit")


def _sections(model, metrics, settings, meta, data):
    """``(title, HTML)`` of each section, in order; those without their data are left out."""
    validation = metrics.get("validation", {})
    yield "Features (notes §4)", _features(model)
    costs = figures.cost_curves(model.loss_curve_, validation.get("scores"))
    yield "Cost", _figure(costs, "cost per iteration")
    yield "Metrics", _metrics_table(metrics)
    rho_hat = model.loss_terms_.get("rho_hat")
    if rho_hat is not None:
        held_out = None if validation.get("rho_hat") is None else np.asarray(validation["rho_hat"])
        fig = figures.rho_hat_histogram(np.asarray(rho_hat), float(model.sparsity_target), held_out)
        yield "Mean activations ρ̂", _figure(fig, "histogram of rho hat")
    if "activation_counts" in data:
        what = meta.get("rows", "rows")
        fig = figures.activation_histogram(data["activation_counts"], data["activation_edges"], what)
        rows = html.escape(f"{meta.get('n_rows', '')} {what}")
        caption = f"<p>Every hidden unit's activation on {rows}.</p>"
        yield "Hidden activations", caption + _figure(fig, "histogram of the hidden activations")
    if "top_patches" in data:
        yield "What the units respond to", _unit_patches(meta, data)
    if "top_tokens" in meta:
        yield "The tokens that most activate a dozen units", _unit_tokens(meta["top_tokens"])
    yield "Hyperparameters", _table(sorted((k, v) for k, v in settings.items() if k != "callback"))
    notes = _figure(figures.notes_activation_functions(), "sigmoid and tanh")
    notes += _figure(figures.notes_kl_penalty(0.2), "KL(0.2 || rho hat) against rho hat")
    yield "The notes' figures, drawn by this code", notes


_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
section { margin: 1.5em 0; } img { max-width: 100%; image-rendering: pixelated; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
"""


def _page(model, metrics, settings, meta, data):
    data_text = html.escape(str(metrics.get("data", "")))
    summary = (f"{data_text}: {metrics.get('n_iter')} iterations, stopped "
               f"{html.escape(str(metrics.get('stopped')))}, cost {_text(metrics.get('cost'))}, "
               f"{_text(metrics.get('seconds'))} s.")
    body = "".join(f"<section><h2>{html.escape(title)}</h2>{content}</section>"
                   for title, content in _sections(model, metrics, settings, meta, data))
    layers = html.escape(str(metrics.get("layer_sizes")))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>sparseae run: {data_text}'
            f"</title>\n<style>{_STYLE}</style></head>\n<body><h1>A sparse autoencoder, {layers}</h1>"
            f"<p>{summary}</p>{body}</body></html>\n")

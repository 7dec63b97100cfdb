"""What a training run writes into its folder: the model, the metrics, the pictures and the report
(shared by ``sparseae train`` and ``sparseae train --stream``)."""


from ..report import write_report, write_report_data
from .run_folder import write_json


def exit_status(stopped):
    """The exit status of a run by how it stopped: 0, 1 diverged, 128 + the signal interrupted."""
    from .. import _signals

    return _signals.exit_status() if stopped == "interrupted" else {"completed": 0, "diverged": 1}[stopped]


def stop_record(stopped):
    """What metrics.json says of how the run stopped, beyond ``stopped``: the signal, if one."""
    from .. import _signals

    return {"signal": _signals.name()} if stopped == "interrupted" else {}


def write_run(folder, model, training, held_out, description, seconds, seed, stopped, extra):
    """model.safetensors, metrics.json, features.png (square patches), cost.png, report.html (and
    the data it needs, report_data.safetensors) into ``folder``: metrics on ``training`` rows and,
    when given, on ``held_out`` rows."""
    from ..edges import edge_score
    from ..network import Layout
    from ..visualize import infer_patch_shape, save_cost_curve, save_tiles

    model.save(folder / "model.safetensors")
    terms = model.loss_terms_
    n = model.n_features_in_
    metrics = {
        "data": description, "layer_sizes": model.layer_sizes_,
        "stopped": stopped, "cost": model.loss_, **{k: v for k, v in terms.items() if k != "rho_hat"},
        # mean((h(x) - x)^2) over all values = 2 * squared_error / n; no extra pass over X
        "reconstruction_mse": 2.0 * terms["squared_error"] / n,
        "n_iter": model.n_iter_, "seconds": seconds, **extra,
    }
    if terms["rho_hat"] is not None:
        rho_hat = terms["rho_hat"]
        metrics.update(rho_hat_mean=float(rho_hat.mean()), rho_hat_min=float(rho_hat.min()),
                       rho_hat_max=float(rho_hat.max()))
    try:
        patch_shape = infer_patch_shape(n)
    except ValueError:
        patch_shape = None
    if patch_shape is not None:
        save_tiles(model.components_, folder / "features.png", patch_shape)
        if len(patch_shape) == 2:
            layout = Layout(model.layer_sizes_)
            W0 = layout.unpack(layout.initial_theta(seed))[0][0]
            metrics.update(edge_score=edge_score(model.components_), edge_score_initial=edge_score(W0))
    if held_out is not None:
        metrics["validation"] = {**_unit_metrics(model, held_out),
                                 "best_score": getattr(model, "best_validation_score_", None),
                                 "scores": getattr(model, "validation_scores_", None)}
    metrics["training"] = _unit_metrics(model, training)
    save_cost_curve(model.loss_curve_, folder / "cost.png", getattr(model, "validation_scores_", None))
    write_report_data(folder, model, training if held_out is None else held_out,
                      "training rows (none held out)" if held_out is None else "held-out rows")
    write_json(metrics, folder / "metrics.json")
    write_report(folder)
    return metrics


def _unit_metrics(model, X):
    """:func:`~sparseae.reconstruction_metrics` on X, as JSON holds it."""
    from ..metrics import reconstruction_metrics

    found = reconstruction_metrics(model, X)
    return {**found, "rho_hat": found["rho_hat"].tolist()}

r"""The plots of a run's report, each a matplotlib figure drawn from the code's own functions:
the cost curves, the histograms of ρ̂ and of the hidden activations, and the notes' two
figures redrawn (the sigmoid against tanh, §1; KL(ρ ‖ ρ̂) against ρ̂ for ρ = 0.2, §3).

:func:`png` turns any of them into PNG bytes (for a page that embeds its images).
"""

import io

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(fig, dpi=100):
    """The figure as PNG bytes; the figure is closed."""
    plt = _pyplot()
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def cost_curves(loss_curve, validation_scores=None):
    """J per iteration on the training rows, and on the held-out rows when given (log scale)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    # A diverging run's costs reach float64's largest: drawn up to 1e100, where a log axis's
    # limits and ticks can still be computed.
    shown = lambda values: np.minimum(np.asarray(values, dtype=np.float64), 1e100)  # noqa: E731
    ax.plot(np.arange(1, len(loss_curve) + 1), shown(loss_curve), label="training rows")
    if validation_scores:
        ax.plot(np.arange(1, len(validation_scores) + 1), shown(validation_scores), label="held-out rows")
    ax.set_xlabel("iteration")
    ax.set_ylabel("J_sparse")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title("cost per iteration")
    fig.tight_layout()
    return fig


def rho_hat_histogram(rho_hat, rho, held_out=None):
    """Histogram of the units' mean activations ρ̂, with the target ρ marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    top = max(1e-3, rho, float(np.max(rho_hat)), float(np.max(held_out)) if held_out is not None else 0.0)
    bins = np.linspace(0, top, 31)
    ax.hist(rho_hat, bins=bins, alpha=0.7, label="training rows")
    if held_out is not None:
        ax.hist(held_out, bins=bins, alpha=0.5, label="held-out rows")
    ax.axvline(rho, color="black", linestyle="--", label=f"ρ = {rho:g}")
    ax.set_xlabel("ρ̂ (mean activation of a unit)")
    ax.set_ylabel("units")
    ax.legend()
    ax.set_title("ρ̂ of each hidden unit")
    fig.tight_layout()
    return fig


def activation_histogram(counts, edges, what):
    """Histogram (precomputed ``counts`` over ``edges``) of every hidden activation on ``what``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.stairs(counts, edges, fill=True)
    ax.set_yscale("log")
    ax.set_xlabel("hidden activation a(2)")
    ax.set_ylabel("values")
    ax.set_title(f"hidden activations on the {what}")
    fig.tight_layout()
    return fig


def notes_activation_functions():
    """The notes' first figure: the sigmoid and tanh, drawn with sparseae's own f."""
    from .activations import ACTIVATIONS

    plt = _pyplot()
    z = np.linspace(-5, 5, 401)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name in ("sigmoid", "tanh"):
        ax.plot(z, ACTIVATIONS[name].f(z.copy(), None, np), label=name)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_xlabel("z")
    ax.set_ylabel("f(z)")
    ax.legend()
    ax.set_title("the sigmoid and tanh activation functions")
    fig.tight_layout()
    return fig


def notes_kl_penalty(rho=0.2):
    """The notes' KL figure: KL(ρ ‖ ρ̂) against ρ̂, sparseae's own penalty, zero at ρ̂ = ρ."""
    from .penalties import kl_divergence

    plt = _pyplot()
    rho_hat = np.linspace(0.005, 0.995, 397)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(rho_hat, kl_divergence(rho, rho_hat))
    ax.axvline(rho, color="grey", linestyle="--")
    ax.set_xlabel("ρ̂")
    ax.set_ylabel(f"KL({rho:g} ‖ ρ̂)")
    ax.set_title(f"the sparsity penalty for ρ = {rho:g}")
    fig.tight_layout()
    return fig

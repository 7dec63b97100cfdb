"""The minibatch driver's schedules, each a function of the epoch (0-based) of ``epochs``.

Unlike textbook Adam, ``fit`` holds the step for half its epochs, then lowers it linearly to zero
(:func:`step_schedule`), so the minibatch noise settles, and it lowers the KL penalty's target
gradually over the first 30 % (:func:`target_schedule`), so the units do not all turn off at
once (both measured in benchmarks/RESULTS.md, "The streaming solver").
"""


def step_schedule(learning_rate, epoch, epochs):
    """The step of epoch ``epoch`` of ``epochs``: held for the first half, then lowered linearly
    towards zero (2/epochs of it in the last epoch)."""
    return learning_rate * min(1.0, 2.0 * (1.0 - epoch / epochs))


def target_schedule(rho, epoch, epochs, start=0.5, warmup=0.3):
    """The KL penalty's target ρ in epoch ``epoch`` of ``epochs``: from ``start`` geometrically
    down to ``rho`` over the first ``warmup`` of the epochs, then ``rho``.

    At the initial weights every ρ̂ is about 0.5. With the target at ρ = 0.01 from the start,
    the penalty's gradient swamps the reconstruction's and turns every unit off within an epoch;
    minibatch gradients then take hundreds of epochs to leave that plateau (J ≈ 0.477 on the
    notes' exercise). Lowering the target gradually lets the units learn features while they
    become sparse.
    """
    if rho >= start:
        return rho
    fraction = min(1.0, epoch / max(1.0, warmup * epochs))
    return float(start * (rho / start) ** fraction)

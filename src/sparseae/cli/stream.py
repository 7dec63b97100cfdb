"""``sparseae train --stream``: Adam over a stream of examples longer than memory, one chunk at a
time (:meth:`~sparseae.SparseAutoencoder.fit_stream`), with a progress bar that counts examples.

The stream is ``--patches`` patches sampled on the fly from the built-in images or an image
folder (normalised with the first chunk's 3σ), or the rows of a ``.npy`` file read chunk by
chunk. The run folder is written as for ``train``; its metrics are measured on the last chunk
("training") and on 10,000 fresh patches the model has not trained on ("validation"; a file's
stream has none), and the report shows the fresh patches.
"""

import sys
import time
from pathlib import Path

import numpy as np

from ..errors import FitInterrupted, NonFiniteCostError
from .parser import UsageError
from .resume import record_run
from .run_files import exit_status, stop_record, write_run
from .run_folder import RunFolder

CHUNK = 10_000


def _stream(args):
    """``(chunks, n_examples, held-out rows, description)``."""
    from ..datasets import (
        load_image_folder,
        natural_images,
        normalize_patches,
        patch_limit,
        patch_stream,
        sample_patches,
    )
    from ..rows import NpyRows

    path = Path(args.data)
    if args.data == "natural" or path.is_dir():
        images = natural_images() if args.data == "natural" else load_image_folder(path, args.colour)
        normalize = args.normalize is not False
        held_out = sample_patches(images, CHUNK, args.patch_size, args.seed + 1)  # not the stream's
        limit = patch_limit(held_out) if normalize else None
        if normalize:
            held_out = normalize_patches(held_out, limit)
        chunks = patch_stream(images, args.patches, args.patch_size, CHUNK, normalize, args.seed, limit)
        what = f"a stream of {args.patches} {args.patch_size}x{args.patch_size} patches of {args.data}"
        return chunks, args.patches, held_out, what + (" (normalised)" if normalize else "")
    if path.suffix == ".npy" and path.is_file():
        rows = NpyRows(path)
        m = rows.shape[0]
        chunks = (np.asarray(rows.rows(i, i + CHUNK), dtype=np.float64) for i in range(0, m, CHUNK))
        return chunks, m, None, f"a stream of file {path}"
    raise UsageError("--stream takes --data natural, a folder of images or a .npy file")


def stream_train(args, model):
    """Train ``model`` on the stream ``args`` describe and write the run folder; the exit status."""
    for flag in ("checkpoint_every", "resume"):
        if getattr(args, flag):
            raise UsageError(f"--stream cannot be combined with --{flag.replace('_', '-')}")
    if model.validation_fraction:
        raise UsageError("--stream cannot hold rows out (--validation-fraction); its report uses fresh rows")
    chunks, total, held_out, description = _stream(args)
    from tqdm.auto import tqdm

    with RunFolder(args.out, args.overwrite) as run:
        start, stopped, seen, last = time.perf_counter(), "completed", 0, [None]
        with tqdm(total=total, unit="examples", desc="streaming", disable=args.quiet, unit_scale=True) as bar:

            def counted():
                for chunk in chunks:
                    last[0] = chunk
                    yield chunk

            def progress(state):
                nonlocal seen
                seen += len(last[0])
                bar.update(len(last[0]))
                bar.set_postfix(cost=f"{state.loss:.6g}", refresh=False)

            model.set_params(verbose=0, callback=progress)
            try:
                model.fit_stream(counted(), -(-total // CHUNK))
            except (FitInterrupted, NonFiniteCostError) as exc:
                stopped = "interrupted" if isinstance(exc, FitInterrupted) else "diverged"
                if not hasattr(model, "theta_"):
                    print(f"sparseae train: error: {stopped} before the first chunk; nothing written",
                          file=sys.stderr)
                    return exit_status(stopped)
        seconds = time.perf_counter() - start
        record_run(run.path, args)
        model.set_params(callback=None)
        metrics = write_run(run.path, model, last[0], held_out, description, seconds, args.seed, stopped,
                             {"n_examples": seen, "examples_per_second": seen / seconds, **stop_record(stopped)})
        run.commit()
    if stopped != "completed":
        print(f"sparseae train: error: {stopped} after {seen} examples; saved the model to {run.final}/",
              file=sys.stderr)
        return exit_status(stopped)
    measured = metrics.get("validation", metrics["training"])
    rows = "10,000 fresh" if "validation" in metrics else "the last"
    print(f"streamed {seen} examples in {seconds:.1f} s: FVU {measured['fvu']:.4g} on {rows} rows; "
          f"wrote {run.final}/")
    return 0

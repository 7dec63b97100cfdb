"""``sparseae conv``: UFLDL's convolution and pooling experiment on MNIST, with its run folder."""


import numpy as np

from .run_folder import RunFolder, opened, write_json


def _table(outcome):
    lines = [f"{'pipeline':<58} {'accuracy':>9} {'features':>9}  seconds"]
    for entry in outcome["results"]:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in entry["seconds"].items())
        lines.append(f"{entry['name']:<58} {entry['accuracy']:>9.2%} {entry['n_features']:>9}  {stages}")
    return "\n".join(lines)


def conv(args):
    from ..convolution_experiment import convolution_experiment
    from ..datasets import load_mnist
    from ..visualize import save_confusion_matrix, save_image, save_tiles

    # a bad --out is refused before any work; from here a failure or a signal at any point leaves nothing
    with opened(lambda: RunFolder(args.out, args.overwrite) if args.out else None) as run:
        X, y = load_mnist(args.mnist, args.subset)
        outcome = convolution_experiment(
            X, y, n_train=args.n_train, n_test=args.n_test, n_patches=args.n_patches, max_iter=args.max_iter,
            mlp=not args.no_mlp,
            random_state=args.seed, verbose=0 if args.quiet else 1)
        print(f"MNIST {args.subset}: {outcome['n_train']} digits to train, {outcome['n_test']} to test")
        print(_table(outcome))
        if run is not None:
            results = [{k: v for k, v in e.items() if k not in ("pipeline", "predicted")}
                       for e in outcome["results"]]
            write_json({"n_train": outcome["n_train"], "n_test": outcome["n_test"], "results": results},
                       run.path / "results.json")
            best = outcome["results"][0]  # RICA's, fine pooling
            save_confusion_matrix(outcome["y_test"], best["predicted"], np.unique(y), run.path / "confusion.png")
            convolve = best["pipeline"].steps[0][1]
            convolve.save(run.path / "features.safetensors")
            zca, rica = (step for _, step in outcome["encoders"]["rica"].steps)
            save_tiles(rica.components_ @ zca._matrix(-0.5), run.path / "rica_filters.png", (9, 9))
            save_tiles(outcome["encoders"]["autoencoder"].components_, run.path / "autoencoder_filters.png", (8, 8))
            image = outcome["images_test"][:1]
            maps = convolve.transform(image).reshape(convolve.n_units_, -1)
            save_image(image[0], run.path / "digit.png", scale=4)
            save_tiles(maps, run.path / "pooled_maps.png", convolve.pooled_shape_, scale=12)
            run.commit()
            print(f"wrote {run.final}/")
    return 0

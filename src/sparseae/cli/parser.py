"""The command line's flags, and how a parameter error is said in them."""

import argparse
import math
import re

from .. import solvers
from ..errors import ParameterError


class UsageError(ParameterError):
    """A command line that cannot be run as written."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        exc = UsageError(message)
        exc.prog = self.prog  # "sparseae train" for a subcommand's flags
        raise exc


def in_flags(message):
    """A message in the command line's words: "The 'n_hidden' parameter of SparseAutoencoder
    must be ..." becomes "--n-hidden must be ...", and "output_activation='linear'" becomes
    "--output-activation linear"."""
    message = re.sub(r"The '(\w+)' parameter of \w+ ", lambda m: f"--{m[1].replace('_', '-')} ", message)
    flag = r"\b([a-z]+(?:_[a-z]+)*)='([\w.:-]+)'"
    return re.sub(flag, lambda m: f"--{m[1].replace('_', '-')} {m[2]}", message)


def _auto_bool(text):
    """An argparse type: 'auto', or true/false (yes/no)."""
    value = {"auto": "auto", "true": True, "yes": True, "false": False, "no": False}.get(text.strip().lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected auto, true or false, got {text!r}")
    return value


def _number(kind, low=None, positive=False, auto=False, finite=True, none=False):
    """An argparse type: a ``kind`` (int or float), at least ``low`` or positive, or 'auto' (or
    'none', None, if ``none``)."""

    def parse(text):
        if auto and text == "auto":
            return text
        if none and text == "none":
            return None
        try:
            value = kind(text)
        except ValueError:
            value = None
        if (value is None or (finite and not math.isfinite(value)) or (positive and not value > 0)
                or (low is not None and value < low)):
            what = "a positive" if positive else "a whole" if kind is int else "a finite"
            what += " number" + ("" if low is None else f" >= {low}") + (" or auto" if auto else "")
            what += " or none" if none else ""
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


class _Default:
    """A flag's default value, told apart from the same value given (see :func:`given`)."""


def default(value):
    """``value`` marked as a default: equal to it and of its type (str, int), but ``given`` is False."""
    return type(f"Default{type(value).__name__}", (_Default, type(value)), {})(value)


def given(args, name):
    """Whether the flag ``name`` was given on the command line (its value is not a ``default``)."""
    return not isinstance(getattr(args, name), _Default)


def plain(args, *names):
    """Replace each ``default`` value of ``names`` with the plain value, once checked."""
    for name in names:
        value = getattr(args, name)
        if isinstance(value, _Default):
            setattr(args, name, type(value).__mro__[2](value))


POSITIVE = _number(float, positive=True)


def _widths(text):
    """An argparse type: whole numbers separated by commas ("16,64,256")."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None
SEED = _number(int, low=0)


def _add_model_flags(p):
    g = p.add_argument_group("model (defaults: the notes' exercise)")
    g.add_argument("--n-hidden", type=int, default=25, help="hidden units s2 (25)")
    g.add_argument("--sparsity", default="kl", help="sparsity penalty: kl, l1, topk, jumprelu or batchtopk (kl)")
    g.add_argument("--sparsity-target", type=float, default=0.01, help="rho, for kl (0.01)")
    g.add_argument("--sparsity-weight", type=float, default=3.0, help="beta, for kl, l1 and jumprelu (3)")
    g.add_argument("--k", type=int, help="for topk: the hidden units each example keeps; for batchtopk, their mean")
    g.add_argument("--jumprelu-bandwidth", type=POSITIVE, default=1e-3,
                   help="for jumprelu: the pseudo-gradients' kernel width (0.001)")
    g.add_argument("--jumprelu-steps", choices=("threshold", "log"), default="threshold",
                   help="for jumprelu under adam: step the thresholds themselves or their logs (threshold)")
    g.add_argument("--matryoshka", type=_widths, metavar="M1,M2,...",
                   help="nested prefix widths ending at --n-hidden, each reconstructing x (none)")
    g.add_argument("--aux-k", type=_number(int, low=1), metavar="K",
                   help="for topk and batchtopk: AuxK, dead units reconstruct the residual (none)")
    g.add_argument("--aux-k-weight", type=POSITIVE, default=1 / 32, help="AuxK's weight (0.03125, 1/32)")
    g.add_argument("--dead-after", type=_number(int, low=1), metavar="N",
                   help="examples inactive before a unit counts as dead (auto: min(1e7, rows))")
    g.add_argument("--input-scaling", help="unit_mean_squared_norm: train on c*x with E|cx|^2 = n (none)")
    g.add_argument("--init", default="auto", help="auto, uniform (UFLDL's) or tied (auto)")
    g.add_argument("--decoder-bias-init", default="auto", help="auto, zeros, mean or geometric_median (auto)")
    g.add_argument("--decoder-init-norm", type=_number(float, positive=True, auto=True), default="auto",
                   help="the tied start's decoder column norm (auto: 0.3 for the relu family under adam, else 1)")
    g.add_argument("--decoder-norm", help="unit: decoder columns kept at unit norm (for l1)")
    g.add_argument("--center-encoder", type=_auto_bool, default="auto", metavar="{auto,true,false}",
                   help="the encoder reads x - b2 in training (auto: l1, topk, batchtopk under adam)")
    g.add_argument("--resample-dead", type=_number(int, low=0), default=0, metavar="W",
                   help="resample units dead on all rows every W iterations (0: never)")
    g.add_argument("--weight-decay", type=float, default=1e-4, help="lambda (1e-4)")
    g.add_argument("--activation", default=default("sigmoid"),
                   help="hidden f: sigmoid, tanh or relu (sigmoid; relu on a folder of activations)")
    g.add_argument("--output-activation", default=default("sigmoid"),
                   help="output f: sigmoid, tanh or linear (sigmoid; linear on a folder of activations)")
    g.add_argument("--solver", default=default("lbfgs"), help=solvers.help_text())
    g.add_argument("--max-iter", type=_number(int, low=1, auto=True), default="auto",
                   help="iterations, or epochs for adam (auto: 400, adam 300)")
    g.add_argument("--tol", type=float, default=1e-5, help="gradient tolerance (1e-5)")
    g.add_argument("--learning-rate", type=_number(float, auto=True, finite=False), default="auto",
                   help="gd/adam step (auto)")
    g.add_argument("--beta-1", type=_number(float, auto=True), default="auto",
                   help="adam's momentum beta_1, in [0, 1) (auto: 0.3 for kl, else 0.9)")
    g.add_argument("--max-grad-norm", type=_number(float, positive=True, auto=True, none=True), default="auto",
                   help="adam's gradient clipped to this norm, or none (auto: 0.5 for relu units, none for kl)")
    g.add_argument("--batch-size", type=_number(int, auto=True), default="auto",
                   help="rows per chunk (a .npy larger than memory) or adam minibatch (auto)")
    g.add_argument("--lbfgs-memory", type=_number(int, auto=True), default="auto",
                   help="L-BFGS corrections kept (auto: 100, fewer for little data, at least 10)")
    g.add_argument("--dtype", default="float64", help="float64 or float32 arithmetic (float64)")
    g.add_argument("--optimizer-dtype", default="float64",
                   help="adam's parameters and moments: float64, or float32 with --dtype float32 (float64)")
    g.add_argument("--device", help="run on PyTorch tensors on this device (cpu, cuda, ...)")
    g.add_argument("--seed", type=SEED, default=0, help="random_state of weights and patches (0)")
    g.add_argument("--validation-fraction", type=float, default=0.0,
                   help="rows held out and scored each iteration, reported in metrics.json (0)")
    g.add_argument("--early-stopping", action="store_true", help="stop when the held-out cost stalls")
    g.add_argument("--n-iter-no-change", type=int, default=10, help="iterations it may stall (10)")


def _add_run_flags(p, every, resume):
    """The flags of a command that writes a run folder and can checkpoint and resume it."""
    p.add_argument("--out", help="run folder (default: a new folder under runs/)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--checkpoint-every", type=_number(int, low=1), metavar="N",
                   help=f"write the parameters and the optimizer's state to the run folder every N {every} "
                   "(the folder then exists from the start)")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help=f"continue a run written with --checkpoint-every, with its settings, {resume}")


def _add_rows_in_rows_out(p, model_help, output_help):
    """The flags of a command that reads a model and data chunk by chunk and writes one file."""
    p.add_argument("model", help=model_help)
    p.add_argument("data", help="a .npy (read in chunks), .npz, .csv or IDX file")
    p.add_argument("-o", "--output", required=True, help=output_help)
    p.add_argument("--key", help="which array of a .npz that holds several")
    p.add_argument("--batch-size", type=_number(int, low=1), default=10000, help="rows a chunk (10000)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def build_parser():
    parser = _Parser(prog="sparseae", description="The sparse autoencoder of the CS294A notes.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"sparseae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    train = sub.add_parser("train", help="train a sparse autoencoder and write a run folder")
    _add_model_flags(train)
    d = train.add_argument_group("data (default: 10,000 8x8 patches of the built-in images)")
    d.add_argument("--data", default="natural",
                   help="natural (built-in images), digits (scikit-learn's), a folder of PNG/JPEG "
                   "images, an IDX file (MNIST), or a .npy/.npz/.csv file, one example a row")
    d.add_argument("--key", help="which array of a .npz that holds several")
    d.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=None,
                   help="UFLDL patch normalisation (default: on for image patches only)")
    d.add_argument("--patches", type=_number(int, low=1), default=default(10000),
                   help="patches to sample, of natural or a folder of images (10000)")
    d.add_argument("--patch-size", type=_number(int, low=1), default=default(8), help="patch side in pixels (8)")
    d.add_argument("--colour", action="store_true", help="RGB patches from an image folder")
    d.add_argument("--stream", action="store_true",
                   help="train with Adam on a stream, one chunk of 10,000 at a time, in constant memory: "
                   "--patches sampled on the fly, or a .npy file's rows")
    _add_run_flags(train, "iterations", "to its max-iter")

    report = sub.add_parser("report", help="rebuild a run folder's report.html from its files")
    report.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by sparseae train")
    report.add_argument("--open", action="store_true", help="open the report in the web browser")

    encode = sub.add_parser("encode", help="write the hidden activations of a saved model")
    _add_rows_in_rows_out(encode, "a .safetensors model (autoencoder or pipeline)", "the .npy file to write")

    show = sub.add_parser("show", help="write the feature tiles of a saved model")
    show.add_argument("model", help="a .safetensors model (autoencoder or pipeline)")
    show.add_argument("-o", "--output", default="features.png", help="PNG file (features.png)")
    show.add_argument("--patch-shape", type=_number(int, low=1), nargs="+", help="H W, or H W 3 for colour")
    show.add_argument("--overwrite", action="store_true", help="replace an existing output file")

    taught = sub.add_parser("selftaught", help="UFLDL's self-taught learning on MNIST digits")
    taught.add_argument("--mnist", required=True, help="folder with the MNIST IDX files")
    taught.add_argument("--subset", choices=("t10k", "train"), default="t10k", help="(t10k)")
    taught.add_argument("--n-hidden", type=_number(int, low=1), default=196, help="hidden units (196)")
    taught.add_argument("--max-iter", type=_number(int, low=1), default=400, help="L-BFGS iterations (400)")
    taught.add_argument("--n-unlabeled", type=_number(int, low=1), help="use only this many unlabeled images")
    taught.add_argument("--n-labeled", type=_number(int, low=2), help="use only this many labeled images")
    taught.add_argument("--seed", type=SEED, default=0, help="weights and subsets (0)")
    taught.add_argument("--out", help="folder for results.json, features.png and the model")
    taught.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    taught.add_argument("--quiet", action="store_true", help="no progress bar")

    acts = sub.add_parser("activations", help="a transformer's residual stream over text, as shards to train on")
    acts.add_argument("--layer", type=_number(int, low=0), default=3, help="after this block; 0: embeddings (3)")
    acts.add_argument("-o", "--out", required=True, help="the folder of shards (resumed if interrupted)")
    acts.add_argument("--text", help="a .txt file or a folder of them (default: Python's own documentation)")
    acts.add_argument("--model", help="a local Hugging Face model folder (default: the bundled all-MiniLM-L6-v2)")
    acts.add_argument("--max-length", type=_number(int, low=2), default=128, help="tokens per passage (128)")
    acts.add_argument("--batch-size", type=_number(int, low=1), default=32, help="passages per forward pass (32)")
    acts.add_argument("--dtype", choices=("float32", "float64", "float16"), default="float32", help="(float32)")
    acts.add_argument("--keep-special-tokens", action="store_true", help="also write [CLS], [SEP], ...")
    acts.add_argument("--device", help="PyTorch device for the model (cpu)")
    acts.add_argument("--quiet", action="store_true", help="no progress bar")

    conv = sub.add_parser("conv", help="UFLDL's convolution and pooling experiment on MNIST digits")
    conv.add_argument("--mnist", required=True, help="folder with the MNIST IDX files")
    conv.add_argument("--subset", choices=("t10k", "train"), default="t10k", help="(t10k)")
    conv.add_argument("--n-train", type=_number(int, low=10), default=5000,
                      help="digits to train, the rest test (5000)")
    conv.add_argument("--n-test", type=_number(int, low=1), help="digits to test (all the others)")
    conv.add_argument("--n-patches", type=_number(int, low=100), default=20000,
                      help="patches per encoder (20000)")
    conv.add_argument("--max-iter", type=_number(int, low=1), default=300, help="L-BFGS iterations per encoder (300)")
    conv.add_argument("--no-mlp", action="store_true", help="skip scikit-learn's MLPClassifier")
    conv.add_argument("--seed", type=SEED, default=0, help="split, patches and weights (0)")
    conv.add_argument("--out", help="folder for results.json, confusion.png, the filters and pooled maps")
    conv.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    conv.add_argument("--quiet", action="store_true", help="no progress bars")

    stack = sub.add_parser("stack", help="train and test a stacked sparse autoencoder classifier")
    s = stack.add_argument_group("data")
    s.add_argument("--data", help="images: IDX, .npy, .npz (arrays X and y) or .csv (label last)")
    s.add_argument("--labels", help="their labels, when apart: IDX, .npy or .csv")
    s.add_argument("--mnist", help="a folder with MNIST's t10k IDX files: UFLDL's experiment")
    s.add_argument("--test-fraction", type=float, default=0.5, help="held out for testing (0.5)")
    m = stack.add_argument_group("model (defaults: UFLDL's stacked autoencoder exercise)")
    m.add_argument("--hidden", type=_number(int, low=1), nargs="+", default=[200, 200], help="(200 200)")
    m.add_argument("--sparsity-target", type=float, default=0.1, help="rho (0.1)")
    m.add_argument("--sparsity-weight", type=float, default=3.0, help="beta (3)")
    m.add_argument("--weight-decay", type=float, default=3e-3, help="lambda of the autoencoders (3e-3)")
    m.add_argument("--softmax-weight-decay", type=float, default=1e-4, help="lambda of the softmax (1e-4)")
    m.add_argument("--pretrain-iter", type=int, default=400, help="per autoencoder and softmax (400)")
    m.add_argument("--finetune-iter", type=int, default=400, help="(400; 0: no fine-tuning)")
    m.add_argument("--activation", default="sigmoid", help="sigmoid or tanh (sigmoid)")
    m.add_argument("--dtype", default="float64", help="float64 or float32 arithmetic (float64)")
    m.add_argument("--device", help="run on PyTorch tensors on this device (cpu, cuda, ...)")
    m.add_argument("--seed", type=SEED, default=0, help="weights and the train/test split (0)")
    _add_run_flags(stack, "iterations of the running stage (and at each stage's end)",
                   "from the stage and iteration it stopped in")

    predict = sub.add_parser("predict", help="write the labels a saved classifier gives new data")
    _add_rows_in_rows_out(predict, "a .safetensors classifier (or a pipeline ending in one)",
                          "the .csv file to write")

    export = sub.add_parser("export", help="write a saved model in another library's format")
    export.add_argument("--saelens", action="store_true", required=True,
                        help="as a SAELens SAE folder (cfg.json, sae_weights.safetensors)")
    export.add_argument("model", help="a .safetensors SparseAutoencoder (ReLU units, linear decoder, "
                                      "l1, topk or jumprelu)")
    export.add_argument("folder", help="the folder to write")
    export.add_argument("--dtype", default="float32", help="float32 or float64 weights (float32)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing folder")

    check = sub.add_parser("gradcheck", help="check the gradient on a small random problem")
    check.add_argument("--epsilon", type=POSITIVE, default=1e-4, help="EPSILON (1e-4)")
    check.add_argument("--threshold", type=POSITIVE, default=1e-8, help="fail above this (1e-8)")
    check.add_argument("--seed", type=SEED, default=0, help="of the random problem (0)")
    return parser

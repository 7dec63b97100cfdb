"""The exact objective as a map-reduce on a real dask.distributed LocalCluster (2 workers)."""


import numpy as np
import pytest

from sparseae import Layout, ParameterError, SparseAutoencoder, SparseObjective

pytestmark = pytest.mark.unconverged

da = pytest.importorskip("dask.array", reason="Dask is not installed (pip install 'sparseae[dask]')")
distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")

KW = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"  # any free port
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture
def X():
    return np.random.default_rng(7).uniform(0.05, 0.95, size=(900, 12))


def test_objective_on_the_cluster_equals_in_memory(client, X):
    from sparseae.distributed import DaskObjective

    theta = Layout([12, 5, 12]).initial_theta(0) + 0.01
    c0, g0 = SparseObjective([12, 5, 12], X, **KW)(theta)
    objective = DaskObjective([12, 5, 12], da.from_array(X, chunks=(250, 6)), **KW)
    c, g = objective(theta)
    assert abs(c - c0) / c0 < 1e-12
    assert np.linalg.norm(g - g0) / np.linalg.norm(g0) < 1e-12


def test_fit_on_the_cluster_matches_in_memory(client, X):
    kwargs = dict(n_hidden=5, max_iter=40, random_state=0, **KW)
    reference = SparseAutoencoder(**kwargs).fit(X)
    model = SparseAutoencoder(**kwargs).fit(da.from_array(X, chunks=(300, 12)))
    assert abs(model.loss_ - reference.loss_) / reference.loss_ < 1e-6
    assert model.n_features_in_ == 12


def test_nan_in_a_chunk_names_the_global_row(client, X):
    X = X.copy()
    X[640, 3] = np.inf
    with pytest.raises(ValueError, match=r"first at row 640, column 3"):
        SparseAutoencoder(5).fit(da.from_array(X, chunks=(200, 12)))


def test_lost_worker_is_retried_not_summed_partially(client, X):
    from sparseae.distributed import DaskObjective

    theta = Layout([12, 5, 12]).initial_theta(1)
    c0, g0 = SparseObjective([12, 5, 12], X, **KW)(theta)
    objective = DaskObjective([12, 5, 12], da.from_array(X, chunks=(150, 12)), **KW)
    objective(theta)
    # Kill one worker process: its chunks are gone and must be recomputed elsewhere.
    worker = list(client.scheduler_info()["workers"])[0]
    try:
        client.run(lambda: __import__("os")._exit(1), workers=[worker])
    except Exception:  # the worker died under the call, as intended
        pass
    c, g = objective(theta)
    assert abs(c - c0) / c0 < 1e-12
    assert np.linalg.norm(g - g0) / np.linalg.norm(g0) < 1e-12


def test_no_client_is_a_clear_error(X, monkeypatch):
    import sparseae.distributed as module

    def none():
        raise ValueError("no client")

    monkeypatch.setattr(distributed, "default_client", none)
    with pytest.raises(ValueError, match="no dask.distributed Client is active"):
        module._client()


class _KillOnFirstPass2(distributed.WorkerPlugin):
    """Kills its worker process the first time any worker starts a pass-2 task."""

    def __init__(self, flag):
        self.flag = flag

    def transition(self, key, start, finish, **kwargs):
        import os

        name = key[0] if isinstance(key, tuple) else key
        if finish == "executing" and str(name).startswith("_pass2") and not os.path.exists(self.flag):
            open(self.flag, "w").close()
            os._exit(1)


def test_worker_lost_in_the_middle_of_an_evaluation(client, X, tmp_path):
    """A worker dies while pass 2 runs: Dask reruns its tasks; the gradient is still exact."""
    from sparseae.distributed import DaskObjective

    theta = Layout([12, 5, 12]).initial_theta(2)
    c0, g0 = SparseObjective([12, 5, 12], X, **KW)(theta)
    objective = DaskObjective([12, 5, 12], da.from_array(X, chunks=(100, 12)), **KW)
    flag = tmp_path / "killed"
    client.register_plugin(_KillOnFirstPass2(str(flag)), name="kill-once")
    try:
        c, g = objective(theta)
    finally:
        client.unregister_worker_plugin("kill-once")
    assert flag.exists()  # the kill really happened, mid-evaluation
    assert abs(c - c0) / c0 < 1e-12
    assert np.linalg.norm(g - g0) / np.linalg.norm(g0) < 1e-12


def test_evaluation_failing_twice_is_reported_not_summed(client, X, monkeypatch):
    from sparseae.distributed import DaskObjective

    objective = DaskObjective([12, 5, 12], da.from_array(X, chunks=(300, 12)), **KW)
    calls = []

    def broken(theta):
        calls.append(1)
        raise distributed.client.FutureCancelledError("k", "a worker vanished")

    monkeypatch.setattr(objective, "_evaluate", broken)
    with pytest.raises(RuntimeError, match="failed on the Dask cluster twice.*no partial gradient"):
        objective(Layout([12, 5, 12]).initial_theta(0))
    assert len(calls) == 2


def test_a_stack_on_the_cluster_matches_in_memory(client):
    """Targets cut like X's row chunks: pretraining and fine-tuning as map-reduces."""
    from sparseae import StackedSparseAutoencoder
    from sparseae.distributed import DaskObjective
    from sparseae.softmax import one_hot

    rng = np.random.default_rng(3)
    X, y = rng.uniform(0.05, 0.95, size=(300, 10)), np.arange(300) % 3
    X[:, 0] += 0.04 * (y - 1)  # something to learn
    sizes, kw = [10, 6, 3], dict(output_activation="softmax", loss="cross_entropy", weight_decay=(0.0, 1e-3))
    theta = Layout(sizes).initial_theta(0) + 0.01
    c0, g0 = SparseObjective(sizes, X, one_hot(y, 3), **kw)(theta)
    c, g = DaskObjective(sizes, da.from_array(X, chunks=(70, 10)), one_hot(y, 3), **kw)(theta)
    assert abs(c - c0) / c0 < 1e-12 and np.linalg.norm(g - g0) / np.linalg.norm(g0) < 1e-12
    kwargs = dict(hidden_layer_sizes=(6,), weight_decay=1e-4, pretrain_iter=15, finetune_iter=15,
                  random_state=0)
    reference = StackedSparseAutoencoder(**kwargs).fit(X, y)
    model = StackedSparseAutoencoder(**kwargs).fit(da.from_array(X, chunks=(100, 10)), y)
    assert abs(model.loss_ - reference.loss_) / reference.loss_ < 1e-6


def test_reconstruction_metrics_of_a_dask_array_equal_in_memory(client, X):
    from sparseae import reconstruction_metrics

    model = SparseAutoencoder(5, max_iter=10, random_state=0, **KW).fit(X)
    whole = reconstruction_metrics(model, X)
    chunked = reconstruction_metrics(model, da.from_array(X, chunks=(200, 6)), batch_size=250)
    for key in ("fvu", "mse", "l0"):
        assert chunked[key] == pytest.approx(whole[key], rel=1e-12)
    assert chunked["terms"]["cost"] == pytest.approx(whole["terms"]["cost"], rel=1e-12)


@pytest.mark.parametrize("penalty", [dict(sparsity="batchtopk", top_k=2),
                                     dict(sparsity="jumprelu", sparsity_weight=0.05, jumprelu_bandwidth=0.05),
                                     dict(sparsity="batchtopk", top_k=2, nested=(2, 5))],
                         ids=["batchtopk", "jumprelu", "matryoshka-batchtopk"])
def test_thresholded_layers_on_the_cluster_equal_one_in_memory_evaluation(client, X, penalty):
    """BatchTopK's selection over every partition's rows at once, JumpReLU's counts and
    pseudo-gradients, and a Matryoshka dictionary's prefixes, are the in-memory ones."""
    from sparseae.distributed import DaskObjective

    kw = dict(activation="relu", output_activation="linear", weight_decay=1e-3, **penalty)
    whole = SparseObjective([12, 5, 12], X, **kw)
    theta = whole.layout.initial_theta(0) + 0.01
    c0, g0 = whole(theta)
    objective = DaskObjective([12, 5, 12], da.from_array(X, chunks=(250, 6)), **kw)
    c, g = objective(theta)
    assert abs(c - c0) / c0 < 1e-12
    assert np.linalg.norm(g - g0) / np.linalg.norm(g0) < 1e-12
    if penalty["sparsity"] == "batchtopk":
        assert objective.batch_threshold == pytest.approx(whole.batch_threshold, rel=1e-13)
        assert objective.inference_threshold == pytest.approx(whole.inference_threshold, rel=1e-13)
    assert objective.terms(theta)["sparsity"] == pytest.approx(whole.terms(theta)["sparsity"], rel=1e-14)


def test_auxk_on_a_dask_array_is_refused_in_one_line(client, X):
    relu = dict(activation="relu", output_activation="linear", sparsity="topk", k=2, aux_k=3, max_iter=2)
    with pytest.raises(ParameterError, match="aux_k does not run on a Dask array yet"):
        SparseAutoencoder(5, **relu).fit(da.from_array(X, chunks=(250, 12)))


def test_input_scaling_on_the_cluster_is_the_in_memory_fit(client):
    X = np.random.default_rng(8).normal(size=(600, 12)) * 30
    kw = dict(activation="relu", output_activation="linear", sparsity="topk", k=2, max_iter=10, random_state=0,
              input_scaling="unit_mean_squared_norm")
    memory = SparseAutoencoder(5, **kw).fit(X)
    cluster = SparseAutoencoder(5, **kw).fit(da.from_array(X, chunks=(250, 12)))
    assert cluster.input_scale_ == pytest.approx(memory.input_scale_, rel=1e-14)
    np.testing.assert_allclose(cluster.theta_, memory.theta_, rtol=1e-9, atol=1e-12)


def test_rica_on_the_cluster_equals_in_memory(client, rng):
    """RICA's one pass as a map-reduce: the same J and gradient, and the same fit."""
    from sparseae import RICA
    from sparseae.reconstruction_ica import DaskRicaObjective, RicaObjective

    X = rng.standard_normal((700, 9))
    theta = rng.standard_normal(6 * 9)
    c0, g0 = RicaObjective(X, 6, sparsity_weight=0.2)(theta)
    c, g = DaskRicaObjective(da.from_array(X, chunks=(200, 5)), 6, sparsity_weight=0.2)(theta)
    assert c == pytest.approx(c0, rel=1e-12)
    np.testing.assert_allclose(g, g0, rtol=1e-11, atol=1e-13)
    a = RICA(6, max_iter=15, random_state=0).fit(X)
    b = RICA(6, max_iter=15, random_state=0).fit(da.from_array(X, chunks=(300, 9)))
    np.testing.assert_allclose(b.components_, a.components_, rtol=1e-8, atol=1e-10)

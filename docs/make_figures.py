"""Draw the tutorial's figures with fnn itself: ``python docs/make_figures.py``.

Every PNG that the chapters under ``docs/tutorial/`` and ``docs/ko/tutorial/`` show
is drawn by one function here, from fnn's own layers, optimizers and data (and the
examples' functions where an example has one), never by hand. The functions are
listed in :data:`FIGURES` by the file each one writes.

Options: ``--out DIR`` (default ``docs/tutorial/figures``), ``--dpi N`` (default
100), ``--only NAME ...`` to draw some figures only (by file name, with or without
``.png``), and ``--quick`` for a few steps of each training instead of the
chapters' settings (what the test runs, to show the script still works; the
pictures then show nothing). The PNGs are stored with a palette of at most 64
colours, which keeps each under about 60 KB at 100 dpi.

Training runs are short versions of the examples' that still show the book's point
(the examples have the full settings): seconds each on one core, except the seq2seq
and attention curves (12 epochs of three models, 4 epochs of one: minutes each),
DeepConvNet, the two LSTM language models and the PTB CBOW (about a minute each).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # fnn and examples/ from this checkout, without installing

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from PIL import Image  # noqa: E402

import fnn  # noqa: E402
from fnn import dlfs  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
FIGURE_DIR = ROOT / "docs" / "tutorial" / "figures"
COLOURS = 64
HISTORY_DPI = 100  # the resolution History.plot draws at


@attrs.frozen
class Canvas:
    """Where and how the figures are written.

    Attributes:
        out: The directory the PNGs go to.
        dpi: Dots per inch of every figure.
        quick: Train for a few steps only (the test's setting), instead of the chapters'.
    """

    out: Path
    dpi: int = 100
    quick: bool = False

    def steps(self, full: int, quick: int = 2) -> int:
        """``full`` (the chapter's setting), or ``quick`` under ``--quick``."""
        return quick if self.quick else full

    def save(self, figure: Figure, name: str) -> Path:
        """Write ``figure`` to ``out / name`` as a palette PNG."""
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=self.dpi)
        return self._palette_png(Image.open(buffer), name)

    def save_history(self, history: fnn.History, name: str, **plot_args: Any) -> Path:
        """Draw ``history`` with :meth:`fnn.History.plot` to ``out / name`` as a palette PNG.

        ``History.plot`` draws at 100 dpi; another ``dpi`` resizes its picture.
        """
        with tempfile.TemporaryDirectory() as tmp:
            with Image.open(history.plot(Path(tmp) / name, **plot_args)) as drawn:
                image = drawn.copy()
        if self.dpi != HISTORY_DPI:
            size = (round(image.width * self.dpi / HISTORY_DPI), round(image.height * self.dpi / HISTORY_DPI))
            image = image.resize(size, Image.Resampling.LANCZOS)
        return self._palette_png(image, name)

    def _palette_png(self, image: Image.Image, name: str) -> Path:
        path = self.out / name
        small = image.convert("RGB").quantize(COLOURS, dither=Image.Dither.NONE)
        small.save(path, optimize=True)
        return path


def new_figure(width: float, height: float) -> Figure:
    """A figure outside pyplot (no global state), laid out to fit its labels."""
    return Figure(figsize=(width, height), layout="constrained")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence what an example prints while it trains."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def mnist(flatten: bool = True) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """The offline MNIST files (5,000 training images, 10,000 test images), float32."""
    return fnn.datasets.load_mnist(
        DATA / "mnist", flatten=flatten, download=False, cache=False, progress=False,
        backend=fnn.backend(dtype="float32"),
    )  # fmt: skip


def grid_points(low: float, high: float, n: int) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """An ``n × n`` grid over ``[low, high]²``: its two coordinate arrays and its points, ``(n², 2)``."""
    axis = np.linspace(low, high, n)
    gx, gy = np.meshgrid(axis, axis)
    return gx, gy, np.stack([gx.ravel(), gy.ravel()], axis=1)


# Chapter 2 -------------------------------------------------------------------------------------


def activations(canvas: Canvas) -> Path:
    """Step, sigmoid, tanh and ReLU on ``[-5, 5]``, on one plot."""
    from examples.ch03_activations import activations as course_activations

    x = np.linspace(-5.0, 5.0, 501)
    figure = new_figure(6, 3.6)
    ax = figure.subplots()
    for name, f in course_activations().items():
        if name in ("step", "sigmoid", "tanh", "relu"):
            ax.plot(x, f(x), label=name, linestyle="--" if name == "step" else "-")
    ax.set(xlabel="x", ylabel="h(x)", ylim=(-1.2, 2.2), title="Activation functions")
    ax.axhline(0, color="gray", linewidth=0.5)
    ax.axvline(0, color="gray", linewidth=0.5)
    ax.legend()
    return canvas.save(figure, "activations.png")


# Chapter 3 -------------------------------------------------------------------------------------


def mnist_samples(canvas: Canvas) -> Path:
    """The first 24 training images with their labels."""
    (x, t), _ = mnist(flatten=False)
    figure = new_figure(6, 2.6)
    for ax, image, label in zip(figure.subplots(3, 8).ravel(), x[:24], t[:24]):
        ax.imshow(fnn.to_numpy(image[0]), cmap="gray_r", vmin=0.0, vmax=1.0)
        ax.set_title(str(int(label)), fontsize=9)
        ax.set_axis_off()
    return canvas.save(figure, "mnist_samples.png")


# Chapter 4 -------------------------------------------------------------------------------------


def gradient_descent(canvas: Canvas) -> Path:
    """The gradient field of ``f(x₀, x₁) = x₀² + x₁²`` and gradient descent on it (figures 4-9, 4-10).

    The gradients are ``fnn.numerical_grad``'s central differences; the path is 20
    steps of ``x ← x − 0.1 ∇f`` from ``(−3, 4)``, as in the book.
    """
    b = fnn.backend(dtype="float64")

    def f(p: dict[str, Any]) -> Any:  # f summed over the points, so each point gets its own gradient
        return (p["x"] ** 2).sum()

    gx, gy, points = grid_points(-2.0, 2.0, 9)
    field = fnn.to_numpy(fnn.numerical_grad(f, {"x": b.asarray(points)})["x"])
    x = b.asarray([-3.0, 4.0])
    path = [fnn.to_numpy(x)]
    for _ in range(20):
        x = x - 0.1 * fnn.numerical_grad(f, {"x": x})["x"]
        path.append(fnn.to_numpy(x))
    walk = np.array(path)

    figure = new_figure(9, 4)
    left, right = figure.subplots(1, 2)
    left.quiver(gx, gy, -field[:, 0].reshape(gx.shape), -field[:, 1].reshape(gx.shape), angles="xy")
    left.set(xlabel="x0", ylabel="x1", title="−∇f: every arrow points to the minimum", aspect="equal")
    cx, cy, _ = grid_points(-4.5, 4.5, 101)
    right.contour(cx, cy, cx**2 + cy**2, levels=[1, 4, 9, 16], colors="gray", linestyles="dashed")
    right.plot(walk[:, 0], walk[:, 1], "o-", markersize=3)
    right.set(xlabel="x0", ylabel="x1", title="gradient descent from (−3, 4), lr 0.1", aspect="equal")
    return canvas.save(figure, "gradient_descent.png")


def linear_regression(canvas: Canvas) -> Path:
    """The loss of linear regression, numerical against hand-derived gradients (log scale)."""
    from examples.ch04_linear_regression import make_data, train

    b = fnn.backend(dtype="float64")
    x, t = make_data(fnn.random.key(0), 100, 0.1, b)
    model = fnn.Dense(1)
    start = model.init(fnn.random.key(1), (4,), b)
    value_and_grad = fnn.value_and_grad(model, fnn.losses.mse)

    def numerical(params: fnn.DenseParams, x: Any, t: Any) -> tuple[float, fnn.DenseParams]:
        def loss(p: fnn.DenseParams) -> float:
            return float(fnn.losses.mse(model.apply(p, x), t))

        return loss(params), fnn.numerical_grad(loss, params)

    def hand_derived(params: fnn.DenseParams, x: Any, t: Any) -> tuple[float, fnn.DenseParams]:
        loss, grads = value_and_grad(params, x, t)
        return float(loss), grads

    steps = canvas.steps(100)
    figure = new_figure(5.5, 3.6)
    ax = figure.subplots()
    for name, grad_fn, style in (("numerical", numerical, "-"), ("hand-derived", hand_derived, "--")):
        _, losses, _ = train(grad_fn, start, x, t, steps, 0.05)
        ax.semilogy(range(1, steps + 1), losses, style, label=f"{name} gradients")
    ax.set(xlabel="step", ylabel="MSE", title="Linear regression by gradient descent")
    ax.legend()
    return canvas.save(figure, "linear_regression.png")


def logistic_regression(canvas: Canvas) -> Path:
    """The study-hours table, the fitted ``P(pass) = σ(w·hours + b)`` and the loss per step."""
    b = fnn.backend(dtype="float64")
    x, t = fnn.datasets.study_hours(backend=b)
    model = fnn.Dense(1)
    params = model.init(fnn.random.key(0), (1,), b)
    value_and_grad = fnn.value_and_grad(model, fnn.losses.sigmoid_binary_cross_entropy)
    losses = []
    for _ in range(canvas.steps(20000)):
        loss, grads = value_and_grad(params, x, t)
        losses.append(float(loss))
        params = fnn.tree.map(lambda p, g: p - 0.05 * g, params, grads)
    hours = np.linspace(0.0, 32.0, 321)
    p = fnn.to_numpy(fnn.sigmoid(model.apply(params, b.asarray(hours)[:, None]))[:, 0])

    figure = new_figure(9, 3.6)
    left, right = figure.subplots(1, 2)
    left.semilogx(range(1, len(losses) + 1), losses)
    left.set(xlabel="step", ylabel="binary cross entropy", title="loss")
    right.scatter(fnn.to_numpy(x[:, 0]), fnn.to_numpy(t[:, 0]), label="study-hours table")
    right.plot(hours, p, color="tab:orange", label="P(pass)")
    right.axhline(0.5, color="gray", linewidth=0.5, linestyle="--")
    right.set(xlabel="hours studied", ylabel="probability of passing", title="the fitted curve")
    right.legend()
    return canvas.save(figure, "logistic_regression.png")


# Chapter 5 -------------------------------------------------------------------------------------


def xor(canvas: Canvas) -> Path:
    """The 2-4-1 tanh MLP learning XOR: its loss, and ``P(y = 1)`` over the plane."""
    from examples.ch05_xor import train_mlp

    b = fnn.backend(dtype="float64")
    x, t = fnn.datasets.xor(backend=b)
    model, params, losses = train_mlp(x, t, hidden=4, steps=canvas.steps(2000), lr=0.5, seed=0)
    gx, gy, points = grid_points(-0.5, 1.5, 101)
    p = fnn.to_numpy(fnn.sigmoid(model.apply(params, b.asarray(points)))[:, 0]).reshape(gx.shape)

    figure = new_figure(9, 3.8)
    left, right = figure.subplots(1, 2)
    left.plot(range(1, len(losses) + 1), losses)
    left.set(xlabel="step", ylabel="sigmoid cross entropy", title="loss")
    filled = right.contourf(gx, gy, p, levels=np.linspace(0.0, 1.0, 11), cmap="coolwarm", vmin=0.0, vmax=1.0)
    right.contour(gx, gy, p, levels=[0.5], colors="black")
    x_host, t_host = fnn.to_numpy(x), fnn.to_numpy(t)
    right.scatter(x_host[:, 0], x_host[:, 1], c=t_host[:, 0], cmap="coolwarm", edgecolors="black", s=90)
    right.set(xlabel="x1", ylabel="x2", title="P(y = 1) and the 0.5 boundary", aspect="equal")
    figure.colorbar(filled, ax=right, ticks=[0.0, 0.5, 1.0])
    return canvas.save(figure, "xor.png")


# Chapter 6 -------------------------------------------------------------------------------------

#: The book's optimizers and learning rates for ``f(x, y) = x²/20 + y²`` (its figure 6-8).
BOOK_PATH_OPTIMIZERS = {
    "SGD": fnn.optim.sgd(0.95),
    "Momentum": fnn.optim.momentum(0.1),
    "AdaGrad": fnn.optim.adagrad(1.5),
    "Adam": fnn.optim.adam(0.3),
}


def optimizer_paths(canvas: Canvas) -> Path:
    """30 updates of SGD, Momentum, AdaGrad and Adam on ``f(x, y) = x²/20 + y²`` from ``(−7, 2)``.

    The gradient ``(x/10, 2y)`` goes through each optimizer's own ``update``, as in
    training: the book's comparison (figure 6-8).
    """
    b = fnn.backend(dtype="float64")
    cx, cy, _ = grid_points(-10.0, 10.0, 201)
    figure = new_figure(9, 5.6)
    for ax, (name, optimizer) in zip(figure.subplots(2, 2).ravel(), BOOK_PATH_OPTIMIZERS.items()):
        params = {"x": b.asarray(-7.0), "y": b.asarray(2.0)}
        state = optimizer.init(params)
        path = [(-7.0, 2.0)]
        for _ in range(30):
            grads = {"x": params["x"] / 10.0, "y": 2.0 * params["y"]}
            updates, state = optimizer.update(grads, state, params)
            params = fnn.optim.apply_updates(params, updates)
            path.append((float(params["x"]), float(params["y"])))
        walk = np.array(path)
        ax.contour(cx, cy, cx**2 / 20 + cy**2, levels=np.geomspace(0.1, 20, 8), colors="gray", linewidths=0.6)
        ax.plot(walk[:, 0], walk[:, 1], "o-", color="tab:red", markersize=2.5)
        ax.plot(0, 0, "+", color="black")
        ax.set(xlim=(-10, 10), ylim=(-5, 5), title=name)
    figure.suptitle("f(x, y) = x²/20 + y²: 30 updates from (−7, 2)")
    return canvas.save(figure, "optimizer_paths.png")


def optimizers_mnist(canvas: Canvas) -> Path:
    """The training loss of the 784-100x4-10 ReLU network under each optimizer (figure 6-9)."""
    from examples.ch06_optimizers import OPTIMIZERS, network, train

    (x, t), _ = mnist()
    init_key, batch_key = fnn.random.split(fnn.random.key(0))
    start = network().init(init_key, (784,), fnn.backend(dtype="float32"))
    smooth = canvas.steps(20, 1)
    figure = new_figure(6, 3.8)
    ax = figure.subplots()
    for name, optimizer in OPTIMIZERS.items():
        _, losses = train(optimizer, start, x, t, steps=canvas.steps(500), batch_size=128, key=batch_key)
        ax.plot(np.convolve(losses, np.ones(smooth) / smooth, mode="valid"), label=name)
    ax.set(xlabel="step", ylabel=f"training loss (mean of {smooth} steps)", ylim=(0, 2.4))
    ax.set_title("Optimizers on MNIST, 784-100x4-10 ReLU network")
    ax.legend()
    ax.grid(alpha=0.3)
    return canvas.save(figure, "optimizers_mnist.png")


def mlp_mnist(canvas: Canvas) -> Path:
    """The chapter's 784-100-100-100-10 network trained with ``fnn.fit``: ``History.plot``."""
    from examples.mlp_mnist import network

    (x, t), (x_test, t_test) = mnist()
    model = network()
    init_key, fit_key = fnn.random.split(fnn.random.key(0))
    params = model.init(init_key, (784,), fnn.backend(dtype="float32"))
    _, _, history = fnn.fit(
        model, fnn.losses.softmax_cross_entropy, fnn.optim.adam(2e-3), params, x, t,
        key=fit_key, epochs=canvas.steps(12), batch_size=100, eval_data=(x_test, t_test),
        train_accuracy=True,
    )  # fmt: skip
    return canvas.save_history(history, "mlp_mnist.png", title="784-100-100-100-10 MLP on MNIST (Adam)")


# Chapter 7 -------------------------------------------------------------------------------------


def spiral(canvas: Canvas) -> Path:
    """The book's 2-10-3 network on the spiral: the loss per step, and its decision regions."""
    from matplotlib.colors import ListedColormap

    from examples.dlfs2_ch01_spiral import COLORS

    b = fnn.backend(dtype="float32")
    data_key, init_key, fit_key = fnn.random.split(fnn.random.key(0), 3)
    x, t = fnn.datasets.spiral(data_key, backend=b)
    model = fnn.sequential(fnn.Dense(10), fnn.sigmoid, fnn.Dense(3))
    params = model.init(init_key, (2,), b)
    params, _, history = fnn.fit(
        model, fnn.losses.softmax_cross_entropy, fnn.optim.sgd(1.0), params, x, t,
        key=fit_key, epochs=canvas.steps(300), batch_size=30,
    )  # fmt: skip
    gx, gy, points = grid_points(-1.1, 1.1, 221)
    regions = fnn.to_numpy(model.apply(params, b.asarray(points)).argmax(axis=1)).reshape(gx.shape)
    x_host, labels = fnn.to_numpy(x), fnn.to_numpy(t.argmax(axis=1))

    figure = new_figure(9, 4.2)
    left, right = figure.subplots(1, 2)
    losses = history.smoothed_step_loss(10)
    left.plot(range(1, len(losses) + 1), losses)
    left.set(xlabel="step", ylabel="loss (mean of 10 steps)", title="SGD, lr 1.0, batches of 30")
    right.contourf(gx, gy, regions, levels=[-0.5, 0.5, 1.5, 2.5], cmap=ListedColormap(COLORS), alpha=0.3)
    for c in range(3):
        right.scatter(x_host[labels == c, 0], x_host[labels == c, 1], s=12, color=COLORS[c])
    right.set(title="decision regions", aspect="equal")
    return canvas.save(figure, "spiral.png")


# Chapter 8 -------------------------------------------------------------------------------------


def precision(canvas: Canvas) -> Path:
    """``examples/precision.py``'s network trained from the same weights in float64, float32 and float16."""
    from examples.precision import model

    size = canvas.steps(1000, 100)
    (x, t), (x_test, t_test) = mnist()
    x, t, x_test, t_test = (fnn.to_numpy(a[:size]) for a in (x, t, x_test, t_test))  # cast per dtype below
    figure = new_figure(5.5, 3.6)
    ax = figure.subplots()
    for dtype, style in (("float64", "-"), ("float32", "--"), ("float16", ":")):
        b = fnn.backend("numpy", dtype)
        _, _, history = fnn.fit(
            model(), fnn.losses.softmax_cross_entropy, fnn.optim.sgd(0.2),
            model().init(fnn.random.key(0), (784,), b), b.asarray(x), t,
            key=fnn.random.key(1), epochs=canvas.steps(10), batch_size=100,
            eval_data=(b.asarray(x_test), t_test),
        )  # fmt: skip
        ax.plot(
            range(1, history.epochs + 1), history.eval_accuracy, style, marker="o", markersize=3, label=dtype
        )
    ax.set(xlabel="epoch", ylabel="test accuracy", title=f"784-50-10 ReLU network, SGD, {size:,} images")
    ax.legend()
    ax.grid(alpha=0.3)
    return canvas.save(figure, "precision.png")


# Chapter 9 -------------------------------------------------------------------------------------


def weight_init(canvas: Canvas) -> Path:
    """Histograms of each layer's activations in a 5-layer network, by initializer (figures 6-10 to 6-14)."""
    from examples.ch06_weight_init import EXPERIMENTS, LAYERS, NODES, network
    from examples.ch06_weight_init import activations as layer_activations

    b = fnn.backend(dtype="float64")
    data_key, init_key = fnn.random.split(fnn.random.key(0))
    x = fnn.random.normal(data_key, (1000, NODES), b)
    figure = new_figure(10, 1.7 * len(EXPERIMENTS))
    rows = figure.subplots(len(EXPERIMENTS), LAYERS, squeeze=False)
    for row, (name, activation, w_init) in zip(rows, EXPERIMENTS):
        model = network(activation, w_init)
        outputs = layer_activations(model, model.init(init_key, (NODES,), b), x)
        upper = 1.0 if "sigmoid" in name else max(float(max(a.max() for a in outputs)), 1e-6)
        for layer, (ax, a) in enumerate(zip(row, outputs), start=1):
            ax.hist(a.ravel(), bins=30, range=(0.0, upper))
            ax.set_yticks([])
            ax.tick_params(labelsize=7)
            ax.set_title(f"layer {layer}", fontsize=8)
        row[0].set_ylabel(name, fontsize=8)
    return canvas.save(figure, "weight_init.png")


def batch_norm(canvas: Canvas) -> Path:
    """Training accuracy with and without batch norm, for three weight scales (the book's ch. 6.3)."""
    from examples.ch06_batch_norm import network

    b = fnn.backend(dtype="float32")
    (x, t), _ = mnist()
    x, t = x[:1000], t[:1000]
    init_key, fit_key = fnn.random.split(fnn.random.key(0))
    stds = (1.0, 0.1, 0.01)
    figure = new_figure(9, 3.2)
    for ax, std in zip(figure.subplots(1, len(stds), sharey=True), stds):
        for name, with_batch_norm, style in (("batch norm", True, "-"), ("no batch norm", False, "--")):
            model = network(std, with_batch_norm)
            try:
                with np.errstate(over="ignore", invalid="ignore"):  # the loss may become NaN: fit stops
                    history = fnn.fit(
                        model, fnn.losses.softmax_cross_entropy, fnn.optim.sgd(0.01),
                        model.init(init_key, (784,), b), x, t, key=fit_key, epochs=canvas.steps(20),
                        batch_size=100, state=model.init_state((784,), b), train_accuracy=True,
                    ).history  # fmt: skip
            except fnn.train.DivergenceError as error:
                history, name = error.history, f"{name} (diverged)"
            ax.plot(range(1, history.epochs + 1), history.train_accuracy, style, label=name)
        ax.set(title=f"W ~ N(0, {std}²)", xlabel="epoch", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    figure.axes[0].set_ylabel("training accuracy")
    return canvas.save(figure, "batch_norm.png")


def overfitting(canvas: Canvas) -> Path:
    """Training against test accuracy on 300 images: no regularization, weight decay, dropout (ch. 6.4)."""
    from examples.ch06_overfitting import network, weights_only, with_dropout

    b = fnn.backend(dtype="float32")
    (x, t), (x_test, t_test) = mnist()
    x, t, x_test, t_test = x[:300], t[:300], x_test[:1000], t_test[:1000]
    init_key, fit_key = fnn.random.split(fnn.random.key(0))
    params = network().init(init_key, (784,), b)
    sgd = fnn.optim.sgd(0.01)
    decayed = fnn.optim.chain(fnn.optim.add_decayed_weights(0.1, weights_only), sgd)
    runs = (
        ("no regularization", network(), sgd, params),
        ("weight decay λ = 0.1", network(), decayed, params),
        ("dropout 0.2", network(0.2), sgd, with_dropout(params)),
    )
    figure = new_figure(10, 3.3)
    for ax, (name, model, optimizer, start) in zip(figure.subplots(1, len(runs), sharey=True), runs):
        _, _, history = fnn.fit(
            model, fnn.losses.softmax_cross_entropy, optimizer, start, x, t, key=fit_key,
            epochs=canvas.steps(150), batch_size=100, eval_data=(x_test, t_test),
            eval_batch_size=len(t_test), train_accuracy=True,
        )  # fmt: skip
        epochs = range(1, history.epochs + 1)
        ax.plot(epochs, history.train_accuracy, label="train")
        ax.plot(epochs, history.eval_accuracy, label="test")
        ax.set(title=name, xlabel="epoch", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    figure.axes[0].set_ylabel("accuracy")
    return canvas.save(figure, "overfitting.png")


def mosaic(kernels: NDArray[Any], rows: int) -> NDArray[Any]:
    """Kernels ``(K, h, w)`` tiled into one image of ``rows`` rows, each scaled to [0, 1], with blank gaps."""
    k, h, w = kernels.shape
    low = kernels.min(axis=(1, 2), keepdims=True)
    scaled = (kernels - low) / (kernels.max(axis=(1, 2), keepdims=True) - low)
    columns = -(-k // rows)
    tiles = np.full((rows * columns, h + 1, w + 1), np.nan)
    tiles[:k, :h, :w] = scaled
    image: NDArray[Any] = tiles.reshape(rows, columns, h + 1, w + 1).transpose(0, 2, 1, 3)
    return image.reshape(rows * (h + 1), columns * (w + 1))


def conv_filters(canvas: Canvas) -> Path:
    """SimpleConvNet's 30 first-layer 5×5 filters: at initialization, and the book's trained weights."""
    b = fnn.backend(dtype="float32")
    initial = dlfs.simple_convnet().init(fnn.random.key(0), (1, 28, 28), b)[0].w
    trained = dlfs.simple_convnet_params(
        fnn.io.load_pickle_arrays(DATA / "dlfs" / "simple_convnet_params.pkl"), b
    )[0].w
    figure = new_figure(7.5, 2.6)
    panels = (("random initialization", initial), ("the book's trained weights", trained))
    for ax, (title, w) in zip(figure.subplots(2, 1), panels):
        ax.imshow(mosaic(fnn.to_numpy(w)[:, 0], rows=2), cmap="gray_r", interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    return canvas.save(figure, "conv_filters.png")


def simple_convnet(canvas: Canvas) -> Path:
    """SimpleConvNet trained with Adam on 1,000 images: ``History.plot``."""
    (x, t), (x_test, t_test) = mnist(flatten=False)
    model = dlfs.simple_convnet()
    params = model.init(fnn.random.key(0), (1, 28, 28), fnn.backend(dtype="float32"))
    size = canvas.steps(1000, 100)
    _, _, history = fnn.fit(
        model, fnn.losses.softmax_cross_entropy, fnn.optim.adam(1e-3), params, x[:size], t[:size],
        key=fnn.random.key(1), epochs=canvas.steps(8), batch_size=100,
        eval_data=(x_test[:size], t_test[:size]), train_accuracy=True,
    )  # fmt: skip
    title = f"SimpleConvNet, {size:,} training images (Adam)"
    return canvas.save_history(history, "simple_convnet.png", title=title)


def deep_convnet(canvas: Canvas) -> Path:
    """DeepConvNet trained with Adam on 2,000 images (``examples/deep_convnet.py``): ``History.plot``."""
    from examples import deep_convnet as example

    size = canvas.steps(2000, 20)
    short = [
        "--epochs",
        str(canvas.steps(3, 1)),
        "--train-size",
        str(size),
        "--test-size",
        str(canvas.steps(1000, 20)),
    ]
    with tempfile.TemporaryDirectory() as tmp, quiet():
        history = example.main([*short, "--no-pretrained", "--train-accuracy", "--out", tmp])["history"]
    title = f"DeepConvNet, {size:,} training images (Adam)"
    return canvas.save_history(history, "deep_convnet.png", title=title)


# Chapter 10 ------------------------------------------------------------------------------------


def encoder_decoder_loss(canvas: Canvas) -> Path:
    """The digit-reversing encoder-decoder's loss per step (``examples/encoder_decoder.py``)."""
    from examples import encoder_decoder

    with quiet():
        losses = encoder_decoder.main(["--steps", str(canvas.steps(400))])["losses"]
    figure = new_figure(5.5, 3.6)
    ax = figure.subplots()
    ax.plot(range(1, len(losses) + 1), losses)
    ax.set(xlabel="step", ylabel="cross entropy per digit", title="Reversing 5 digits: LSTM encoder-decoder")
    return canvas.save(figure, "encoder_decoder_loss.png")


def residual_convnet(canvas: Canvas) -> Path:
    """The residual convnet trained with Adam on 2,000 images (``residual_convnet.py``): ``History.plot``."""
    from examples import residual_convnet as example

    size = canvas.steps(2000, 20)
    short = ["--epochs", str(canvas.steps(4, 1)), "--train-size", str(size)]
    with tempfile.TemporaryDirectory() as tmp, quiet():
        run = example.main([*short, "--test-size", str(canvas.steps(1000, 20)), "--out", tmp])
    title = f"Residual convnet, {size:,} training images (Adam)"
    return canvas.save_history(run["history"], "residual_convnet.png", title=title)


# Chapter 11 ------------------------------------------------------------------------------------


def training_loop(canvas: Canvas) -> Path:
    """Chapter 11's spiral run, longer, with a validation set and training accuracy: ``History.plot``."""
    b = fnn.backend(dtype="float32")
    x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=100, backend=b)
    x_val, t_val = fnn.datasets.spiral(fnn.random.key(7), n_per_class=30, backend=b)
    model = fnn.sequential(fnn.Dense(10), fnn.sigmoid, fnn.Dense(3))
    _, _, history = fnn.fit(
        model, fnn.losses.softmax_cross_entropy, fnn.optim.sgd(1.0), model.init(fnn.random.key(1), (2,), b),
        x, t, key=fnn.random.key(2), epochs=canvas.steps(300), batch_size=30, eval_data=(x_val, t_val),
        train_accuracy=True,
    )  # fmt: skip
    return canvas.save_history(history, "training_loop.png", title="The spiral, SGD 1.0, batches of 30")


# Chapter 12 ------------------------------------------------------------------------------------


def simple_rnnlm_perplexity(canvas: Canvas) -> Path:
    """The simple RNN language model's perplexity per epoch on the first 1,000 PTB words."""
    from examples import dlfs2_ch05_rnnlm

    epochs = canvas.steps(100)
    with tempfile.TemporaryDirectory() as tmp, quiet():
        perplexities = dlfs2_ch05_rnnlm.main(["--epochs", str(epochs), "--out", tmp])["perplexities"]
    figure = new_figure(6, 4)
    ax = figure.subplots()
    ax.plot(range(1, epochs + 1), perplexities)
    ax.set(xlabel="epoch", ylabel="perplexity", title="SimpleRnnlm on the first 1,000 PTB words")
    return canvas.save(figure, "simple_rnnlm_perplexity.png")


def rnnlm_perplexity(canvas: Canvas) -> Path:
    """The book's LSTM language model's training perplexity over its first 300 windows of PTB."""
    from examples.dlfs2_ch06_rnnlm import ptb, train_lm
    from fnn.datasets import TBPTTBatches

    b = fnn.backend(dtype="float32")
    model = dlfs.rnnlm()
    params = model.init(fnn.random.key(0), dlfs.rnnlm_in_shape(model, time_size=35), b)
    optimizer = fnn.optim.chain(fnn.optim.clip_by_global_norm(0.25), fnn.optim.sgd(20.0))
    windows = TBPTTBatches(b.xp.asarray(ptb("train")), batch_size=20, time_size=35)
    steps = canvas.steps(301)
    with quiet():
        _, logged = train_lm(
            model, params, optimizer, windows, epochs=1, max_iters=steps, key=fnn.random.key(1)
        )
    figure = new_figure(5.5, 3.6)
    ax = figure.subplots()
    ax.semilogy([20 * i + 1 for i in range(len(logged))], logged, marker="o", markersize=3)
    ax.set(xlabel="window", ylabel="training perplexity", title="Rnnlm on PTB: the first windows")
    return canvas.save(figure, "rnnlm_perplexity.png")


#: The short run of ``dlfs2_ch06_better_rnnlm.py`` that :func:`better_rnnlm_perplexity` draws, and its
#: ``--quick`` version (the validation words must fill one window of 10 × 35).
BETTER_RNNLM_RUN = {"epochs": 6, "max-iters": 50, "hidden": 100, "eval-words": 3000}
BETTER_RNNLM_QUICK = {"epochs": 1, "max-iters": 2, "hidden": 8, "eval-words": 400}


def better_rnnlm_perplexity(canvas: Canvas) -> Path:
    """A short run of the improved LSTM language model (``dlfs2_ch06_better_rnnlm.py``): valid perplexity."""
    from examples import dlfs2_ch06_better_rnnlm

    settings = BETTER_RNNLM_QUICK if canvas.quick else BETTER_RNNLM_RUN
    short = [str(a) for name, value in settings.items() for a in (f"--{name}", value)]
    with tempfile.TemporaryDirectory() as tmp, quiet():
        run = dlfs2_ch06_better_rnnlm.main([*short, "--out", tmp])
    perplexities, epochs = run["valid_perplexities"], range(1, len(run["valid_perplexities"]) + 1)
    figure = new_figure(5.5, 3.6)
    ax = figure.subplots()
    ax.plot(epochs, perplexities, marker="o")
    for epoch, perplexity, lr in zip(epochs, perplexities, run["learning_rates"]):
        ax.annotate(f"lr {lr:g}", (epoch, perplexity), xytext=(4, 4), textcoords="offset points", fontsize=8)
    ax.set(xlabel="epoch", ylabel="validation perplexity")
    ax.set_title(f"BetterRnnlm, H = {settings['hidden']}, {settings['max-iters']} windows per epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    return canvas.save(figure, "better_rnnlm_perplexity.png")


def gradient_flow(canvas: Canvas) -> Path:
    """The norm of the gradient k steps back through an RNN: exploding and vanishing."""
    from examples.dlfs2_ch06_gradient_flow import gradient_norms

    wh = np.random.RandomState(3).randn(3, 3)  # the book's seed
    figure = new_figure(10, 4)
    panels = ((1.0, "Wh = randn: exploding"), (0.5, "Wh = 0.5 randn: vanishing"))
    for ax, (scale, title) in zip(figure.subplots(1, 2), panels):
        norms = gradient_norms(scale * wh)
        ax.plot(range(1, len(norms) + 1), norms, marker="o")
        ax.set(xlabel="time steps back", ylabel="norm of dh", title=title)
    return canvas.save(figure, "gradient_flow.png")


# Chapter 13 ------------------------------------------------------------------------------------


def word_vectors_svd(canvas: Canvas) -> Path:
    """The toy corpus' words at their 2-D SVD vectors of the PPMI matrix (figure 2-11)."""
    from examples.dlfs2_ch02_count_based import TOY

    corpus, word_to_id, id_to_word = fnn.text.preprocess(TOY)
    u, _, _ = np.linalg.svd(fnn.text.ppmi(fnn.text.co_occurrence(corpus, len(word_to_id), window=1)))
    figure = new_figure(5, 3.8)
    ax = figure.subplots()
    ax.scatter(u[:, 0], u[:, 1], alpha=0.5)
    at_point: dict[tuple[float, float], list[str]] = {}  # words with the same contexts share a point
    for i, word in id_to_word.items():
        at_point.setdefault((round(u[i, 0], 6), round(u[i, 1], 6)), []).append(word)
    for point, words in at_point.items():
        ax.annotate(", ".join(words), point, xytext=(3, 3), textcoords="offset points")
    ax.set(xlabel="U[:, 0]", ylabel="U[:, 1]", title='"You say goodbye and I say hello."')
    return canvas.save(figure, "word_vectors_svd.png")


def simple_cbow_loss(canvas: Canvas) -> Path:
    """The simple CBOW's loss per epoch on the toy corpus (the book's ch. 3 ``train.py``)."""
    from examples import dlfs2_ch03_simple_word2vec

    with tempfile.TemporaryDirectory() as tmp, quiet():
        result = dlfs2_ch03_simple_word2vec.main(["--epochs", str(canvas.steps(1000)), "--out", tmp])
    losses = result["losses"]
    figure = new_figure(5.5, 3.6)
    ax = figure.subplots()
    ax.plot(range(1, len(losses) + 1), losses)
    ax.set(xlabel="epoch", ylabel="loss", title="SimpleCBOW on the toy corpus (Adam 0.001)")
    return canvas.save(figure, "simple_cbow_loss.png")


def word2vec_loss(canvas: Canvas) -> Path:
    """CBOW with negative sampling on PTB (``dlfs2_ch04_word2vec.py``): the loss of its first 1,500 steps."""
    from examples import dlfs2_ch04_word2vec

    steps, every = canvas.steps(1500), canvas.steps(50, 1)
    short = ["--epochs", "1", "--max-iters", str(steps), "--eval-interval", str(every)]
    with tempfile.TemporaryDirectory() as tmp, quiet():
        losses = dlfs2_ch04_word2vec.main([*short, "--out", tmp])["losses"]
    figure = new_figure(5.5, 3.6)
    ax = figure.subplots()
    ax.plot([every * (k + 1) for k in range(len(losses))], losses)
    ax.set(xlabel="step", ylabel=f"loss (mean of {every} steps)", title="CBOW with negative sampling on PTB")
    return canvas.save(figure, "word2vec_loss.png")


# Chapter 14 ------------------------------------------------------------------------------------


def seq2seq_accuracy(canvas: Canvas) -> Path:
    """Exact-match test accuracy of seq2seq on addition: plain, reversed input, reversed + peeky."""
    from examples import dlfs2_ch07_seq2seq

    epochs = canvas.steps(12, 1)
    short = ["--epochs", str(epochs), "--max-iters", str(canvas.steps(351, 2))]
    with tempfile.TemporaryDirectory() as tmp, quiet():
        run = dlfs2_ch07_seq2seq.main([*short, "--test-size", str(canvas.steps(1000, 20)), "--out", tmp])
    curves = run["accuracies"]
    figure = new_figure(5.5, 3.6)
    ax = figure.subplots()
    for name, accuracies in curves.items():
        ax.plot(range(1, epochs + 1), [100 * a for a in accuracies], marker="o", markersize=3, label=name)
    ax.set(xlabel="epoch", ylabel="exact-match accuracy (%)", ylim=(0, 100), title="Seq2seq on addition")
    ax.legend()
    ax.grid(alpha=0.3)
    return canvas.save(figure, "seq2seq_accuracy.png")


def attention_accuracy(canvas: Canvas) -> Path:
    """The attention seq2seq trained on dates (``dlfs2_ch08_attention.py``): test accuracy per epoch."""
    from examples import dlfs2_ch08_attention

    epochs = canvas.steps(4, 1)
    short = ["--epochs", str(epochs), "--max-iters", str(canvas.steps(351, 2)), "--maps", "1"]
    with tempfile.TemporaryDirectory() as tmp, quiet():
        run = dlfs2_ch08_attention.main([*short, "--test-size", str(canvas.steps(1000, 20)), "--out", tmp])
    figure = new_figure(5.5, 3.6)
    ax = figure.subplots()
    ax.plot(range(1, epochs + 1), [100 * a for a in run["accuracies"]], marker="o")
    ax.set(
        xlabel="epoch", ylabel="exact-match accuracy (%)", ylim=(0, 102), title="Attention seq2seq on dates"
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    return canvas.save(figure, "attention_accuracy.png")


def attention_map(canvas: Canvas) -> Path:
    """The book's trained attention model on one date: each answer character's weights over the question."""
    from examples.dlfs2_ch07_seq2seq import load

    b = fnn.backend(dtype="float32")
    data = load("date.txt", True, b)
    model = dlfs.attention_seq2seq(len(data.char_to_id), 16, 256)
    params = dlfs.load_attention_seq2seq(DATA / "dlfs2" / "AttentionSeq2seq.pkl", b)
    space = data.char_to_id[" "]
    longest = int(np.argmax((fnn.to_numpy(data.x_test[:100]) != space).sum(axis=1)))  # a date in words
    question, answer = data.x_test[longest : longest + 1], data.t_test[longest : longest + 1]
    decoder_input, target = dlfs.teacher_forcing(answer)
    weights = fnn.to_numpy(dlfs.attention_weights(model, params, question, decoder_input))[0][:, ::-1]
    # the question was read reversed: its characters in reading order, without the padding
    columns = "".join(data.id_to_char[int(i)] for i in fnn.to_numpy(question[0])[::-1]).rstrip()
    rows = [data.id_to_char[int(i)] for i in fnn.to_numpy(target[0])]
    weights = weights[:, : len(columns)]
    figure = new_figure(8, 3.2)
    ax: Axes = figure.subplots()
    ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(columns)), list(columns))
    ax.set_yticks(range(len(rows)), rows)
    ax.set(xlabel="question", ylabel="answer")
    return canvas.save(figure, "attention_map.png")


FIGURES: dict[str, Callable[[Canvas], Path]] = {
    "activations.png": activations,
    "mnist_samples.png": mnist_samples,
    "gradient_descent.png": gradient_descent,
    "linear_regression.png": linear_regression,
    "logistic_regression.png": logistic_regression,
    "xor.png": xor,
    "optimizer_paths.png": optimizer_paths,
    "optimizers_mnist.png": optimizers_mnist,
    "mlp_mnist.png": mlp_mnist,
    "spiral.png": spiral,
    "precision.png": precision,
    "weight_init.png": weight_init,
    "batch_norm.png": batch_norm,
    "overfitting.png": overfitting,
    "conv_filters.png": conv_filters,
    "simple_convnet.png": simple_convnet,
    "deep_convnet.png": deep_convnet,
    "encoder_decoder_loss.png": encoder_decoder_loss,
    "residual_convnet.png": residual_convnet,
    "training_loop.png": training_loop,
    "simple_rnnlm_perplexity.png": simple_rnnlm_perplexity,
    "gradient_flow.png": gradient_flow,
    "rnnlm_perplexity.png": rnnlm_perplexity,
    "better_rnnlm_perplexity.png": better_rnnlm_perplexity,
    "word_vectors_svd.png": word_vectors_svd,
    "simple_cbow_loss.png": simple_cbow_loss,
    "word2vec_loss.png": word2vec_loss,
    "seq2seq_accuracy.png": seq2seq_accuracy,
    "attention_accuracy.png": attention_accuracy,
    "attention_map.png": attention_map,
}
"""Each figure's function, by the file it writes."""


def main(argv: list[str] | None = None) -> list[Path]:
    """Draw the figures named by ``argv`` (all by default); return the files written."""
    parser = argparse.ArgumentParser(description="Draw the tutorial's figures with fnn.")
    parser.add_argument("--out", type=Path, default=FIGURE_DIR, help="directory for the PNGs")
    parser.add_argument("--dpi", type=int, default=100)
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME", help="draw these figures only")
    parser.add_argument("--quick", action="store_true", help="train for a few steps only (for the test)")
    args = parser.parse_args(argv)
    names = list(FIGURES) if args.only is None else [n.removesuffix(".png") + ".png" for n in args.only]
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        parser.error(f"unknown figures {unknown}; choose from {sorted(FIGURES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    canvas = Canvas(args.out, args.dpi, args.quick)
    written = []
    for name in names:
        start = time.perf_counter()
        written.append(FIGURES[name](canvas))
        size = written[-1].stat().st_size
        print(f"{written[-1]}: {size / 1024:.0f} KB, {time.perf_counter() - start:.1f} s")
    return written


if __name__ == "__main__":
    main()

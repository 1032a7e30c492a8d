import numpy as np

from nntk_lang.training import gradient_descent, kernel_prediction, recorded_steps


def _linear_problem(seed=0, n=12, p=5):
    rng = np.random.default_rng(seed)
    x_train = rng.uniform(-1, 1, (n, 1))
    x_test = np.linspace(-1, 1, 9).reshape(-1, 1)

    def features(xs):
        return np.concatenate([np.cos(k * xs) for k in range(p)], axis=1)

    return x_train, x_test, features


def test_linear_model_follows_kernel_prediction():
    # For a model linear in θ the linearisation is exact, so gradient descent with
    # the exact gradient must follow the kernel prediction to rounding.
    x_train, x_test, features = _linear_problem()
    y_train, y_test = np.sign(x_train[:, 0]), np.sign(x_test[:, 0])
    theta0 = np.linspace(-0.5, 0.5, 5)

    def forward(theta, xs):
        return features(xs) @ theta

    def gradient(theta, xs, step):
        return features(xs)

    trained = gradient_descent(
        forward, gradient, theta0, x_train, y_train, x_test, y_test, steps=200, lr=0.3
    )
    phi, phi_test = features(x_train), features(x_test)
    predicted = kernel_prediction(
        phi @ phi.T,
        phi_test @ phi.T,
        phi @ theta0,
        phi_test @ theta0,
        y_train,
        y_test,
        steps=200,
        lr=0.3,
    )
    assert trained.steps == predicted.steps
    np.testing.assert_allclose(trained.train_mse, predicted.train_mse, rtol=1e-9)
    np.testing.assert_allclose(trained.test_mse, predicted.test_mse, rtol=1e-9)
    for step, values in trained.snapshots.items():
        np.testing.assert_allclose(values, predicted.snapshots[step], atol=1e-10)


def test_loss_decreases_for_small_rate():
    x_train, x_test, features = _linear_problem(seed=1)
    y_train, y_test = x_train[:, 0] ** 2, x_test[:, 0] ** 2

    def forward(theta, xs):
        return features(xs) @ theta

    curve = gradient_descent(
        forward,
        lambda t, xs, s: features(xs),
        np.zeros(5),
        x_train,
        y_train,
        x_test,
        y_test,
        steps=50,
        lr=0.1,
    )
    assert all(b <= a + 1e-15 for a, b in zip(curve.train_mse, curve.train_mse[1:]))


def test_zero_eigenvalue_keeps_its_residual():
    k = np.zeros((2, 2))
    curve = kernel_prediction(
        k,
        np.zeros((3, 2)),
        np.array([1.0, -1.0]),
        np.zeros(3),
        np.zeros(2),
        np.zeros(3),
        steps=10,
        lr=0.5,
    )
    assert curve.train_mse == [1.0] * len(curve.steps)


def test_recorded_steps_span_the_run():
    steps = recorded_steps(1000)
    assert steps[0] == 0
    assert steps[-1] == 1000
    assert steps == sorted(set(steps))

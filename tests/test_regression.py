import numpy as np
import pytest
import scipy.linalg

from nntk_lang.regression import kernel_regression, mse


def _rbf(a, b, scale=0.5):
    return np.exp(-((a[:, None] - b[None, :]) ** 2) / (2 * scale**2))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-1, 1, 8))
    x_test = np.linspace(-1, 1, 11)
    y = np.sign(x)
    return x, x_test, y


def test_interpolant_matches_solve(data):
    x, x_test, y = data
    k, k_star = _rbf(x, x), _rbf(x_test, x)
    fit = kernel_regression(k, k_star, y)
    np.testing.assert_allclose(fit.train_prediction, y, atol=1e-8)
    np.testing.assert_allclose(
        fit.test_prediction, k_star @ np.linalg.solve(k, y), rtol=1e-6, atol=1e-8
    )


def test_ridge_matches_solve(data):
    x, x_test, y = data
    k, k_star = _rbf(x, x), _rbf(x_test, x)
    fit = kernel_regression(k, k_star, y, ridge=0.1)
    expected = k_star @ np.linalg.solve(k + 0.1 * np.eye(len(x)), y)
    np.testing.assert_allclose(fit.test_prediction, expected, rtol=1e-10)


def test_finite_time_matches_matrix_exponential(data):
    x, x_test, y = data
    k, k_star = _rbf(x, x), _rbf(x_test, x)
    f0 = 0.3 * np.cos(x)
    fit = kernel_regression(k, k_star, y, f0_train=f0, time=2.0, lr=0.5)
    expected = y + scipy.linalg.expm(-0.5 * 2.0 * k) @ (f0 - y)
    np.testing.assert_allclose(fit.train_prediction, expected, rtol=1e-10, atol=1e-12)


def test_long_time_tends_to_interpolant(data):
    x, x_test, y = data
    k, k_star = _rbf(x, x, scale=2.0) + np.eye(len(x)), _rbf(x_test, x, scale=2.0)
    limit = kernel_regression(k, k_star, y)
    late = kernel_regression(k, k_star, y, time=1e4)
    np.testing.assert_allclose(late.test_prediction, limit.test_prediction, rtol=1e-8)


def test_singular_gram_gives_min_norm_solution():
    features = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    k = features @ features.T  # rank 2 of 4
    y = np.array([1.0, -1.0, 0.5, 2.0])
    fit = kernel_regression(k, k, y)
    expected = k @ np.linalg.pinv(k) @ y
    np.testing.assert_allclose(fit.train_prediction, expected, atol=1e-9)
    assert fit.dropped_eigenvalues == 2


def test_zero_time_keeps_initial_function(data):
    x, x_test, y = data
    k, k_star = _rbf(x, x), _rbf(x_test, x)
    fit = kernel_regression(k, k_star, y, time=0.0)
    np.testing.assert_array_equal(fit.test_prediction, np.zeros(len(x_test)))


def test_negative_ridge_rejected(data):
    x, _, y = data
    with pytest.raises(ValueError, match="ridge"):
        kernel_regression(_rbf(x, x), _rbf(x, x), y, ridge=-1.0)


def test_mse():
    assert mse([1.0, 2.0], [1.0, 4.0]) == 2.0


def test_ridge_ignores_negative_eigenvalues(data):
    # A Monte Carlo Gram (U-statistic) can have negative eigenvalues. With a ridge,
    # a negative eigenvalue near -ridge must not get an exploding weight
    # 1/(λ + ridge). The converged fit must be the long-time limit of the flow,
    # which treats negative eigenvalues as 0.
    x, x_test, y = data
    k, k_star = _rbf(x, x), _rbf(x_test, x)
    eigenvalues, vectors = np.linalg.eigh(k)
    eigenvalues[0] = -0.0999
    indefinite = vectors @ np.diag(eigenvalues) @ vectors.T
    converged = kernel_regression(indefinite, k_star, y, ridge=0.1)
    late = kernel_regression(indefinite, k_star, y, ridge=0.1, time=1e6)
    np.testing.assert_allclose(
        converged.test_prediction, late.test_prediction, rtol=1e-8, atol=1e-10
    )

"""Fitting the tone model: multinomial logistic regression by L-BFGS, numpy and scipy only.

One objective serves both the bundled model and the unit's own retraining:

    mean_i  s_i · −log Σ_{k ∈ S_i} p_ik   +   α/2 · ‖W − W₀‖²

``S_i`` is the set of tones example *i* may have: one tone for most, two for a set whose
"positive" label means only "not negative" (weibo2018); ``s_i`` weighs sources against each
other; ``W₀`` is zero for the bundled model and the bundled model's weights when
``yuqing tone train`` learns from staff corrections, so a few hundred corrections move the
model towards them without forgetting what it learned from a hundred thousand texts.
scikit-learn's ``LogisticRegression`` has neither label sets nor a prior centre, and the
retraining must run on the unit's machine, where nothing heavier than scipy is installed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse as sp


@dataclass(frozen=True)
class Fitted:
    coef: np.ndarray  # (tones, features)
    intercept: np.ndarray  # (tones,)
    iterations: int


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e: np.ndarray = np.exp(z)
    e /= e.sum(axis=1, keepdims=True)
    return e


def fit(
    x: sp.csr_matrix,
    allowed: np.ndarray,
    weights: np.ndarray,
    *,
    alpha: float,
    prior: tuple[np.ndarray, np.ndarray] | None = None,
    max_iter: int = 300,
    tol: float = 1e-5,
) -> Fitted:
    """Fit ``W, b`` on rows ``x`` with the boolean label sets ``allowed`` (rows × tones)."""
    _n, d = x.shape
    k = allowed.shape[1]
    w0 = prior[0].astype(np.float64) if prior is not None else np.zeros((k, d))
    b0 = prior[1].astype(np.float64) if prior is not None else np.zeros(k)
    s = weights / weights.sum()
    # with a prior centre (retraining), the intercept is held to it as well: free, it
    # absorbs the small training set's tone mix and shifts every text's tone
    beta = alpha if prior is not None else 0.0
    mask = allowed.astype(np.float64)
    xt = x.T.tocsr()

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: k * d].reshape(k, d)
        b = theta[k * d :]
        p = softmax(np.asarray(x @ w.T) + b)
        mass = (p * mask).sum(axis=1)
        loss = -float(np.dot(s, np.log(np.maximum(mass, 1e-300))))
        q = p * mask / mass[:, None]
        g = (p - q) * s[:, None]
        diff = w - w0
        loss += 0.5 * alpha * float(np.vdot(diff, diff))
        gw = np.asarray(xt @ g).T + alpha * diff
        gb = g.sum(axis=0)
        if beta:
            loss += 0.5 * beta * float(np.dot(b - b0, b - b0))
            gb = gb + beta * (b - b0)
        return loss, np.concatenate([gw.ravel(), gb])

    start = np.concatenate([w0.ravel(), b0])
    result = scipy.optimize.minimize(
        objective, start, jac=True, method="L-BFGS-B",
        options={"maxiter": max_iter, "maxcor": 20, "gtol": tol},
    )
    theta = result.x
    return Fitted(
        coef=theta[: k * d].reshape(k, d).astype(np.float32),
        intercept=theta[k * d :].astype(np.float32),
        iterations=int(result.nit),
    )


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that makes ``softmax(logits / T)`` best predict ``labels`` (NLL)."""

    def nll(t: float) -> float:
        p = softmax(logits / t)
        return -float(np.mean(np.log(np.maximum(p[np.arange(len(labels)), labels], 1e-300))))

    result = scipy.optimize.minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded")
    return float(result.x)

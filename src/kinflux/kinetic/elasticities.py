"""Closed-form elasticities of the separable rate laws (fast path of the Jacobian).

For laws whose forward and backward terms are products of one-slot factors (every
mechanism in :data:`SEPARABLE`), ``dv/dx`` per slot follows from leave-one-out products
of the factors, with no dual numbers: :func:`separable_elasticities` returns the rates
``(R, B)`` and their derivatives ``(R, K, B)`` for a packed group (reactions R, slots K,
batch B last). The Hill laws go through :class:`~kinflux.kinetic.ratelaws.Dual` instead.
"""

from __future__ import annotations

from typing import Any

from kinflux.kinetic.ratelaws import MOD_DSM, MOD_FOSM, PackedGroup

__all__ = ["SEPARABLE", "separable_elasticities"]


#: laws whose forward/backward terms are products of one-slot factors (fast path)
SEPARABLE = (
    "ReversibleMichaelisMenten",
    "Convenience",
    "IrrevMichaelisMenten",
    "RevMassaction",
    "H1GeneralizedReversibleHill",
)


def _loo(f: Any) -> tuple[Any, Any]:
    """Product over dim 1 and the leave-one-out products (exact, no division)."""
    import torch

    one = torch.ones_like(f[:, :1])
    pre = torch.cumprod(f, dim=1)
    suf = torch.cumprod(f.flip(1), dim=1).flip(1)
    loo = torch.cat([one, pre[:, :-1]], dim=1) * torch.cat([suf[:, 1:], one], dim=1)
    return pre[:, -1], loo


def _mono(x: Any, a: Any) -> tuple[Any, Any]:
    """x^a and d(x^a)/dx, the exponent shifted where a == 0 (no 0 * inf)."""
    return x**a, a * x ** (a - 1.0 + (a == 0))


def separable_elasticities(g: PackedGroup, conc: Any, par: Any) -> tuple[Any, Any]:
    """Rates ``(R, batch)`` and slot derivatives ``(R, n_slots, batch)`` (torch only).

    Closed form for the separable laws (:data:`SEPARABLE`): ``F = cF prod_k f_k(x_k)``,
    ``B = cF / Keq prod_k b_k(x_k)``, and ``D`` a sum or product of one-slot terms, so
    ``dv/dx_k = (dF_k - dB_k - v dD_k) / D`` with leave-one-out products.
    """
    import torch

    mech = g.mechanism
    ns, np_ = g.sub_sp.shape[1], g.prod_sp.shape[1]
    x = conc[g.slot_sp]  # (R, K, B)
    s, p, m = x[:, :ns], x[:, ns : ns + np_], x[:, ns + np_ :]
    ks, kp = par[g.sub_km], par[g.prod_km]  # (R, N*, B)
    vmax = par[g.vmax]
    son, pon = g.sub_on[:, :, None], g.prod_on[:, :, None]
    sn, pn = g.sub_n[:, :, None], g.prod_n[:, :, None]
    mn, mk = g.mod_n[:, :, None], g.mod_kind[:, :, None]
    dsm, fosm = (mk == MOD_DSM) * 1.0, (mk == MOD_FOSM) * 1.0
    e_mf = fosm * (mn < 0) * (-mn)
    e_mb = dsm * mn + fosm * (mn > 0) * mn
    fm, dfm = _mono(m, e_mf)
    if mech == "IrrevMichaelisMenten":
        den_s = s + ks
        fs = (s / den_s) ** son
        dfs = son * ks / (den_s * den_s)
        c_f = vmax
    else:
        a_s = sn if mech in ("ReversibleMichaelisMenten", "Convenience") else son
        fs, dfs = _mono(s, a_s)
        c_f = vmax * torch.prod(ks ** (-a_s), dim=1) if mech != "RevMassaction" else vmax
    ones_p = torch.ones_like(p)
    f_all = torch.cat([fs, ones_p, fm], dim=1)
    df_all = torch.cat([dfs, torch.zeros_like(p), dfm], dim=1)
    pf, loo_f = _loo(f_all)
    F, dF = c_f * pf, c_f[:, None] * loo_f * df_all
    if mech == "IrrevMichaelisMenten":
        num, dnum = F, dF
    else:
        a_p = pn if mech in ("ReversibleMichaelisMenten", "Convenience") else pon
        fp, dfp = _mono(p, a_p)
        fmb, dfmb = _mono(m, e_mb)
        b_all = torch.cat([torch.ones_like(s), fp, fmb], dim=1)
        db_all = torch.cat([torch.zeros_like(s), dfp, dfmb], dim=1)
        pb, loo_b = _loo(b_all)
        c_b = c_f / par[g.keq]
        num = F - c_b * pb
        dnum = dF - c_b[:, None] * loo_b * db_all
    zm = torch.zeros_like(m)
    if mech in ("ReversibleMichaelisMenten", "Convenience"):
        gs, dgs = _geom_d(s / ks, sn, ks)
        gp, dgp = _geom_d(p / kp, pn, kp)
        A, loo_a = _loo(gs)
        P, loo_p = _loo(gp)
        D = A + P - 1.0
        dD = torch.cat([loo_a * dgs, loo_p * dgp, zm], dim=1)
    elif mech == "H1GeneralizedReversibleHill":
        npair = min(ns, np_)
        on = son[:, :npair] * pon[:, :npair]
        t = 1.0 + (s[:, :npair] / ks[:, :npair] + p[:, :npair] / kp[:, :npair]) * on
        D, loo_t = _loo(t)
        ds = torch.zeros_like(s)
        dp = torch.zeros_like(p)
        ds[:, :npair] = loo_t * on / ks[:, :npair]
        dp[:, :npair] = loo_t * on / kp[:, :npair]
        dD = torch.cat([ds, dp, zm], dim=1)
    else:
        v = num
        return v, dnum
    v = num / D
    return v, (dnum - v[:, None] * dD) / D[:, None]


def _geom_d(r: Any, n: Any, k: Any) -> tuple[Any, Any]:
    """sum_{a=0..floor(n)} r^a and its derivative with respect to x = r k."""
    total = 1.0 + 0.0 * r
    deriv = 0.0 * r
    for a in range(1, int(n.max()) + 1):
        w = (n >= a) * 1.0
        total = total + w * r**a
        deriv = deriv + w * a * r ** (a - 1) / k
    return total, deriv

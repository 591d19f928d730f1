"""Rate laws of the SKiMpy mechanisms, written once and evaluated batched.

Each law maps slot concentrations (mM-like model units, see :mod:`kinflux.kinetic.units`)
and parameters to a forward term ``F``, a backward term ``B`` and a denominator ``D``;
the net rate is ``v = (F - B) / D`` after the small-molecule modifiers have scaled
``F`` and ``B``. Everything is written with arithmetic operators only, so one code
path serves three array kinds:

- ``torch.Tensor`` (batched evaluation of the rates),
- :class:`Dual` (forward-mode derivatives with respect to the slot concentrations,
  used for exact elasticities and Jacobians, no autograd graph),
- ``numpy.ndarray`` (the per-model reference path of the benchmark).

Shapes: every slot value is ``(batch, n_reactions_in_group)``; a :class:`Dual` carries
its derivatives in a trailing axis ``(batch, n_reactions_in_group, n_slots)``.

Equations (sigma_i = s_i / Km_s_i, pi_j = p_j / Km_p_j, n = stoichiometric magnitudes):

- ``ReversibleMichaelisMenten``: F = Vmax sigma, B = Vmax/Keq * p/Km_s,
  D = 1 + sigma + pi.
- ``Convenience``: F = Vmax prod sigma_i^n_i, B = Vmax/Keq prod Km_s_i^-n_i prod p_j^m_j,
  D = prod_i sum_{a=0..floor(n_i)} sigma_i^a + prod_j sum_{b=0..floor(m_j)} pi_j^b - 1.
- ``IrrevMichaelisMenten``: F = Vmax prod s_i/(s_i + Km_s_i) (stoichiometry not in the
  rate), B = 0, D = 1.
- ``RevMassaction``: F = Vmax prod s_i, B = Vmax/Keq prod p_j, D = 1 (stoichiometry not in
  the rate).
- ``H1GeneralizedReversibleHill``: F = Vmax prod sigma_i, B = Vmax/Keq prod Km_s_i^-1
  prod p_j, D = prod_{k < min(n_s, n_p)} (1 + sigma_k + pi_k) (substrate k paired with
  product k; unpaired reactants add no term; Hill exponent fixed at 1).
- ``UniBiReversibleHill`` (S <-> P1 + P2, Hill coefficient h): H = (sigma + pi1 pi2)^(h-1),
  F = Vmax sigma H, B = Vmax/(Keq Km_s) p1 p2 H,
  D = 1 + (sigma+pi1)^h + (sigma+pi2)^h + (sigma+pi1 pi2)^h - 2 s / Km_s^h.
- ``BiUniReversibleHill`` (S1 + S2 <-> P): H = (sigma1 sigma2 + pi)^(h-1),
  F = Vmax sigma1 sigma2 H, B = Vmax/(Keq Km_s1 Km_s2) p H,
  D = 1 + (sigma1+pi)^h + (sigma2+pi)^h + (sigma1 sigma2+pi)^h - 2 p / Km_p^h.

Modifiers (small molecule m with signed stoichiometry n):

- ``DisplacementSmallMoleculeModifier``: B <- B * m^n (for either sign of n).
- ``FirstOrderSmallMoleculeModifier``: n < 0: F <- F * m^|n|; n > 0: B <- B * m^n.

These follow SKiMpy's QSSA expressions (``skimpy/mechanisms``, ``skimpy/core/modifiers``),
including their literal quirks (the ``2 s / Km^h`` term of the Hill laws, H1 pairing by
index, no stoichiometric exponents in mass action and irreversible MM).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Dual", "MECHANISMS", "MODIFIERS", "law_terms", "apply_modifiers", "net_rate"]

MECHANISMS = (
    "ReversibleMichaelisMenten",
    "Convenience",
    "IrrevMichaelisMenten",
    "RevMassaction",
    "H1GeneralizedReversibleHill",
    "UniBiReversibleHill",
    "BiUniReversibleHill",
)
MODIFIERS = ("DisplacementSmallMoleculeModifier", "FirstOrderSmallMoleculeModifier")

#: modifier kind codes used in the packed model tensors
MOD_NONE, MOD_DSM, MOD_FOSM = 0, 1, 2


class Dual:
    """Forward-mode dual number: a value and its derivatives along a trailing axis.

    ``val``: ``(batch, R)``; ``der``: broadcastable to ``(batch, R, K)``. Exponents and
    other operands that are plain arrays are treated as constants.
    """

    __slots__ = ("val", "der")
    __array_priority__ = 1000  # numpy defers to Dual's reflected operators

    def __init__(self, val: Any, der: Any) -> None:
        self.val = val
        self.der = der

    def __add__(self, o: Any) -> Dual:
        if isinstance(o, Dual):
            return Dual(self.val + o.val, self.der + o.der)
        return Dual(self.val + o, self.der)

    __radd__ = __add__

    def __sub__(self, o: Any) -> Dual:
        if isinstance(o, Dual):
            return Dual(self.val - o.val, self.der - o.der)
        return Dual(self.val - o, self.der)

    def __rsub__(self, o: Any) -> Dual:
        return Dual(o - self.val, -self.der)

    def __neg__(self) -> Dual:
        return Dual(-self.val, -self.der)

    def __mul__(self, o: Any) -> Dual:
        if isinstance(o, Dual):
            return Dual(self.val * o.val, self.der * o.val[..., None] + o.der * self.val[..., None])
        return Dual(self.val * o, self.der * _expand(o))

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> Dual:
        if isinstance(o, Dual):
            inv = 1.0 / o.val
            q = self.val * inv
            return Dual(q, (self.der - o.der * q[..., None]) * inv[..., None])
        return Dual(self.val / o, self.der / _expand(o))

    def __rtruediv__(self, o: Any) -> Dual:
        q = o / self.val
        return Dual(q, -self.der * (q / self.val)[..., None])

    def __pow__(self, e: Any) -> Dual:
        p = self.val**e
        # d(u^e) = e u^(e-1) du; the exponent is shifted to 0 where e == 0 so that a zero
        # concentration with a zero exponent gives an exact 0 derivative, not 0 * inf
        return Dual(p, self.der * _expand(e * self.val ** (e - 1.0 + (e == 0))))


def _expand(a: Any) -> Any:
    """Append a trailing axis to an array operand (python scalars pass through)."""
    if isinstance(a, int | float):
        return a
    return a[..., None]


def law_terms(
    mechanism: str,
    subs: list[Any],
    sub_n: list[Any],
    sub_km: list[Any],
    sub_on: list[Any],
    prods: list[Any],
    prod_n: list[Any],
    prod_km: list[Any],
    prod_on: list[Any],
    vmax: Any,
    keq: Any,
    hill: Any,
) -> tuple[Any, Any, Any]:
    """Forward term F, backward term B and denominator D of one mechanism, batched.

    ``subs[i]`` / ``prods[j]``: slot concentrations ``(batch, R)`` (arrays or
    :class:`Dual`); ``*_n``: stoichiometric magnitudes ``(R,)`` (0 on padding slots);
    ``*_km``: Michaelis constants ``(batch, R)`` (1 on padding); ``*_on``: 1.0 for a real
    slot, 0.0 for padding ``(R,)``; ``vmax`` (conc/time), ``keq``, ``hill``:
    ``(batch, R)``. Padding slots have concentration 1.
    """
    if mechanism in ("ReversibleMichaelisMenten", "Convenience"):
        fwd: Any = vmax
        bwd: Any = vmax / keq
        den_s: Any = 1.0
        for s, n, k in zip(subs, sub_n, sub_km, strict=True):
            sig = s / k
            fwd = fwd * sig**n
            bwd = bwd * k ** (-n)
            den_s = den_s * _geometric(sig, n)
        den_p: Any = 1.0
        for p, m, k in zip(prods, prod_n, prod_km, strict=True):
            bwd = bwd * p**m
            den_p = den_p * _geometric(p / k, m)
        return fwd, bwd, den_s + den_p - 1.0
    if mechanism == "IrrevMichaelisMenten":
        fwd = vmax
        for s, k, on in zip(subs, sub_km, sub_on, strict=True):
            fwd = fwd * (s / (s + k)) ** on
        return fwd, None, 1.0  # no backward term: modifiers cannot touch it
    if mechanism == "RevMassaction":
        fwd = vmax
        bwd = vmax / keq
        for s in subs:
            fwd = fwd * s
        for p in prods:
            bwd = bwd * p
        return fwd, bwd, 1.0
    if mechanism == "H1GeneralizedReversibleHill":
        fwd = vmax
        bwd = vmax / keq
        for s, k in zip(subs, sub_km, strict=True):
            fwd = fwd * (s / k)
            bwd = bwd / k
        for p in prods:
            bwd = bwd * p
        den: Any = 1.0
        for s, ks, son, p, kp, pon in zip(
            subs, sub_km, sub_on, prods, prod_km, prod_on, strict=False
        ):
            den = den * (1.0 + (s / ks + p / kp) * (son * pon))
        return fwd, bwd, den
    if mechanism == "UniBiReversibleHill":
        (s,), (ks,) = subs, sub_km
        (p1, p2), (k1, k2) = prods, prod_km
        sig, pi1, pi2 = s / ks, p1 / k1, p2 / k2
        both = sig + pi1 * pi2
        heff = both ** (hill - 1.0)
        fwd = vmax * sig * heff
        bwd = vmax / (keq * ks) * p1 * p2 * heff
        den = 1.0 + (sig + pi1) ** hill + (sig + pi2) ** hill + both**hill - 2.0 * s / ks**hill
        return fwd, bwd, den
    if mechanism == "BiUniReversibleHill":
        (s1, s2), (k1, k2) = subs, sub_km
        (p,), (kp,) = prods, prod_km
        sig1, sig2, pi = s1 / k1, s2 / k2, p / kp
        both = sig1 * sig2 + pi
        heff = both ** (hill - 1.0)
        fwd = vmax * sig1 * sig2 * heff
        bwd = vmax / (keq * k1 * k2) * p * heff
        den = 1.0 + (sig1 + pi) ** hill + (sig2 + pi) ** hill + both**hill - 2.0 * p / kp**hill
        return fwd, bwd, den
    raise ValueError(f"unknown mechanism {mechanism!r}; known: {', '.join(MECHANISMS)}")


def _geometric(ratio: Any, n: Any) -> Any:
    """sum_{a=0..floor(n)} ratio^a for a stoichiometry array ``n`` of shape ``(R,)``.

    ``n`` must be a constant array; terms beyond floor(n) are masked (exponent 0 and
    weight 0), so heterogeneous stoichiometries share one loop.
    """
    total: Any = 1.0
    nmax = int(_max(n))
    for a in range(1, nmax + 1):
        w = (n >= a) * 1.0
        total = total + (ratio**a) * w
    return total


def _max(n: Any) -> float:
    try:
        return float(n.max())
    except AttributeError:  # python scalar
        return float(n)


def apply_modifiers(
    fwd: Any, bwd: Any, mods: list[Any], mod_n: list[Any], mod_kind: list[Any]
) -> tuple[Any, Any]:
    """Scale F and B by the small-molecule modifiers.

    ``mods[k]``: modifier concentration ``(batch, R)`` (1 on padding); ``mod_n[k]``:
    signed stoichiometry ``(R,)``; ``mod_kind[k]``: :data:`MOD_DSM`, :data:`MOD_FOSM` or
    :data:`MOD_NONE` ``(R,)``.
    """
    for m, n, kind in zip(mods, mod_n, mod_kind, strict=True):
        dsm = (kind == MOD_DSM) * 1.0
        fosm = (kind == MOD_FOSM) * 1.0
        e_fwd = fosm * (n < 0) * (-n)
        e_bwd = dsm * n + fosm * (n > 0) * n
        fwd = fwd * m**e_fwd
        if bwd is not None:
            bwd = bwd * m**e_bwd
    return fwd, bwd


def net_rate(fwd: Any, bwd: Any, den: Any) -> Any:
    """v = (F - B) / D (B is None for irreversible laws)."""
    return (fwd if bwd is None else fwd - bwd) / den


class PackedGroup:
    """Index arrays of all reactions that share one mechanism class (padded slots).

    Attributes (``R`` reactions; ``Ns``/``Np``/``Nm`` substrate/product/modifier slots):
        mechanism: SKiMpy class name.
        rxn: ``(R,)`` reaction indices into the model's reaction list.
        sub_sp, prod_sp, mod_sp: ``(R, N*)`` indices into the concentration layout
            (padding -> the trailing constant-1 column).
        sub_n, prod_n: ``(R, N*)`` stoichiometric magnitudes (0 on padding).
        sub_on, prod_on: ``(R, N*)`` 1.0 on real slots, 0.0 on padding.
        sub_km, prod_km: ``(R, N*)`` indices into the parameter layout (padding -> the
            trailing constant-1 column).
        mod_n: ``(R, Nm)`` signed modifier stoichiometry; mod_kind: ``(R, Nm)`` codes.
        vmax, keq, hill: ``(R,)`` parameter-layout indices (constant 1 where unused).
    """

    FIELDS = (
        "rxn",
        "sub_sp",
        "sub_n",
        "sub_on",
        "sub_km",
        "prod_sp",
        "prod_n",
        "prod_on",
        "prod_km",
        "mod_sp",
        "mod_n",
        "mod_kind",
        "vmax",
        "keq",
        "hill",
    )

    def __init__(self, mechanism: str, **arrays: Any) -> None:
        self.mechanism = mechanism
        for f in self.FIELDS:
            setattr(self, f, arrays[f])

    def map(self, fn: Any) -> PackedGroup:
        """A copy with ``fn`` applied to every index array (device moves, numpy)."""
        return PackedGroup(self.mechanism, **{f: fn(getattr(self, f)) for f in self.FIELDS})

    @property
    def n_slots(self) -> int:
        return self.sub_sp.shape[1] + self.prod_sp.shape[1] + self.mod_sp.shape[1]

    @property
    def slot_sp(self) -> Any:
        """Concentration-layout index of every slot, ``(R, n_slots)`` (torch only)."""
        import torch

        return torch.cat([self.sub_sp, self.prod_sp, self.mod_sp], dim=1)


def group_rates(g: PackedGroup, conc: Any, par: Any, eye: Any = None) -> Any:
    """Net rates of one group, ``(R, batch)``; a :class:`Dual` if ``eye`` is given.

    Batch-last layout: ``conc``: ``(n_layout, batch)`` concentrations with a trailing row
    of ones; ``par``: ``(n_params + 1, batch)`` parameters with a trailing row of ones;
    ``eye``: identity ``(n_slots, n_slots)`` of the array kind, seeding derivatives with
    respect to every slot (substrates, then products, then modifiers); the Dual's
    derivatives are then ``(R, batch, n_slots)``. Works for torch and numpy arrays.
    """
    ns, np_, nm = g.sub_sp.shape[1], g.prod_sp.shape[1], g.mod_sp.shape[1]
    sub, prod, mod = conc[g.sub_sp], conc[g.prod_sp], conc[g.mod_sp]  # (R, N*, B)

    def seed(vals: Any, i: int, offset: int) -> Any:
        v = vals[:, i]
        return v if eye is None else Dual(v, eye[offset + i])

    subs = [seed(sub, i, 0) for i in range(ns)]
    prods = [seed(prod, j, ns) for j in range(np_)]
    mods = [seed(mod, k, ns + np_) for k in range(nm)]
    skm, pkm = par[g.sub_km], par[g.prod_km]
    fwd, bwd, den = law_terms(
        g.mechanism,
        subs,
        [g.sub_n[:, i, None] for i in range(ns)],
        [skm[:, i] for i in range(ns)],
        [g.sub_on[:, i, None] for i in range(ns)],
        prods,
        [g.prod_n[:, j, None] for j in range(np_)],
        [pkm[:, j] for j in range(np_)],
        [g.prod_on[:, j, None] for j in range(np_)],
        par[g.vmax],
        par[g.keq],
        par[g.hill],
    )
    fwd, bwd = apply_modifiers(
        fwd,
        bwd,
        mods,
        [g.mod_n[:, k, None] for k in range(nm)],
        [g.mod_kind[:, k, None] for k in range(nm)],
    )
    return net_rate(fwd, bwd, den)

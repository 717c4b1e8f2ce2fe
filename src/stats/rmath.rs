//! R's `lgammafn` (nmath, W. Fullerton's SLATEC algorithm as R ships it), for positive
//! arguments. DESeq2's dispersion search evaluates `lgamma(y + 1/α)` at tiny α, where R switches
//! to a plain Stirling formula above 4,934,720 and its rounding shapes the search path; libm's
//! more accurate lgamma takes a different path there, and the gene-wise estimate (and whether
//! the gene feeds the trend) can then differ.

// The coefficients are R's, digit for digit (they round to the same doubles).
#![allow(clippy::excessive_precision)]

/// Chebyshev coefficients of Γ(1 + y) - 0.9375 on y in [0, 1) (R's `gamcs`, the 22 used in
/// double precision).
const GAMCS: [f64; 22] = [
    0.8571195590989331421920062399942e-2,
    0.4415381324841006757191315771652e-2,
    0.5685043681599363378632664588789e-1,
    -0.4219835396418560501012500186624e-2,
    0.1326808181212460220584006796352e-2,
    -0.1893024529798880432523947023886e-3,
    0.3606925327441245256578082217225e-4,
    -0.6056761904460864218485548290365e-5,
    0.1055829546302283344731823509093e-5,
    -0.1811967365542384048291855891166e-6,
    0.3117724964715322277790254593169e-7,
    -0.5354219639019687140874081024347e-8,
    0.9193275519859588946887786825940e-9,
    -0.1577941280288339761767423273953e-9,
    0.2707980622934954543266540433089e-10,
    -0.4646818653825730144081661058933e-11,
    0.7973350192007419656460767175359e-12,
    -0.1368078209830916025799499172309e-12,
    0.2347319486563800657233471771688e-13,
    -0.4027432614949066932766570534699e-14,
    0.6910051747372100912138336975257e-15,
    -0.1185584500221992907052387126192e-15,
];

/// Chebyshev coefficients of the Stirling remainder (R's `algmcs`, the 5 used).
const ALGMCS: [f64; 5] = [
    0.1666389480451863247205729650822e+0,
    -0.1384948176067563840732986059135e-4,
    0.9810825646924729426157171547487e-8,
    -0.1809129475572494194263306266719e-10,
    0.6221098041892605227126015543416e-13,
];

/// log √(2π).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_741_780_329_736_406;

#[inline(always)]
fn chebyshev_eval(x: f64, a: &[f64]) -> f64 {
    let twox = x * 2.0;
    let (mut b0, mut b1, mut b2) = (0.0, 0.0, 0.0);
    for &c in a.iter().rev() {
        b2 = b1;
        b1 = b0;
        b0 = twox * b1 - b2 + c;
    }
    (b0 - b2) * 0.5
}

/// R's `lgammacor`: the remainder of Stirling's series for x ≥ 10. Inlined, so a loop over many
/// arguments overlaps them.
#[inline(always)]
fn lgammacor(x: f64) -> f64 {
    const XBIG: f64 = 94_906_265.624_251_56;
    if x < XBIG {
        let t = 10.0 / x;
        chebyshev_eval(t * t * 2.0 - 1.0, &ALGMCS) / x
    } else {
        1.0 / (x * 12.0)
    }
}

/// R's `gammafn` for 0 < x ≤ 10.
fn gamma_small(x: f64) -> f64 {
    let mut n = x as i64;
    let y = x - n as f64;
    n -= 1;
    let mut value = chebyshev_eval(y * 2.0 - 1.0, &GAMCS) + 0.9375;
    if n < 0 {
        // 0 < x < 1: Γ(x) = Γ(1 + x)/x.
        for i in 0..-n {
            value /= x + i as f64;
        }
    } else {
        for i in 1..=n {
            value *= y + i as f64;
        }
    }
    value
}

/// R's `xmax`: above it lgamma overflows.
const XMAX: f64 = 2.532_737_276_080_075_8e305;

/// Whether `lgammafn(x)` takes Stirling's formula (and so the `log` of `x`).
fn stirling_range(x: f64) -> bool {
    x > 10.0 && x <= XMAX
}

/// R's `lgammafn` in the Stirling range, from `ln_x = log(x)`.
#[inline(always)]
fn stirling(x: f64, ln_x: f64) -> f64 {
    if x > 1e17 {
        x * (ln_x - 1.0)
    } else if x > 4_934_720.0 {
        LN_SQRT_2PI + (x - 0.5) * ln_x - x
    } else {
        LN_SQRT_2PI + (x - 0.5) * ln_x - x + lgammacor(x)
    }
}

/// R's `lgammafn(x)` for x > 0 (NaN for other arguments, which no caller passes).
pub fn lgammafn(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x < 1e-306 {
        return -x.ln();
    }
    if x <= 10.0 {
        return gamma_small(x).abs().ln();
    }
    if x > XMAX {
        return f64::INFINITY;
    }
    stirling(x, x.ln())
}

/// [`lgammafn`] of `d + r` for each `d` of `distinct`, into `out`: the same operations on the
/// same operands, so the same bits, but the logarithms of the Stirling range are taken in a loop
/// of their own first. The dispersion search fills such a table at every step, and with a libm
/// call inside the loop every iteration spills and waits on the one before.
pub fn lgammafn_shifted(distinct: &[f64], r: f64, out: &mut Vec<f64>) {
    out.clear();
    out.extend(distinct.iter().map(|&d| if stirling_range(d + r) { (d + r).ln() } else { f64::NAN }));
    for (o, &d) in out.iter_mut().zip(distinct) {
        let x = d + r;
        *o = if stirling_range(x) { stirling(x, *o) } else { lgammafn(x) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lgammafn_agrees_with_r() {
        // R 4.2: sprintf("%.17g", lgamma(c(0.3, 1, 2.5, 7, 10, 12.5, 1e3, 1e7)))
        let cases = [
            (0.3, 1.0957979948180756),
            (1.0, 0.0),
            (2.5, 0.28468287047291918),
            (7.0, 6.5792512120101012),
            (10.0, 12.801827480081469),
            (12.5, 18.734347511936448),
            (1e3, 5905.2204232091808),
            (1e7, 151180949.36947393),
        ];
        let mut table = Vec::new();
        let distinct: Vec<f64> = cases.iter().map(|c| c.0).chain([0.0, 5.0, 3e6, 2e17, f64::NAN]).collect();
        for shift in [0.0, 0.7, 9.5, 4_934_719.5] {
            lgammafn_shifted(&distinct, shift, &mut table);
            for (&d, &t) in distinct.iter().zip(&table) {
                assert_eq!(t.to_bits(), lgammafn(d + shift).to_bits(), "lgamma({d} + {shift})");
            }
        }
        for (x, r) in cases {
            assert!(
                (lgammafn(x) - r).abs() <= 4.0 * f64::EPSILON * r.abs().max(1.0),
                "lgamma({x}) = {} vs R {r}",
                lgammafn(x)
            );
        }
    }
}

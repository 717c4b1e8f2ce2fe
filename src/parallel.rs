//! Parallel work whose outcome does not depend on the threads.

use rayon::iter::ParallelIterator;

/// Collecting a parallel iterator of results in item order, with the error of the first failing
/// item in that order. Rayon's own `collect::<Result<Vec<_>, _>>()` returns whichever error a
/// thread met first, so which file or gene a failed run names would change from run to run.
pub trait CollectInOrder<T, E> {
    /// Every item's value in order, or the first error in order.
    fn collect_in_order(self) -> Result<Vec<T>, E>;
}

impl<I, T, E> CollectInOrder<T, E> for I
where
    I: ParallelIterator<Item = Result<T, E>>,
    T: Send,
    E: Send,
{
    fn collect_in_order(self) -> Result<Vec<T>, E> {
        // Every item runs (a failure does not stop the others): the price of a stable error.
        let all: Vec<Result<T, E>> = self.collect();
        all.into_iter().collect()
    }
}

/// Rows of a column-major matrix, per row from the columns, in blocks of 4,096 rows on all
/// cores: `block(rows)` gives one value per row of `rows` (reading each column's run of those
/// rows in turn, which keeps a block's state in cache), and the blocks join in row order.
pub fn by_row_blocks<T: Send, I: IntoIterator<Item = T>>(
    rows: usize,
    block: impl Fn(std::ops::Range<usize>) -> I + Sync + Send,
) -> Vec<T> {
    use rayon::prelude::*;
    const BLOCK: usize = 4096;
    (0..rows.div_ceil(BLOCK))
        .into_par_iter()
        .flat_map_iter(|b| block(b * BLOCK..(b * BLOCK + BLOCK).min(rows)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn the_first_error_in_order_wins_whatever_finishes_first() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().expect("pool");
        for _ in 0..20 {
            let got: Result<Vec<u32>, u32> = pool.install(|| {
                (0..64u32)
                    .into_par_iter()
                    .map(|i| {
                        // Later failures finish first.
                        if i % 10 == 3 {
                            std::thread::sleep(std::time::Duration::from_micros(u64::from(200 - 3 * i)));
                            Err(i)
                        } else {
                            Ok(i * 2)
                        }
                    })
                    .collect_in_order()
            });
            assert_eq!(got, Err(3));
        }
        let ok: Result<Vec<u32>, u32> = (0..5u32).into_par_iter().map(Ok).collect_in_order();
        assert_eq!(ok, Ok(vec![0, 1, 2, 3, 4]));
    }
}

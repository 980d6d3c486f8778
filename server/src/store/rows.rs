//! Multi-row statements: many rows in one `INSERT … VALUES (…), (…)` or
//! one `IN (VALUES …)`, so a batch of publishes costs a few statements
//! instead of a few per publish.
//!
//! Each statement is a round trip to the database (on SQLite, a hand-off to
//! its worker thread), and at full speed those round trips, not the SQL
//! itself, are what a durable publish costs. Rows go in chunks whose sizes
//! are powers of two up to [`MAX_ROWS`], so a batch of any size uses at most
//! a handful of distinct statement texts and the prepared-statement cache
//! keeps them all.

/// Rows per statement at most (× columns stays far below SQLite's and
/// PostgreSQL's limits on bound parameters).
pub(super) const MAX_ROWS: usize = 128;

/// Splits `total` rows into chunk lengths, each a power of two no larger
/// than [`MAX_ROWS`], largest first.
pub(super) fn chunk_lengths(total: usize) -> impl Iterator<Item = usize> {
    let mut left = total;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let len = if left >= MAX_ROWS {
            MAX_ROWS
        } else {
            1 << (usize::BITS - 1 - left.leading_zeros())
        };
        left -= len;
        Some(len)
    })
}

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `columns` parameters.
pub(super) fn placeholders(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * columns + column + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_row_in_few_distinct_sizes() {
        for total in 0..1000 {
            let lengths: Vec<usize> = chunk_lengths(total).collect();
            assert_eq!(lengths.iter().sum::<usize>(), total);
            assert!(lengths
                .iter()
                .all(|&l| l.is_power_of_two() && l <= MAX_ROWS));
        }
        assert_eq!(
            chunk_lengths(370).collect::<Vec<_>>(),
            [128, 128, 64, 32, 16, 2]
        );
    }

    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(placeholders(1, 2), "($1, $2)");
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
